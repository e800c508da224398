"""The ``nsgw.v1.Operations`` servicer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import grpc

from gateway.access.identity import current_caller
from gateway.operations.engine import OperationEngine
from gateway.operations.errors import ApiError, abort, invalid_argument
from gateway.operations.messages import (
    operation_to_proto,
    progress_to_proto,
    state_from_proto,
)
from gateway.operations.model import ListFilter, Operation, parse_name
from nsgw_proto.nsgw.v1 import operations_pb2, operations_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]
MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE = 1000, 50
# WaitOperation: how long it waits when no timeout is given, and at most.
DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS = 60.0, 600.0


def _op_id(field: str, name: str) -> str:
    try:
        return parse_name(name)
    except ValueError as exc:
        raise invalid_argument([(field, str(exc))]) from None


def _list_filter(request: operations_pb2.ListOperationsRequest) -> ListFilter:
    problems: list[tuple[str, str]] = []
    states = set()
    for value in request.states:
        try:
            states.add(state_from_proto(value))
        except ValueError as exc:
            problems.append(("states", str(exc)))
    if request.page_size < 0 or request.page_size > MAX_PAGE_SIZE:
        problems.append(("page_size", f"must be between 0 and {MAX_PAGE_SIZE}"))
    after = (
        request.created_after.ToDatetime(tzinfo=UTC) if request.HasField("created_after") else None
    )
    before = (
        request.created_before.ToDatetime(tzinfo=UTC)
        if request.HasField("created_before")
        else None
    )
    if after and before and after >= before:
        problems.append(("created_before", "must be later than created_after"))
    if problems:
        raise invalid_argument(problems)
    return ListFilter(
        states=frozenset(states),
        kinds=frozenset(request.kinds),
        target=request.target,
        created_after=after,
        created_before=before,
    )


def _wait_timeout(request: operations_pb2.WaitOperationRequest) -> float:
    """Seconds WaitOperation may wait; ApiError INVALID_ARGUMENT outside (0, 600]."""
    if not request.HasField("timeout"):
        return DEFAULT_WAIT_SECONDS
    seconds = request.timeout.ToNanoseconds() / 1e9
    if seconds < 0 or seconds > MAX_WAIT_SECONDS:
        raise invalid_argument(
            [("timeout", f"must be between 0 and {MAX_WAIT_SECONDS:.0f} seconds")]
        )
    return seconds or DEFAULT_WAIT_SECONDS


class OperationsServicer(operations_pb2_grpc.OperationsServicer):
    def __init__(self, engine: OperationEngine) -> None:
        self._engine = engine

    async def GetOperation(
        self, request: operations_pb2.GetOperationRequest, context: Context
    ) -> operations_pb2.Operation:
        try:
            op = await self._engine.get(_op_id("name", request.name), inline=True)
        except ApiError as error:
            await abort(context, error)
        return operation_to_proto(op)

    async def ListOperations(
        self, request: operations_pb2.ListOperationsRequest, context: Context
    ) -> operations_pb2.ListOperationsResponse:
        try:
            flt = _list_filter(request)
            try:
                page = await self._engine.list(
                    flt,
                    page_size=request.page_size or DEFAULT_PAGE_SIZE,
                    page_token=request.page_token,
                    include_progress=request.include_progress,
                )
            except ValueError as exc:
                raise invalid_argument([("page_token", str(exc))]) from None
        except ApiError as error:
            await abort(context, error)
        return operations_pb2.ListOperationsResponse(
            operations=[operation_to_proto(op) for op in page.operations],
            next_page_token=page.next_page_token,
        )

    async def WatchOperation(
        self, request: operations_pb2.WatchOperationRequest, context: Context
    ) -> AsyncIterator[operations_pb2.OperationUpdate]:
        try:
            op_id = _op_id("name", request.name)
            if request.from_progress_index < 0:
                raise invalid_argument([("from_progress_index", "must be 0 or more")])
        except ApiError as error:
            await abort(context, error)
        try:
            # NOT_FOUND comes from the watch's first look, before anything is streamed.
            async for event in self._engine.watch(op_id, request.from_progress_index):
                if isinstance(event, Operation):
                    yield operations_pb2.OperationUpdate(operation=operation_to_proto(event))
                else:
                    yield operations_pb2.OperationUpdate(progress=progress_to_proto(event))
        except ApiError as error:  # e.g. purged while watched
            await abort(context, error)

    async def WaitOperation(
        self, request: operations_pb2.WaitOperationRequest, context: Context
    ) -> operations_pb2.Operation:
        try:
            op_id = _op_id("name", request.name)
            timeout = _wait_timeout(request)
            try:
                async with asyncio.timeout(timeout):
                    op = await self._engine.wait(op_id)
            except TimeoutError:
                op = await self._engine.get(op_id)
        except ApiError as error:
            await abort(context, error)
        return operation_to_proto(op)

    async def CancelOperation(
        self, request: operations_pb2.CancelOperationRequest, context: Context
    ) -> operations_pb2.Operation:
        try:
            op = await self._engine.cancel(_op_id("name", request.name), current_caller())
        except ApiError as error:
            await abort(context, error)
        return operation_to_proto(op)
