"""``nsgw.v1.Operations`` from the client side: get, list, watch, wait and cancel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import datetime

import grpc
from google.protobuf import timestamp_pb2

from gateway.client.errors import ApiCallError
from nsgw_proto.nsgw.v1 import operations_pb2, operations_pb2_grpc

ENDED_STATES = frozenset(
    {
        operations_pb2.OPERATION_STATE_SUCCEEDED,
        operations_pb2.OPERATION_STATE_FAILED,
        operations_pb2.OPERATION_STATE_CANCELLED,
    }
)
Metadata = tuple[tuple[str, str], ...]


def operation_name(name_or_id: str) -> str:
    return name_or_id if name_or_id.startswith("operations/") else f"operations/{name_or_id}"


def is_ended(op: operations_pb2.Operation) -> bool:
    return op.state in ENDED_STATES


def _stamp(when: datetime | None) -> timestamp_pb2.Timestamp | None:
    if when is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(when)
    return stamp


class OperationsClient:
    def __init__(self, channel: grpc.aio.Channel, metadata: Metadata = ()) -> None:
        self._stub = operations_pb2_grpc.OperationsStub(channel)
        self._metadata = metadata

    async def get(self, name: str) -> operations_pb2.Operation:
        try:
            return await self._stub.GetOperation(
                operations_pb2.GetOperationRequest(name=operation_name(name)),
                metadata=self._metadata,
            )
        except grpc.aio.AioRpcError as exc:
            raise ApiCallError.from_rpc_error(exc) from None

    async def list(
        self,
        *,
        states: Iterable[operations_pb2.OperationState.ValueType] = (),
        kinds: Iterable[str] = (),
        target: str = "",
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int = 0,
        page_token: str = "",
        include_progress: bool = False,
    ) -> operations_pb2.ListOperationsResponse:
        request = operations_pb2.ListOperationsRequest(
            states=list(states),
            kinds=list(kinds),
            target=target,
            created_after=_stamp(created_after),
            created_before=_stamp(created_before),
            page_size=page_size,
            page_token=page_token,
            include_progress=include_progress,
        )
        try:
            return await self._stub.ListOperations(request, metadata=self._metadata)
        except grpc.aio.AioRpcError as exc:
            raise ApiCallError.from_rpc_error(exc) from None

    async def list_all(
        self,
        *,
        states: Iterable[operations_pb2.OperationState.ValueType] = (),
        kinds: Iterable[str] = (),
        target: str = "",
        page_size: int = 100,
    ) -> AsyncIterator[operations_pb2.Operation]:
        """Every matching operation, newest first, page after page."""
        token = ""
        while True:
            page = await self.list(
                states=states, kinds=kinds, target=target, page_size=page_size, page_token=token
            )
            for op in page.operations:
                yield op
            token = page.next_page_token
            if not token:
                return

    async def watch(
        self, name: str, from_progress_index: int = 0
    ) -> AsyncIterator[operations_pb2.OperationUpdate]:
        """The operation's updates until it ends."""
        request = operations_pb2.WatchOperationRequest(
            name=operation_name(name), from_progress_index=from_progress_index
        )
        try:
            async for update in self._stub.WatchOperation(request, metadata=self._metadata):
                yield update
        except grpc.aio.AioRpcError as exc:
            raise ApiCallError.from_rpc_error(exc) from None

    async def wait(
        self, name: str, *, reconnect_for: float = 30.0, poll: float = 60.0
    ) -> operations_pb2.Operation:
        """The operation once it ended, with all its progress.

        One WaitOperation call per ``poll`` seconds of waiting; when the gateway
        is unreachable for a while (e.g. it restarts), calls again, for up to
        ``reconnect_for`` seconds in a row.
        """
        request = operations_pb2.WaitOperationRequest(name=operation_name(name))
        request.timeout.FromNanoseconds(int(poll * 1e9))
        loop = asyncio.get_running_loop()
        delay, unreachable_since = 0.1, None
        while True:
            try:
                op = await self._stub.WaitOperation(request, metadata=self._metadata)
            except grpc.aio.AioRpcError as exc:
                error = ApiCallError.from_rpc_error(exc)
                if not error.retryable:
                    raise error from None
                unreachable_since = unreachable_since or loop.time()
                if loop.time() - unreachable_since > reconnect_for:
                    raise error from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            if is_ended(op):
                return op
            unreachable_since, delay = None, 0.1

    async def cancel(self, name: str) -> operations_pb2.Operation:
        try:
            return await self._stub.CancelOperation(
                operations_pb2.CancelOperationRequest(name=operation_name(name)),
                metadata=self._metadata,
            )
        except grpc.aio.AioRpcError as exc:
            raise ApiCallError.from_rpc_error(exc) from None
