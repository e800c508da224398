"""The ``nsgw.v1.Connections`` servicer: validate, then start an operation or read."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import grpc

from gateway.connections_api import kinds
from gateway.connections_api.messages import (
    PREFIX,
    connection_to_proto,
    event_to_proto,
    state_from_proto,
)
from gateway.db import Database, utcnow
from gateway.operations.errors import (
    ApiError,
    abort,
    failed_precondition,
    invalid_argument,
    not_found,
)
from gateway.operations.starter import OperationStarter
from gateway.requester import store
from gateway.requester.peers import UnknownPeerError
from gateway.requester.service import RequesterService
from nsgw_proto.nsgw.v1 import connection_resources_pb2 as resources_pb2
from nsgw_proto.nsgw.v1 import connections_pb2, connections_pb2_grpc, operations_pb2

Context = grpc.aio.ServicerContext[Any, Any]
MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE = 1000, 50
WATCH_POLL_SECONDS = 1.0
STP_PREFIX = "urn:ogf:network:"
ENDED = ("terminated",)


def _conn_id(field: str, name: str) -> str:
    ident = name.removeprefix(PREFIX)
    if not name.startswith(PREFIX) or not ident or not ident.isalnum() or len(ident) > 32:
        raise invalid_argument([(field, f"{name!r} is not a connection name (connections/{{id}})")])
    return ident


def _check_create(request: connections_pb2.CreateConnectionRequest) -> None:
    problems: list[tuple[str, str]] = []
    for field in ("source_stp", "dest_stp"):
        value = getattr(request, field)
        if not value.startswith(STP_PREFIX) or len(value) <= len(STP_PREFIX):
            problems.append((field, f"must be an STP id ({STP_PREFIX}<network>:<port>[?vlan=...])"))
    if request.source_stp and request.source_stp == request.dest_stp:
        problems.append(("dest_stp", "must differ from source_stp"))
    if request.capacity_mbps <= 0:
        problems.append(("capacity_mbps", "must be greater than 0"))
    schedule = request.schedule
    if (
        schedule.HasField("start_time")
        and schedule.HasField("end_time")
        and schedule.end_time.ToNanoseconds() <= schedule.start_time.ToNanoseconds()
    ):
        problems.append(("schedule.end_time", "must be later than schedule.start_time"))
    if request.reserve_only and request.no_provision:
        problems.append(("no_provision", "reserve_only already stops before the commit"))
    if problems:
        raise invalid_argument(problems)


class ConnectionsServicer(connections_pb2_grpc.ConnectionsServicer):
    def __init__(self, db: Database, service: RequesterService, starter: OperationStarter) -> None:
        self._db = db
        self._service = service
        self._starter = starter

    async def _existing(self, field: str, name: str) -> store.ConnectionRow:
        row = await self._service.get(_conn_id(field, name))
        if row is None:
            raise not_found("connection", name)
        return row

    async def CreateConnection(
        self, request: connections_pb2.CreateConnectionRequest, context: Context
    ) -> operations_pb2.Operation:
        try:
            _check_create(request)
            provider = request.provider_nsa or self._service.peers.own_nsa
            try:
                self._service.peers.get(provider)
            except UnknownPeerError as exc:
                raise invalid_argument([("provider_nsa", str(exc))]) from None
        except ApiError as error:
            await abort(context, error)
        return await self._starter.start(
            context,
            kinds.CREATE,
            target=provider,
            request=request,
            request_id=request.request_id,
            callback_url=request.callback_url,
            progress_url=request.progress_url,
        )

    async def ModifyConnection(
        self, request: connections_pb2.ModifyConnectionRequest, context: Context
    ) -> operations_pb2.Operation:
        try:
            row = await self._existing("name", request.name)
            problems = []
            if request.HasField("capacity_mbps") and request.capacity_mbps <= 0:
                problems.append(("capacity_mbps", "must be greater than 0"))
            if not (
                request.HasField("capacity_mbps")
                or request.HasField("description")
                or request.schedule.HasField("start_time")
                or request.schedule.HasField("end_time")
            ):
                problems.append(("capacity_mbps", "nothing to change: set a field to modify"))
            if problems:
                raise invalid_argument(problems)
            self._active_reservation(row)
        except ApiError as error:
            await abort(context, error)
        return await self._start(context, kinds.MODIFY, request)

    def _active_reservation(self, row: store.ConnectionRow) -> None:
        if row.state in ("terminated", "failed") or not row.connection_id:
            raise failed_precondition(
                "CONNECTION_NOT_USABLE",
                f"{PREFIX}{row.id} is {row.state}; it cannot be changed",
                connection=PREFIX + row.id,
                state=row.state.upper(),
            )

    async def _start(self, context: Context, kind: str, request: Any) -> operations_pb2.Operation:
        return await self._starter.start(
            context,
            kind,
            target=request.name,
            request=request,
            request_id=request.request_id,
            callback_url=request.callback_url,
            progress_url=request.progress_url,
        )

    async def _action(
        self, request: connections_pb2.ConnectionActionRequest, context: Context, kind: str
    ) -> operations_pb2.Operation:
        try:
            row = await self._existing("name", request.name)
            if kind != kinds.TERMINATE:
                self._active_reservation(row)
            elif row.state == "terminated" or not row.connection_id:
                raise failed_precondition(
                    "CONNECTION_NOT_USABLE",
                    f"{request.name} is {row.state}; there is nothing to terminate",
                    connection=request.name,
                    state=row.state.upper(),
                )
        except ApiError as error:
            await abort(context, error)
        return await self._start(context, kind, request)

    async def ProvisionConnection(
        self, request: connections_pb2.ConnectionActionRequest, context: Context
    ) -> operations_pb2.Operation:
        return await self._action(request, context, kinds.PROVISION)

    async def ReleaseConnection(
        self, request: connections_pb2.ConnectionActionRequest, context: Context
    ) -> operations_pb2.Operation:
        return await self._action(request, context, kinds.RELEASE)

    async def TerminateConnection(
        self, request: connections_pb2.ConnectionActionRequest, context: Context
    ) -> operations_pb2.Operation:
        return await self._action(request, context, kinds.TERMINATE)

    async def GetConnection(
        self, request: connections_pb2.GetConnectionRequest, context: Context
    ) -> resources_pb2.Connection:
        try:
            row = await self._existing("name", request.name)
        except ApiError as error:
            await abort(context, error)
        return connection_to_proto(row)

    async def ListConnections(
        self, request: connections_pb2.ListConnectionsRequest, context: Context
    ) -> connections_pb2.ListConnectionsResponse:
        try:
            problems: list[tuple[str, str]] = []
            states = []
            for value in request.states:
                try:
                    states.append(state_from_proto(value).value)
                except ValueError as exc:
                    problems.append(("states", str(exc)))
            if request.page_size < 0 or request.page_size > MAX_PAGE_SIZE:
                problems.append(("page_size", f"must be between 0 and {MAX_PAGE_SIZE}"))
            after = None
            if request.page_token:
                try:
                    when, ident = base64.urlsafe_b64decode(request.page_token).decode().split("|")
                    after = (datetime.fromisoformat(when), ident)
                except ValueError:
                    problems.append(("page_token", "not a token this API issued"))
            if problems:
                raise invalid_argument(problems)
        except ApiError as error:
            await abort(context, error)
        size = request.page_size or DEFAULT_PAGE_SIZE
        async with self._db.sessions() as session:
            rows = await store.list_connections(session, states, size + 1, after)
        more = len(rows) > size
        rows = rows[:size]
        token = ""
        if more and rows:
            last = rows[-1]
            token = base64.urlsafe_b64encode(
                f"{last.create_time.isoformat()}|{last.id}".encode()
            ).decode()
        return connections_pb2.ListConnectionsResponse(
            connections=[connection_to_proto(row) for row in rows], next_page_token=token
        )

    async def WatchConnection(
        self, request: connections_pb2.WatchConnectionRequest, context: Context
    ) -> AsyncIterator[resources_pb2.ConnectionEvent]:
        try:
            row = await self._existing("name", request.name)
        except ApiError as error:
            await abort(context, error)
        queue = self._service.subscribe(row.id)
        try:
            yield event_to_proto(row, utcnow(), state_changed=True, notice=None)
            seen = (row.state, row.update_time)
            while row.state not in ENDED:
                change = None
                with contextlib.suppress(TimeoutError):
                    change = await asyncio.wait_for(queue.get(), WATCH_POLL_SECONDS)
                if change is not None:
                    row = change.connection
                    if change.notice is not None or change.state_changed:
                        yield event_to_proto(
                            row, utcnow(), state_changed=change.state_changed, notice=change.notice
                        )
                    seen = (row.state, row.update_time)
                    continue
                # Changes made by another process sharing the database.
                fresh = await self._service.get(row.id)
                if fresh is not None and fresh.state != seen[0]:
                    row = fresh
                    yield event_to_proto(row, utcnow(), state_changed=True, notice=None)
                    seen = (row.state, row.update_time)
        finally:
            self._service.unsubscribe(row.id, queue)
