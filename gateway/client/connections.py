"""``nsgw.v1.Connections`` from the client side: create, act, read and watch connections."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from gateway.client.errors import ApiCallError
from nsgw_proto.nsgw.v1 import connection_resources_pb2 as resources_pb2
from nsgw_proto.nsgw.v1 import connections_pb2, connections_pb2_grpc, operations_pb2

Metadata = tuple[tuple[str, str], ...]


def connection_name(name_or_id: str) -> str:
    return name_or_id if name_or_id.startswith("connections/") else f"connections/{name_or_id}"


def _schedule(start: datetime | None, end: datetime | None) -> resources_pb2.ConnectionSchedule:
    schedule = resources_pb2.ConnectionSchedule()
    for field, when in (("start_time", start), ("end_time", end)):
        if when is not None:
            stamp = timestamp_pb2.Timestamp()
            stamp.FromDatetime(when)
            getattr(schedule, field).CopyFrom(stamp)
    return schedule


class ConnectionsClient:
    def __init__(self, channel: grpc.aio.Channel, metadata: Metadata = ()) -> None:
        self._stub = connections_pb2_grpc.ConnectionsStub(channel)
        self._metadata = metadata

    async def _call(self, method: str, request: Any) -> Any:
        try:
            return await getattr(self._stub, method)(request, metadata=self._metadata)
        except grpc.aio.AioRpcError as exc:
            raise ApiCallError.from_rpc_error(exc) from None

    async def create(
        self,
        source_stp: str,
        dest_stp: str,
        capacity_mbps: int,
        *,
        provider_nsa: str = "",
        start: datetime | None = None,
        end: datetime | None = None,
        description: str = "",
        global_reservation_id: str = "",
        reserve_only: bool = False,
        no_provision: bool = False,
        request_id: str = "",
        callback_url: str = "",
        progress_url: str = "",
    ) -> operations_pb2.Operation:
        request = connections_pb2.CreateConnectionRequest(
            request_id=request_id,
            callback_url=callback_url,
            progress_url=progress_url,
            source_stp=source_stp,
            dest_stp=dest_stp,
            capacity_mbps=capacity_mbps,
            schedule=_schedule(start, end),
            description=description,
            global_reservation_id=global_reservation_id,
            reserve_only=reserve_only,
            no_provision=no_provision,
            provider_nsa=provider_nsa,
        )
        result: operations_pb2.Operation = await self._call("CreateConnection", request)
        return result

    async def modify(
        self,
        name: str,
        *,
        capacity_mbps: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        description: str | None = None,
        request_id: str = "",
    ) -> operations_pb2.Operation:
        request = connections_pb2.ModifyConnectionRequest(
            request_id=request_id,
            name=connection_name(name),
            capacity_mbps=capacity_mbps,
            schedule=_schedule(start, end),
            description=description,
        )
        result: operations_pb2.Operation = await self._call("ModifyConnection", request)
        return result

    async def _action(self, method: str, name: str, request_id: str) -> operations_pb2.Operation:
        request = connections_pb2.ConnectionActionRequest(
            request_id=request_id, name=connection_name(name)
        )
        result: operations_pb2.Operation = await self._call(method, request)
        return result

    async def provision(self, name: str, *, request_id: str = "") -> operations_pb2.Operation:
        return await self._action("ProvisionConnection", name, request_id)

    async def release(self, name: str, *, request_id: str = "") -> operations_pb2.Operation:
        return await self._action("ReleaseConnection", name, request_id)

    async def terminate(self, name: str, *, request_id: str = "") -> operations_pb2.Operation:
        return await self._action("TerminateConnection", name, request_id)

    async def get(self, name: str) -> resources_pb2.Connection:
        result: resources_pb2.Connection = await self._call(
            "GetConnection", connections_pb2.GetConnectionRequest(name=connection_name(name))
        )
        return result

    async def list(
        self,
        *,
        states: Iterable[resources_pb2.ConnectionState.ValueType] = (),
        page_size: int = 0,
        page_token: str = "",
    ) -> connections_pb2.ListConnectionsResponse:
        request = connections_pb2.ListConnectionsRequest(
            states=list(states), page_size=page_size, page_token=page_token
        )
        result: connections_pb2.ListConnectionsResponse = await self._call(
            "ListConnections", request
        )
        return result

    async def watch(self, name: str) -> AsyncIterator[resources_pb2.ConnectionEvent]:
        """The connection's events: its state now, then every change."""
        request = connections_pb2.WatchConnectionRequest(name=connection_name(name))
        try:
            async for event in self._stub.WatchConnection(request, metadata=self._metadata):
                yield event
        except grpc.aio.AioRpcError as exc:
            raise ApiCallError.from_rpc_error(exc) from None
