"""A recording ConnectionProvider over real gRPC: keeps every request, answers as told."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc

from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2
from tests.adapters.nsi_soap import samples


@dataclass
class RecordingProvider(provider_grpc.ConnectionProviderServicer):
    calls: list[tuple[str, Any]] = field(default_factory=list)
    refusal: common_pb2.ServiceException | None = None
    delay: float = 0.0

    async def _ack(self, method: str, request: Any) -> common_pb2.GenericAcknowledgment:
        self.calls.append((method, request))
        if self.delay:
            await asyncio.sleep(self.delay)
        ack = common_pb2.GenericAcknowledgment(header=request.header)
        if self.refusal is not None:
            ack.service_exception.CopyFrom(self.refusal)
        return ack

    async def Reserve(self, request: Any, context: Any) -> Any:
        ack = await self._ack("Reserve", request)
        response = provider_pb2.ReserveResponse(
            header=ack.header, connection_id=request.connection_id or f"conn-{len(self.calls)}"
        )
        if ack.HasField("service_exception"):
            response.service_exception.CopyFrom(ack.service_exception)
        return response

    async def ReserveCommit(self, request: Any, context: Any) -> Any:
        return await self._ack("ReserveCommit", request)

    async def ReserveAbort(self, request: Any, context: Any) -> Any:
        return await self._ack("ReserveAbort", request)

    async def Provision(self, request: Any, context: Any) -> Any:
        return await self._ack("Provision", request)

    async def Release(self, request: Any, context: Any) -> Any:
        return await self._ack("Release", request)

    async def Terminate(self, request: Any, context: Any) -> Any:
        return await self._ack("Terminate", request)

    async def QuerySummary(self, request: Any, context: Any) -> Any:
        return await self._ack("QuerySummary", request)

    async def QueryRecursive(self, request: Any, context: Any) -> Any:
        return await self._ack("QueryRecursive", request)

    async def QueryNotification(self, request: Any, context: Any) -> Any:
        return await self._ack("QueryNotification", request)

    async def QueryResult(self, request: Any, context: Any) -> Any:
        return await self._ack("QueryResult", request)

    async def QuerySummarySync(self, request: Any, context: Any) -> Any:
        await self._ack("QuerySummarySync", request)
        reply = requester_pb2.QueryConfirmedRequest()
        reply.CopyFrom(samples.callbacks()["querySummaryConfirmed"])
        reply.header.CopyFrom(request.header)
        return reply

    async def QueryNotificationSync(self, request: Any, context: Any) -> Any:
        await self._ack("QueryNotificationSync", request)
        reply = requester_pb2.QueryNotificationConfirmedRequest()
        reply.CopyFrom(samples.callbacks()["queryNotificationConfirmed"])
        reply.header.CopyFrom(request.header)
        return reply

    async def QueryResultSync(self, request: Any, context: Any) -> Any:
        await self._ack("QueryResultSync", request)
        reply = requester_pb2.QueryResultConfirmedRequest()
        reply.CopyFrom(samples.callbacks()["queryResultConfirmed"])
        reply.header.CopyFrom(request.header)
        return reply


@asynccontextmanager
async def serve_provider(servicer: Any) -> AsyncIterator[str]:
    """Serve ``servicer`` on 127.0.0.1; yields the target ``host:port``."""
    server = grpc.aio.server()
    provider_grpc.add_ConnectionProviderServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)
