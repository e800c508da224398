"""Authentication and audit of the nsgw.v1 API, as one gRPC server interceptor.

Only methods of ``nsgw.v1`` services are checked; health and reflection stay
open.  With API tokens configured, a call must carry ``authorization: Bearer
<token>`` metadata naming one of them (UNAUTHENTICATED otherwise); the
caller is the token's name.  Without tokens, the caller is the subject of the
TLS client certificate (mTLS) or "anonymous" (the API is then only served on
a loopback address, see :func:`check_exposure`).  Every mutating call (all
but the Get*, List* and Watch* reads; every call that starts an operation) is
written to the audit log with its caller and outcome, refused ones included.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from gateway.access.audit import AuditLog
from gateway.access.identity import ANONYMOUS, set_caller
from gateway.access.tokens import TokenVerifier
from gateway.config import ConfigError, Settings
from gateway.logs import get_logger
from gateway.operations.errors import ApiError, abort, unauthenticated
from nsgw_proto.nsgw.v1 import connections_pb2, nso_pb2, operations_pb2

API_PREFIX = "/nsgw.v1."
READ_PREFIXES = ("Get", "List", "Watch", "Wait")
log = get_logger(__name__)

Context = grpc.aio.ServicerContext[Any, Any]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings) -> None:
    """Refuse to serve an unauthenticated API beyond loopback."""
    if settings.api_tokens or settings.grpc_tls_client_ca is not None:
        return
    if not is_loopback(settings.grpc_host):
        raise ConfigError(
            f"grpc_host {settings.grpc_host} is not a loopback address: "
            "set api_tokens or grpc_tls_client_ca so that the nsgw.v1 API is not open"
        )


def _operation_starters() -> frozenset[str]:
    """Paths of the nsgw.v1 methods that start operations (whatever their names)."""
    paths = set()
    for module in (operations_pb2, nso_pb2, connections_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if method.output_type.full_name == "nsgw.v1.Operation":
                    paths.add(f"/{service.full_name}/{method.name}")
    return frozenset(paths)


OPERATION_STARTERS = _operation_starters()


def is_mutating(method: str) -> bool:
    """Audited: every call that starts an operation, and every other call but the reads."""
    if method in OPERATION_STARTERS and not method.endswith(("/GetOperation", "/WaitOperation")):
        return True
    return not method.rsplit("/", 1)[-1].startswith(READ_PREFIXES)


def _bearer(context: Context) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None


def _certificate_subject(context: Context) -> str | None:
    names = context.auth_context().get("x509_subject") or []
    for name in names:
        return name.decode() if isinstance(name, bytes) else str(name)
    return None


class AccessInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(self, tokens: TokenVerifier, audit: AuditLog | None) -> None:
        self._tokens = tokens
        self._audit = audit
        self._writes: set[asyncio.Future[None]] = set()
        # Wrapped handlers by method, with the handler each wraps: grpc asks the
        # interceptor on every call, and a method's handler does not change.
        self._wrapped: dict[str, tuple[Any, Any]] = {}

    def identify(self, context: Context) -> str:
        """The caller's identity, or ApiError UNAUTHENTICATED."""
        subject = _certificate_subject(context)
        if not self._tokens.enabled:
            return subject or ANONYMOUS
        presented = _bearer(context)
        if presented is None:
            raise unauthenticated("missing 'authorization: Bearer <token>' metadata")
        name = self._tokens.identify(presented) if presented else None
        if name is None:
            raise unauthenticated("the API token is not valid")
        return name

    async def _record(
        self, method: str, caller: str, code: str, *, request: Any, response: Any, context: Context
    ) -> None:
        if self._audit is None:
            return
        operation = getattr(response, "name", "") if response is not None else ""
        if not operation and method.endswith("/CancelOperation"):
            operation = getattr(request, "name", "")
        try:
            await self._audit.record(
                caller=caller,
                method=method,
                code=code,
                request_id=str(getattr(request, "request_id", "") or ""),
                operation=str(operation or ""),
                peer=context.peer() or "",
            )
        except Exception:
            log.exception("audit record could not be written", method=method)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler: Any = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or not method.startswith(API_PREFIX):
            return handler
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        if handler.unary_unary:
            wrapped = self._unary(handler, method)
        elif handler.unary_stream:
            wrapped = self._stream(handler, method)
        else:
            wrapped = handler  # the API has no client-streaming methods
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _unary(self, handler: Any, method: str) -> Any:
        inner = handler.unary_unary
        audited = is_mutating(method)

        async def call(request: Any, context: Context) -> Any:
            try:
                caller = self.identify(context)
            except ApiError as error:
                if audited:
                    await self._record(
                        method,
                        "unauthenticated",
                        error.code.name,
                        request=request,
                        response=None,
                        context=context,
                    )
                await abort(context, error)
            set_caller(caller)
            response = None
            try:
                response = await inner(request, context)
            except BaseException:
                if audited:
                    code = context.code()
                    name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
                    # grpc cancels the handler once the error status is sent: the
                    # audit write runs shielded so that it still completes.
                    write = asyncio.ensure_future(
                        self._record(
                            method, caller, name, request=request, response=None, context=context
                        )
                    )
                    self._writes.add(write)
                    write.add_done_callback(self._writes.discard)
                    await asyncio.shield(write)
                raise
            if audited:
                await self._record(
                    method, caller, "OK", request=request, response=response, context=context
                )
            return response

        return grpc.unary_unary_rpc_method_handler(
            call,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _stream(self, handler: Any, method: str) -> Any:
        inner = handler.unary_stream

        async def stream(request: Any, context: Context) -> AsyncIterator[Any]:
            try:
                caller = self.identify(context)
            except ApiError as error:
                await abort(context, error)
            set_caller(caller)
            async for item in inner(request, context):
                yield item

        return grpc.unary_stream_rpc_method_handler(
            stream,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
