"""The gRPC server: grpc.aio with health checking, reflection and request ids."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gateway.logs import bind_request_id, clear_request_id, get_logger

REQUEST_ID_METADATA = "x-request-id"
log = get_logger(__name__)


def _request_id(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_METADATA and isinstance(value, str):
            return value
    return None


class RequestIdInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Binds the caller's ``x-request-id`` (or a new id) to every log line of a call."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        # grpc-stubs types method handlers loosely; they are plain attribute bags.
        handler: Any = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method

        def bound(context: grpc.aio.ServicerContext[Any, Any]) -> None:
            clear_request_id()
            bind_request_id(_request_id(context))
            log.debug("grpc call", method=method)

        if handler.unary_unary or handler.stream_unary:
            inner = handler.unary_unary or handler.stream_unary

            async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                bound(context)
                return await inner(request, context)

            factory = (
                grpc.unary_unary_rpc_method_handler
                if handler.unary_unary
                else grpc.stream_unary_rpc_method_handler
            )
            return factory(
                call,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )

        inner_stream = handler.unary_stream or handler.stream_stream

        async def stream(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            bound(context)
            result = inner_stream(request, context)
            if hasattr(result, "__aiter__"):
                async for item in result:
                    yield item
            else:  # a handler that writes with context.write() and returns None
                await result

        stream_factory = (
            grpc.unary_stream_rpc_method_handler
            if handler.unary_stream
            else grpc.stream_stream_rpc_method_handler
        )
        return stream_factory(
            stream,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class GrpcServer:
    """A grpc.aio server with the standard health service and server reflection."""

    def __init__(
        self,
        host: str,
        port: int,
        options: Iterable[tuple[str, Any]] = (),
        *,
        credentials: grpc.ServerCredentials | None = None,
        interceptors: Iterable[grpc.aio.ServerInterceptor] = (),  # type: ignore[type-arg]
    ) -> None:
        """``credentials``: TLS (see gateway.access.tls); None serves plaintext."""
        self._address = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
        self._credentials = credentials
        self.server = grpc.aio.server(
            interceptors=[RequestIdInterceptor(), *interceptors],
            options=[("grpc.so_reuseport", 0), *options],
        )
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self._services: list[str] = [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
        self.port = 0

    def add_services(self, names: Iterable[str]) -> None:
        self._services.extend(names)

    async def start(self) -> int:
        """Bind and serve; returns the bound port.

        Every service reports NOT_SERVING until :meth:`mark_serving`: the
        process calls it once its components have started, so a client that
        waits for SERVING does not meet a half-started gateway.
        """
        reflection.enable_server_reflection([*self._services, reflection.SERVICE_NAME], self.server)
        try:
            if self._credentials is not None:
                self.port = self.server.add_secure_port(self._address, self._credentials)
            else:
                self.port = self.server.add_insecure_port(self._address)
        except RuntimeError as exc:
            raise OSError(f"cannot listen for gRPC on {self._address}: {exc}") from None
        await self.server.start()
        for name in ["", *self._services]:
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        return self.port

    async def mark_serving(self) -> None:
        """Report every service SERVING (the components behind them have started)."""
        for name in ["", *self._services]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float) -> None:
        """Refuse new calls, let in-flight ones finish within ``grace`` seconds."""
        if self.port:
            await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
