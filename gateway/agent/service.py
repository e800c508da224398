"""The provider agent's application service: one transaction per request.

Each request runs in one database transaction that changes the state, records
the result or notification, and adds the callback to the outbox, so the
requester hears of every change exactly when it was made durable.  Immediate
refusals (bad header, malformed or unknown STP, invalid transition...) raise
NsiError before anything is written; the transaction is rolled back whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.agent import messages as msg
from gateway.agent import store
from gateway.agent.backends import Backend, BackendError
from gateway.agent.domain.allocation import (
    FOREVER,
    PortOffer,
    check_capacity,
    choose_vlans,
    vlans_in_use,
)
from gateway.agent.domain.errors import (
    CONNECTION_ID,
    CORRELATION_ID,
    DEST_STP,
    PROVIDER_NSA,
    REQUESTER_NSA,
    SOURCE_STP,
    ErrorCode,
    NsiError,
)
from gateway.agent.domain.reservation import (
    Criteria,
    CriteriaRequest,
    Reservation,
    modified_criteria,
    new_criteria,
)
from gateway.agent.domain.states import DataPlaneState, LifecycleState, ReservationState
from gateway.agent.domain.stp import StpRef, VlanRanges, parse_stp
from gateway.agent.domain.timers import Timer, TimerKind, hold_timer, schedule_timers, seconds_until
from gateway.agent.units import StoreUnits
from gateway.db import Database, utcnow
from gateway.logs import get_logger
from gateway.outbox import PENDING, Envelope, Outbox, OutboxRow
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2

log = get_logger(__name__)

CHANNEL = "nsi-agent-callback"
TIMER_POLL = 30.0
BACKEND_DEADLINE = 120.0  # seconds a backend call may take inside a transaction
T = TypeVar("T")
R = TypeVar("R")  # longest sleep of the timer task (a safety net; it is woken on changes)


@dataclass(frozen=True)
class AgentConfig:
    nsa_id: str
    network_id: str
    requester_target: str
    hold_timeout: float = 120.0
    label_swapping: bool = False


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


Action = Callable[[Session, store.ReservationRow, Reservation, datetime], None]


class AgentService:
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
        self._units = StoreUnits(db)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer_task: asyncio.Task[None] | None = None

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
        if logged.payload_hash == ctx.payload_hash and logged.operation == ctx.operation:
            return logged.connection_id
        raise NsiError(
            ErrorCode.GENERIC_MESSAGE_PAYLOAD_ERROR,
            "correlation id already used by a different request",
            [(CORRELATION_ID, ctx.correlation_id)],
        )

    # -- callbacks ------------------------------------------------------------
    def _header(self, ctx: RequestContext | None, row: store.ReservationRow) -> common_pb2.Header:
        return common_pb2.Header(
            protocol_version=msg.REQUESTER_PROTOCOL,
            correlation_id=ctx.correlation_id if ctx else f"urn:uuid:{uuid.uuid4()}",
            requester_nsa=ctx.requester_nsa if ctx else row.requester_nsa,
            provider_nsa=self.config.nsa_id,
            reply_to=ctx.reply_to if ctx else row.reply_to,
        )

    def _send(
        self, session: Session, key: str, method: str, message: Message, correlation_id: str
    ) -> None:
        now = utcnow()
        session.add(
            OutboxRow(
                channel=CHANNEL,
                ordering_key=key,
                destination=self.config.requester_target,
                payload=message.SerializeToString(),
                attributes={
                    "method": method,
                    "connection_id": key,
                    "correlation_id": correlation_id,
                },
                state=PENDING,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
        )

    def _result(  # noqa: PLR0917
        self,
        session: Session,
        row: store.ReservationRow,
        ctx: RequestContext,
        kind: str,
        message: Message,
        now: datetime,
    ) -> None:
        method, _ = msg.RESULT_KINDS[kind]
        payload = message.SerializeToString()
        store.add_result(
            session, row, kind=kind, correlation_id=ctx.correlation_id, payload=payload, now=now
        )
        self._send(session, row.connection_id, method, message, ctx.correlation_id)

    def _notify(  # noqa: PLR0917
        self,
        session: Session,
        row: store.ReservationRow,
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
        """Run ``body`` in one transaction on the store's thread (one hop per request)."""
        self._loop = asyncio.get_running_loop()
        return await self._loop.run_in_executor(self._units.executor, self._units.write, body)

    async def _run_read(self, body: Callable[[Session], T]) -> T:
        self._loop = asyncio.get_running_loop()
        return await self._loop.run_in_executor(self._units.executor, self._units.read, body)

    def _await(self, call: Coroutine[Any, Any, R]) -> R:
        """Await a coroutine (a backend call) on the event loop from the store's thread."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(call, self._loop).result(BACKEND_DEADLINE)

    def _set_timer(self, session: Session, timer: Timer, *, replace: bool = True) -> None:
        store.set_timer(session, timer, replace=replace)
        if self._due_hint is None or timer.due < self._due_hint:
            self._due_hint = timer.due

    def _after_commit(self) -> None:
        self.outbox.wake()
        hint, self._due_hint = self._due_hint, None
        if hint is not None and (self._next_wake is None or hint < self._next_wake):
            self._timer_wake.set()

    # -- reserve ------------------------------------------------------------
    async def reserve(  # noqa: PLR0915
        self,
        ctx: RequestContext,
        connection_id: str,
        global_reservation_id: str,
        description: str,
        request: CriteriaRequest,
    ) -> str:
        """Reserve or modify; returns the connection id.  The outcome is a callback."""
        self.check_header(ctx)
        now = self.clock()
        replayed: list[str] = []

        def body(session: Session) -> str:
            nonlocal connection_id
            logged = self._replayed(session, ctx)
            if logged is not None:
                replayed.append(logged)
                return logged
            if connection_id:
                row, res = self._load(session, connection_id)
                if res.committed is None:
                    raise NsiError(
                        ErrorCode.INVALID_TRANSITION,
                        "nothing committed to modify",
                        [(CONNECTION_ID, connection_id)],
                    )
                previous: Criteria | None = res.committed
                criteria = modified_criteria(res.committed, request, now)
                res.begin_reserve(criteria)
            else:
                previous = None
                criteria = new_criteria(request, now)
                connection_id = str(uuid.uuid4())
                res = Reservation(
                    connection_id, global_reservation_id, description, ctx.requester_nsa
                )
                res.begin_reserve(criteria)
                row = store.new_row(res, ctx.reply_to, now)
            new = previous is None
            source, dest = self._offers(session, criteria, previous, connection_id)
            try:
                vlans = self._allocate(session, connection_id, criteria, source, dest)
                if new:  # written now, once (criteria and allocations refer to it)
                    session.add(row)
                    session.flush()
                chosen = replace(criteria, source_vlan=vlans[0], dest_vlan=vlans[1])
                self._backend_call(self.backend.reserve_check(connection_id, chosen))
            except NsiError as exc:
                if new and row not in session:
                    session.add(row)
                    session.flush()
                res.fail_reserve()
                store.save_criteria(session, connection_id, criteria, "failed", now, new=new)
                self._result(session, row, ctx, "reserve_failed", self._failed(ctx, res, exc), now)
            else:
                held = res.confirm_reserve(*vlans)
                store.save_criteria(session, connection_id, held, "held", now, new=new)
                store.add_allocation(session, connection_id, held, source.stp_id, vlans[0])
                store.add_allocation(session, connection_id, held, dest.stp_id, vlans[1])
                self._set_timer(
                    session,
                    hold_timer(connection_id, held.version, now, self.config.hold_timeout),
                    replace=not new,
                )
                confirmed = requester_pb2.ReserveConfirmedRequest(
                    header=self._header_for(ctx),
                    connection_id=connection_id,
                    global_reservation_id=res.global_reservation_id,
                    description=res.description,
                    criteria=msg.confirm_criteria(held),
                )
                self._result(session, row, ctx, "reserve_confirmed", confirmed, now)
            store.apply_states(row, res, now)
            row.reply_to = ctx.reply_to or row.reply_to
            store.log_request(
                session,
                correlation_id=ctx.correlation_id,
                payload_hash=ctx.payload_hash,
                operation=ctx.operation,
                connection_id=connection_id,
                now=now,
            )
            return connection_id

        answer = await self._run(body)
        if not replayed:
            self._after_commit()
        return answer

    def _offers(
        self,
        session: Session,
        criteria: Criteria,
        previous: Criteria | None,
        connection_id: str,
    ) -> tuple[_Offer, _Offer]:
        """Resolve both STPs against the topology (locking the ports) or refuse at once."""
        src = self._parse(criteria.source_stp, SOURCE_STP)
        dst = self._parse(criteria.dest_stp, DEST_STP)
        if src.local_id == dst.local_id:
            raise NsiError(
                ErrorCode.UNSUPPORTED_PARAMETER,
                "source and destination are the same port",
                [(DEST_STP, criteria.dest_stp)],
            )
        ports = store.lock_ports(session, [src.local_id, dst.local_id])
        offers = []
        for ref, text, variable, kept in (
            (src, criteria.source_stp, SOURCE_STP, previous.source_vlan if previous else None),
            (dst, criteria.dest_stp, DEST_STP, previous.dest_vlan if previous else None),
        ):
            port = ports.get(ref.local_id)
            if port is None:
                raise NsiError(
                    ErrorCode.UNKNOWN_STP, "no such STP in this network", [(variable, text)]
                )
            if not port.enabled:
                raise NsiError(ErrorCode.STP_UNAVALABLE, "the STP is disabled", [(variable, text)])
            wanted = port.vlans if ref.vlans is None else ref.vlans.intersect(port.vlans)
            if kept is not None:  # a modify keeps the VLAN it has
                wanted = VlanRanges.single(kept)
            if not wanted:
                raise NsiError(
                    ErrorCode.STP_UNAVALABLE,
                    f"the STP offers VLANs {port.vlans} only",
                    [(variable, text)],
                )
            offers.append(_Offer(port.id, port.capacity, text, variable, wanted))
        return offers[0], offers[1]

    def _parse(self, text: str, variable: str) -> StpRef:
        ref = parse_stp(text, variable=variable)
        if ref.network_id != self.config.network_id:
            raise NsiError(
                ErrorCode.DOMAIN_LOOKUP_ERROR,
                f"this provider serves network {self.config.network_id}",
                [(variable, text)],
            )
        return ref

    def _allocate(
        self,
        session: Session,
        connection_id: str,
        criteria: Criteria,
        source: _Offer,
        dest: _Offer,
    ) -> tuple[int, int]:
        end = criteria.end or FOREVER
        port_offers = []
        in_use = store.usages(
            session, [source.stp_id, dest.stp_id], criteria.start, end, excluding=connection_id
        )
        for offer in (source, dest):
            used = in_use[offer.stp_id]
            check_capacity(
                offer.capacity, used, criteria.start, end, criteria.capacity, stp=offer.stp
            )
            port_offers.append(
                PortOffer(
                    offer.stp, offer.variable, offer.wanted, vlans_in_use(used, criteria.start, end)
                )
            )
        return choose_vlans(
            port_offers[0], port_offers[1], label_swapping=self.config.label_swapping
        )

    def _backend_call(self, call: Coroutine[Any, Any, None]) -> None:
        try:
            self._await(call)
        except BackendError as exc:
            raise NsiError(ErrorCode.GENERIC_RM_ERROR, str(exc)) from None

    # -- the generic operations --------------------------------------------
    def _load(
        self, session: Session, connection_id: str
    ) -> tuple[store.ReservationRow, Reservation]:
        row = store.load_row(session, connection_id, for_update=True)
        if row is None:
            raise NsiError(
                ErrorCode.RESERVATION_NONEXISTENT,
                "no such connection",
                [(CONNECTION_ID, connection_id)],
            )
        return row, store.reservation_from_row(row, store.load_versions(session, row))

    async def _operate(self, ctx: RequestContext, connection_id: str, action: Action) -> None:
        self.check_header(ctx)
        if not connection_id:
            raise NsiError(ErrorCode.MISSING_PARAMETER, "no connection id", [(CONNECTION_ID, "")])
        now = self.clock()

        def body(session: Session) -> None:
            if self._replayed(session, ctx) is not None:
                return
            row, res = self._load(session, connection_id)
            action(session, row, res, now)
            store.apply_states(row, res, now)
            row.reply_to = ctx.reply_to or row.reply_to
            store.log_request(
                session,
                correlation_id=ctx.correlation_id,
                payload_hash=ctx.payload_hash,
                operation=ctx.operation,
                connection_id=connection_id,
                now=now,
            )

        await self._run(body)
        self._after_commit()

    async def commit(self, ctx: RequestContext, connection_id: str) -> None:
        def action(
            session: Session, row: store.ReservationRow, res: Reservation, now: datetime
        ) -> None:
            timed_out = res.reservation_state is ReservationState.TIMEOUT
            res.begin_commit()
            held = res.held
            assert held is not None
            if timed_out:
                # Chosen behaviour: accepted, then reserveCommitFailed (00700); the
                # held version is gone, the committed one (if any) stays in force.
                res.fail_commit()
                error = NsiError(
                    ErrorCode.GENERIC_SERVICE_ERROR,
                    "the hold timer expired before the commit",
                    [(CONNECTION_ID, connection_id)],
                )
                failed = self._failed(ctx, res, error)
                self._result(session, row, ctx, "reserve_commit_failed", failed, now)
                return
            previous = res.committed
            try:
                if previous is not None:
                    self._backend_call(self.backend.modify(connection_id, previous, held))
                self._backend_call(self.backend.commit(connection_id, held))
            except NsiError as exc:
                res.fail_commit()
                store.set_criteria_status(session, connection_id, held.version, "failed")
                store.release_allocations(session, connection_id, version=held.version)
                store.cancel_timers(session, connection_id, TimerKind.HOLD_TIMEOUT)
                failed = self._failed(ctx, res, exc)
                self._result(session, row, ctx, "reserve_commit_failed", failed, now)
                return
            committed = res.confirm_commit()
            if previous is not None:
                store.set_criteria_status(session, connection_id, previous.version, "superseded")
            store.set_criteria_status(session, connection_id, committed.version, "committed")
            store.release_allocations(session, connection_id, older_than=committed.version)
            store.cancel_timers(session, connection_id)
            for timer in schedule_timers(
                connection_id, committed.version, committed.start, committed.end
            ):
                self._set_timer(session, timer)
            confirmed = self._confirmed(ctx, connection_id)
            self._result(session, row, ctx, "reserve_commit_confirmed", confirmed, now)
            self._reconcile_data_plane(session, row, res, now)

        await self._operate(ctx, connection_id, action)

    async def abort(self, ctx: RequestContext, connection_id: str) -> None:
        def action(
            session: Session, row: store.ReservationRow, res: Reservation, now: datetime
        ) -> None:
            was_held = res.reservation_state is ReservationState.HELD
            res.begin_abort()
            held = res.held
            if held is not None:
                if was_held:
                    self._backend_call(self.backend.abort(connection_id, held))
                    store.set_criteria_status(session, connection_id, held.version, "aborted")
                store.release_allocations(session, connection_id, version=held.version)
            store.cancel_timers(session, connection_id, TimerKind.HOLD_TIMEOUT)
            res.confirm_abort()
            confirmed = self._confirmed(ctx, connection_id)
            self._result(session, row, ctx, "reserve_abort_confirmed", confirmed, now)

        await self._operate(ctx, connection_id, action)

    async def provision(self, ctx: RequestContext, connection_id: str) -> None:
        def action(
            session: Session, row: store.ReservationRow, res: Reservation, now: datetime
        ) -> None:
            res.begin_provision()
            res.confirm_provision()
            confirmed = self._confirmed(ctx, connection_id)
            self._result(session, row, ctx, "provision_confirmed", confirmed, now)
            self._reconcile_data_plane(session, row, res, now)

        await self._operate(ctx, connection_id, action)

    async def release(self, ctx: RequestContext, connection_id: str) -> None:
        def action(
            session: Session, row: store.ReservationRow, res: Reservation, now: datetime
        ) -> None:
            res.begin_release()
            res.confirm_release()
            confirmed = self._confirmed(ctx, connection_id)
            self._result(session, row, ctx, "release_confirmed", confirmed, now)
            self._reconcile_data_plane(session, row, res, now)

        await self._operate(ctx, connection_id, action)

    async def terminate(self, ctx: RequestContext, connection_id: str) -> None:
        def action(
            session: Session, row: store.ReservationRow, res: Reservation, now: datetime
        ) -> None:
            res.begin_terminate()
            self._reconcile_data_plane(session, row, res, now)
            with contextlib.suppress(NsiError):
                self._backend_call(self.backend.terminate(connection_id, res.committed))
            if res.held is not None and row.held_version is not None:
                store.set_criteria_status(session, connection_id, res.held.version, "aborted")
            res.confirm_terminate()
            self._end(session, connection_id)
            confirmed = self._confirmed(ctx, connection_id)
            self._result(session, row, ctx, "terminate_confirmed", confirmed, now)

        await self._operate(ctx, connection_id, action)

    def _end(self, session: Session, connection_id: str) -> None:
        """The connection no longer holds resources nor waits for timers."""
        store.release_allocations(session, connection_id)
        store.cancel_timers(session, connection_id)

    # -- data plane -------------------------------------------------------
    def _reconcile_data_plane(
        self, session: Session, row: store.ReservationRow, res: Reservation, now: datetime
    ) -> None:
        """Bring the data plane to what provision state and schedule say it should be."""
        want = res.should_be_active(now)
        if want == (res.data_plane is DataPlaneState.ACTIVE):
            return
        assert res.committed is not None
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
        res.set_data_plane(want)
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
        row: store.ReservationRow,
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

    # -- timers -------------------------------------------------------------
    async def fire_due_timers(self) -> int:
        """Fire every timer that is due now, each in its own transaction."""
        now = self.clock()
        due = await self._run_read(lambda session: store.due_timers(session, now))
        fired = 0
        for timer in due:

            def body(session: Session, timer: Timer = timer) -> bool:
                if not store.take_timer(session, timer):
                    return False
                row = store.load_row(session, timer.connection_id, for_update=True)
                if row is None:
                    return False
                res = store.reservation_from_row(row, store.load_versions(session, row))
                self._fire(session, row, res, timer, self.clock())
                store.apply_states(row, res, self.clock())
                return True

            fired += await self._run(body)
        if fired:
            self.outbox.wake()
        return fired

    def _fire(
        self,
        session: Session,
        row: store.ReservationRow,
        res: Reservation,
        timer: Timer,
        now: datetime,
    ) -> None:
        cid = res.connection_id
        if timer.kind is TimerKind.HOLD_TIMEOUT:
            if res.reservation_state is not ReservationState.HELD or res.held is None:
                return
            if res.held.version != timer.version:
                return
            res.hold_timeout()
            store.set_criteria_status(session, cid, timer.version, "timed-out")
            store.release_allocations(session, cid, version=timer.version)
            seconds = round(self.config.hold_timeout)

            def build(
                header: common_pb2.Header, note: common_pb2.Notification
            ) -> requester_pb2.ReserveTimeoutRequest:
                return requester_pb2.ReserveTimeoutRequest(
                    header=header,
                    notification=note,
                    timeout_value=seconds,
                    originating_connection_id=cid,
                    originating_nsa=self.config.nsa_id,
                )

            self._notify(session, row, "reserve_timeout", build, now)
            return
        if res.committed is None or res.committed.version != timer.version:
            return
        if res.lifecycle_state is not LifecycleState.CREATED:
            return
        self._reconcile_data_plane(session, row, res, now)
        if timer.kind is TimerKind.END:
            res.end_time_reached()
            self._end(session, cid)

    async def run_timers(self) -> None:
        """Sleep until the next due timer (from the database), fire, repeat."""
        while True:
            self._timer_wake.clear()
            try:
                await self.fire_due_timers()
                due = await self._run_read(store.next_due)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("agent timers failed; retrying")
                due = None
            self._next_wake = due
            delay = TIMER_POLL if due is None else min(TIMER_POLL, seconds_until(due, self.clock()))
            if delay <= 0:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timer_wake.wait(), delay)

    async def close(self) -> None:
        """Stop the timers and release the store's thread and connections."""
        await self.stop_timers()
        await asyncio.to_thread(self._units.close)

    async def start_timers(self) -> None:
        if self._timer_task is None:
            self._timer_task = asyncio.create_task(self.run_timers(), name="agent-timers")

    async def stop_timers(self) -> None:
        if self._timer_task is not None:
            self._timer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer_task
            self._timer_task = None

    # -- health -------------------------------------------------------------
    async def check_health(self) -> int:
        """Ask the backend about every active data plane; end the failed ones (forcedEnd)."""

        def active(session: Session) -> list[str]:
            return list(
                session.scalars(
                    select(store.ReservationRow.connection_id).where(
                        store.ReservationRow.data_plane_active.is_(True)
                    )
                )
            )

        ended = 0
        for cid in await self._run_read(active):

            def body(session: Session, cid: str = cid) -> bool:
                row = store.load_row(session, cid, for_update=True)
                if row is None:
                    return False
                res = store.reservation_from_row(row, store.load_versions(session, row))
                if res.committed is None or res.lifecycle_state is not LifecycleState.CREATED:
                    return False
                try:
                    healthy = self._await(self.backend.health(cid, res.committed))
                except BackendError:
                    healthy = False
                if healthy:
                    return False
                now = self.clock()
                res.forced_end()
                res.set_data_plane(False)
                error = NsiError(
                    ErrorCode.GENERIC_RM_ERROR,
                    "the network reports the service down",
                    [(CONNECTION_ID, cid)],
                )
                self._error_event(session, row, common_pb2.FORCED_END, error, now)
                self._end(session, cid)
                store.apply_states(row, res, now)
                return True

            ended += await self._run(body)
        if ended:
            self.outbox.wake()
        return ended

    # -- delivery give-up -------------------------------------------------------
    async def on_give_up(self, envelope: Envelope, reason: str) -> None:
        """A callback could not be delivered: record and send messageDeliveryTimeout."""
        method = envelope.attributes.get("method", "")
        cid = envelope.attributes.get("connection_id", "")
        if method == "MessageDeliveryTimeout" or not cid:
            return
        now = self.clock()
        failed_correlation = str(envelope.attributes.get("correlation_id", ""))

        def build(
            header: common_pb2.Header, note: common_pb2.Notification
        ) -> requester_pb2.MessageDeliveryTimeoutRequest:
            return requester_pb2.MessageDeliveryTimeoutRequest(
                header=header, notification=note, correlation_id=failed_correlation
            )

        def body(session: Session) -> None:
            row = store.load_row(session, cid, for_update=True)
            if row is None:
                return
            self._notify(session, row, "message_delivery_timeout", build, now)
            row.last_modified = now

        await self._run(body)
        self.outbox.wake()

    # -- queries ------------------------------------------------------------
    async def query_summary(
        self,
        ctx: RequestContext,
        connection_ids: list[str],
        global_ids: list[str],
        if_modified_since: datetime | None,
    ) -> requester_pb2.QueryConfirmedRequest:
        self.check_header(ctx)

        def body(
            session: Session,
        ) -> tuple[list[store.ReservationRow], dict[str, list[Criteria]]]:
            query = select(store.ReservationRow)
            if connection_ids or global_ids:
                query = query.where(
                    or_(
                        store.ReservationRow.connection_id.in_(connection_ids),
                        store.ReservationRow.global_reservation_id.in_(global_ids),
                    )
                )
            else:
                query = query.where(store.ReservationRow.requester_nsa == ctx.requester_nsa)
            if if_modified_since is not None:
                query = query.where(store.ReservationRow.last_modified > if_modified_since)
            rows = list(session.scalars(query.order_by(store.ReservationRow.created_at)))
            return rows, store.criteria_of(session, [r.connection_id for r in rows])

        rows, versions = await self._run_read(body)
        out = requester_pb2.QueryConfirmedRequest(header=self._header_for(ctx))
        for row in rows:
            res = store.reservation_from_row(row, {})
            out.reservation.append(
                requester_pb2.QueryResult(
                    connection_id=row.connection_id,
                    global_reservation_id=row.global_reservation_id,
                    description=row.description,
                    criteria=[msg.query_criteria(c) for c in versions.get(row.connection_id, [])],
                    requester_nsa=row.requester_nsa,
                    connection_states=msg.connection_states(res),
                    notification_id=row.notification_seq,
                    result_id=row.result_seq,
                )
            )
        if rows:
            out.last_modified.CopyFrom(msg.timestamp(max(r.last_modified for r in rows)))
        return out

    async def query_notifications(
        self, ctx: RequestContext, connection_id: str, first: int, last: int
    ) -> requester_pb2.QueryNotificationConfirmedRequest:
        self.check_header(ctx)

        def body(session: Session) -> list[store.NotificationRow]:
            self._require(session, connection_id)
            return store.notifications(session, connection_id, first, last)

        rows = await self._run_read(body)
        out = requester_pb2.QueryNotificationConfirmedRequest(header=self._header_for(ctx))
        for row in rows:
            _, cls = msg.NOTIFICATION_KINDS[row.kind]
            item = cls.FromString(row.payload)
            getattr(out, row.kind).append(item)
        return out

    async def query_results(
        self, ctx: RequestContext, connection_id: str, first: int, last: int
    ) -> requester_pb2.QueryResultConfirmedRequest:
        self.check_header(ctx)

        def body(session: Session) -> list[store.ResultRow]:
            self._require(session, connection_id)
            return store.results(session, connection_id, first, last)

        rows = await self._run_read(body)
        out = requester_pb2.QueryResultConfirmedRequest(header=self._header_for(ctx))
        for row in rows:
            _, cls = msg.RESULT_KINDS[row.kind]
            result = requester_pb2.ResultResponse(
                result_id=row.result_id,
                correlation_id=row.correlation_id,
                time_stamp=msg.timestamp(row.created_at),
            )
            getattr(result, row.kind).CopyFrom(cls.FromString(row.payload))
            out.result.append(result)
        return out

    def _require(self, session: Session, connection_id: str) -> None:
        if not connection_id or session.get(store.ReservationRow, connection_id) is None:
            raise NsiError(
                ErrorCode.RESERVATION_NONEXISTENT,
                "no such connection",
                [(CONNECTION_ID, connection_id)],
            )

    async def send_query_answer(self, ctx: RequestContext, method: str, answer: Message) -> None:
        """Deliver the answer of an asynchronous query through the outbox."""

        def body(session: Session) -> None:
            self._send(session, f"query:{ctx.requester_nsa}", method, answer, ctx.correlation_id)

        await self._run(body)
        self.outbox.wake()


@dataclass(frozen=True)
class _Offer:
    stp_id: str
    capacity: int
    stp: str
    variable: str
    wanted: VlanRanges
