"""The agent's service core: request context, transactions on the store thread,
callbacks and notifications through the outbox, the data plane.

Each request runs in one database transaction that changes the state, records
the result or notification, and adds the callback to the outbox, so the
requester hears of every change exactly when it was made durable.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.agent import messages as msg
from gateway.agent import step_store, store
from gateway.agent.backends import Backend, BackendError
from gateway.agent.domain.errors import (
    CONNECTION_ID,
    CORRELATION_ID,
    PROVIDER_NSA,
    REQUESTER_NSA,
    ErrorCode,
    NsiError,
)
from gateway.agent.domain.reservation import (
    Reservation,
)
from gateway.agent.domain.states import DataPlaneState
from gateway.agent.domain.timers import Timer
from gateway.db import Database, utcnow
from gateway.logs import get_logger
from gateway.outbox import Added, Outbox
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2

log = get_logger(__name__)

CHANNEL = "nsi-agent-callback"
# The attribute of a callback handed to a requester of this process: the name of that
# requester (its destination is then the peer it calls, see AgentCore._send).
VIA = "via"
BACKEND_DEADLINE = 120.0  # seconds a backend call may take inside a transaction
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class AgentConfig:
    nsa_id: str
    network_id: str
    requester_target: str
    hold_timeout: float = 120.0
    label_swapping: bool = False
    # requester_target names a requester of this process, which calls the peer itself
    callbacks_in_process: bool = False


def _reply_to(message: Message) -> str:
    """The replyTo in a callback's header ("" when it has none)."""
    header = getattr(message, "header", None)
    return str(header.reply_to) if header is not None else ""


@dataclass(frozen=True)
class RequestContext:
    """The NSI header of a request and a digest of the whole request."""

    correlation_id: str
    requester_nsa: str
    provider_nsa: str
    reply_to: str = ""
    protocol_version: str = ""
    operation: str = ""
    payload_hash: str = ""


class AgentCore:
    """What the request handlers, the timers and the queries share."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        backend: Backend,
        config: AgentConfig,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db, self.outbox, self.backend, self.config = db, outbox, backend, config
        self.clock = clock
        self._timer_wake = asyncio.Event()
        self._next_wake: datetime | None = None  # when the timer task will look next
        self._due_hint: datetime | None = None  # earliest timer set since the last wake
        self._units = db.threaded
        self._backend_inline = bool(getattr(backend, "inline", False))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer_task: asyncio.Task[None] | None = None

    @property
    def backend_remote(self) -> bool:
        """Backend calls take network time: made outside transactions (``steps.py``)."""
        return bool(getattr(self.backend, "remote", False))

    def _record_step(  # noqa: PLR0917
        self,
        session: Session,
        connection_id: str,
        kind: str,
        version: int | None,
        now: datetime,
        ctx: RequestContext | None = None,
    ) -> None:
        """Record the intent of a backend call; it is made once this transaction commits."""
        step_store.add_step(
            session,
            connection_id,
            kind,
            version,
            now,
            ctx.correlation_id if ctx else "",
            ctx.requester_nsa if ctx else "",
            ctx.reply_to if ctx else "",
        )
        self._steps_recorded(session)

    def _steps_recorded(self, session: Session) -> None:
        """Hook: a step was recorded in ``session`` (the step runner is woken after commit)."""

    # -- header, request log ------------------------------------------------
    def check_header(self, ctx: RequestContext) -> None:
        for name, value in (
            (CORRELATION_ID, ctx.correlation_id),
            (REQUESTER_NSA, ctx.requester_nsa),
            (PROVIDER_NSA, ctx.provider_nsa),
        ):
            if not value:
                raise NsiError(ErrorCode.MISSING_PARAMETER, f"header has no {name}", [(name, "")])
        if ctx.provider_nsa != self.config.nsa_id:
            raise NsiError(
                ErrorCode.NSA_LOOKUP_ERROR,
                f"this provider is {self.config.nsa_id}",
                [(PROVIDER_NSA, ctx.provider_nsa)],
            )

    def _replayed(self, session: Session, ctx: RequestContext) -> str | None:
        """The connection id a re-sent request was answered with, or None if it is new."""
        logged = store.logged_request(session, ctx.correlation_id)
        if logged is None:
            return None
        payload_hash, operation, connection_id = logged
        if payload_hash == ctx.payload_hash and operation == ctx.operation:
            return connection_id
        raise NsiError(
            ErrorCode.GENERIC_MESSAGE_PAYLOAD_ERROR,
            "correlation id already used by a different request",
            [(CORRELATION_ID, ctx.correlation_id)],
        )

    # -- callbacks ------------------------------------------------------------
    def _header(
        self, ctx: RequestContext | None, row: store.ReservationRecord
    ) -> common_pb2.Header:
        return common_pb2.Header(
            protocol_version=msg.REQUESTER_PROTOCOL,
            correlation_id=ctx.correlation_id if ctx else f"urn:uuid:{uuid.uuid4()}",
            requester_nsa=ctx.requester_nsa if ctx else row.requester_nsa,
            provider_nsa=self.config.nsa_id,
            reply_to=ctx.reply_to if ctx else row.reply_to,
        )

    def _send(
        self,
        session: Session,
        key: str,
        method: str,
        message: Message,
        correlation_id: str,
        *,
        new_connection: bool = False,
    ) -> None:
        destination = self.config.requester_target
        attributes = {"method": method, "connection_id": key, "correlation_id": correlation_id}
        if self.config.callbacks_in_process:
            # The requester of this process POSTs to the peer's replyTo: that peer is the
            # receiver the outbox shares its slots by, so one that hangs cannot hold
            # every callback of every other peer back.
            attributes[VIA] = destination
            destination = _reply_to(message) or destination
        self.outbox.add_now(
            session,
            CHANNEL,
            key,
            destination=destination,
            payload=message.SerializeToString(),
            attributes=attributes,
            new_key=new_connection,
        )

    def _result(  # noqa: PLR0917
        self,
        session: Session,
        row: store.ReservationRecord,
        ctx: RequestContext,
        kind: str,
        message: Message,
        now: datetime,
        *,
        new_connection: bool = False,
    ) -> None:
        """Record a result and queue its callback (``new_connection``: made by this unit)."""
        method, _ = msg.RESULT_KINDS[kind]
        payload = message.SerializeToString()
        store.add_result(
            session, row, kind=kind, correlation_id=ctx.correlation_id, payload=payload, now=now
        )
        self._send(
            session,
            row.connection_id,
            method,
            message,
            ctx.correlation_id,
            new_connection=new_connection,
        )

    def _notify(  # noqa: PLR0917
        self,
        session: Session,
        row: store.ReservationRecord,
        kind: str,
        build: Callable[[common_pb2.Header, common_pb2.Notification], Message],
        now: datetime,
        ctx: RequestContext | None = None,
    ) -> None:
        header = self._header(ctx, row)
        notification = common_pb2.Notification(
            connection_id=row.connection_id,
            notification_id=store.next_notification_id(row),
            time_stamp=msg.timestamp(now),
        )
        message = build(header, notification)
        store.add_notification(session, row, kind, message.SerializeToString(), now)
        method, _ = msg.NOTIFICATION_KINDS[kind]
        self._send(session, row.connection_id, method, message, header.correlation_id)

    def _confirmed(self, ctx: RequestContext, cid: str) -> requester_pb2.GenericConfirmedRequest:
        return requester_pb2.GenericConfirmedRequest(
            header=self._header_for(ctx), connection_id=cid
        )

    def _header_for(self, ctx: RequestContext) -> common_pb2.Header:
        return common_pb2.Header(
            protocol_version=msg.REQUESTER_PROTOCOL,
            correlation_id=ctx.correlation_id,
            requester_nsa=ctx.requester_nsa,
            provider_nsa=self.config.nsa_id,
            reply_to=ctx.reply_to,
        )

    def _failed(
        self, ctx: RequestContext, res: Reservation, error: NsiError
    ) -> requester_pb2.GenericFailedRequest:
        return requester_pb2.GenericFailedRequest(
            header=self._header_for(ctx),
            connection_id=res.connection_id,
            connection_states=msg.connection_states(res),
            service_exception=msg.service_exception(error, self.config.nsa_id, res.connection_id),
        )

    # -- running transactions --------------------------------------------------
    async def _run(self, body: Callable[[Session], T]) -> T:
        """Run ``body`` in one transaction on the store's thread (one hop per request).

        The callbacks it queued that are the first of their connections are
        attempted once it has committed.
        """
        self._loop = asyncio.get_running_loop()

        def unit(session: Session) -> tuple[T, Added]:
            return body(session), self.outbox.added(session)

        try:
            result, added = await self._units.write(unit, inline=self._backend_inline)
        except IntegrityError:
            # Two requests raced for one key (the same correlation id sent twice at
            # once, on PostgreSQL): the loser runs again and now sees the winner.
            result, added = await self._units.write(unit, inline=self._backend_inline)
        self.outbox.offer(added)
        return result

    async def _run_read(self, body: Callable[[Session], T]) -> T:
        self._loop = asyncio.get_running_loop()
        return await self._units.read(body)

    def _await(self, call: Coroutine[Any, Any, R]) -> R:
        """Await a backend call from the store's thread.

        An ``inline`` backend's call never suspends: it runs to completion right
        here, holding the write lock no longer than its own code takes.  Any
        other call is awaited on the event loop (two thread hops and a turn of a
        loop that may be busy, all while the transaction holds the write lock).
        """
        if self._backend_inline:
            return run_inline(call)
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(call, self._loop).result(BACKEND_DEADLINE)

    def _set_timer(self, session: Session, timer: Timer, *, replace: bool = True) -> None:
        store.set_timer(session, timer, replace=replace)
        if self._due_hint is None or timer.due < self._due_hint:
            self._due_hint = timer.due

    def _after_commit(self) -> None:
        hint, self._due_hint = self._due_hint, None
        if hint is not None and (self._next_wake is None or hint < self._next_wake):
            self._timer_wake.set()

    def _load(
        self, session: Session, connection_id: str
    ) -> tuple[store.ReservationRecord, Reservation]:
        row = store.load_row(session, connection_id, for_update=True)
        if row is None:
            raise NsiError(
                ErrorCode.RESERVATION_NONEXISTENT,
                "no such connection",
                [(CONNECTION_ID, connection_id)],
            )
        return row, store.reservation_from_row(row, store.load_versions(session, row))

    def _end(self, session: Session, connection_id: str) -> None:
        """The connection no longer holds resources nor waits for timers."""
        store.release_allocations(session, connection_id)
        store.cancel_timers(session, connection_id)

    # -- data plane -------------------------------------------------------
    def _reconcile_data_plane(
        self, session: Session, row: store.ReservationRecord, res: Reservation, now: datetime
    ) -> None:
        """Bring the data plane to what provision state and schedule say it should be."""
        want = res.should_be_active(now)
        if want == (res.data_plane is DataPlaneState.ACTIVE):
            return
        assert res.committed is not None
        if self.backend_remote:
            self._record_step(session, res.connection_id, step_store.DATA_PLANE, None, now)
            return
        try:
            if want:
                self._await(self.backend.activate(res.connection_id, res.committed))
            else:
                self._await(self.backend.deactivate(res.connection_id, res.committed))
        except BackendError as exc:
            event = common_pb2.ACTIVATE_FAILED if want else common_pb2.DEACTIVATE_FAILED
            error = NsiError(ErrorCode.GENERIC_RM_ERROR, str(exc))
            self._error_event(session, row, event, error, now)
            return
        self._data_plane_changed(session, row, res, want, now)

    def _data_plane_changed(
        self,
        session: Session,
        row: store.ReservationRecord,
        res: Reservation,
        want: bool,
        now: datetime,
    ) -> None:
        """The network's data plane is now ``want``: record it and notify the requester."""
        if not res.set_data_plane(want):
            return
        status = common_pb2.DataPlaneStatus(
            active=want, version=res.data_plane_version, version_consistent=True
        )

        def build(
            header: common_pb2.Header, note: common_pb2.Notification
        ) -> requester_pb2.DataPlaneStateChangeRequest:
            return requester_pb2.DataPlaneStateChangeRequest(
                header=header, notification=note, data_plane_status=status
            )

        self._notify(session, row, "data_plane_state_change", build, now)

    def _error_event(
        self,
        session: Session,
        row: store.ReservationRecord,
        event: common_pb2.EventType.ValueType,
        error: NsiError,
        now: datetime,
    ) -> None:
        exception = msg.service_exception(error, self.config.nsa_id, row.connection_id)

        def build(
            header: common_pb2.Header, note: common_pb2.Notification
        ) -> requester_pb2.ErrorEventRequest:
            return requester_pb2.ErrorEventRequest(
                header=header,
                notification=note,
                event=event,
                originating_connection_id=row.connection_id,
                originating_nsa=self.config.nsa_id,
                service_exception=exception,
            )

        self._notify(session, row, "error_event", build, now)


def run_inline(call: Coroutine[Any, Any, R]) -> R:
    """Run a coroutine that never suspends to its end on the calling thread."""
    try:
        call.send(None)
    except StopIteration as done:
        return cast("R", done.value)
    call.close()
    raise RuntimeError("an inline backend call suspended; inline backends must not await")
