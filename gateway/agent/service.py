"""The provider agent's application service: one transaction per request.

Each request runs in one database transaction that changes the state, records
the result or notification, and adds the callback to the outbox, so the
requester hears of every change exactly when it was made durable.  Immediate
refusals (bad header, malformed or unknown STP, invalid transition...) raise
NsiError before anything is written; the transaction is rolled back whole.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.agent import messages as msg
from gateway.agent import step_store, store
from gateway.agent.backends import BackendError
from gateway.agent.background import AgentBackground
from gateway.agent.core import CHANNEL, AgentConfig, RequestContext
from gateway.agent.domain.allocation import (
    FOREVER,
    PortOffer,
    check_capacity,
    choose_vlans,
    vlans_in_use,
)
from gateway.agent.domain.errors import (
    CONNECTION_ID,
    DEST_STP,
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
from gateway.agent.domain.states import ReservationState
from gateway.agent.domain.stp import StpRef, VlanRanges, parse_stp
from gateway.agent.domain.timers import TimerKind, hold_timer, schedule_timers
from gateway.agent.queries import AgentQueries
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2

__all__ = ["CHANNEL", "AgentConfig", "AgentService", "RequestContext"]

Action = Callable[[Session, store.ReservationRecord, Reservation, datetime], None]


class AgentService(AgentQueries, AgentBackground):
    """The ConnectionProvider operations, on top of timers and queries."""

    # -- reserve ------------------------------------------------------------
    async def reserve(
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
            ends: list[tuple[str, int]] = []
            try:
                vlans = self._allocate(session, connection_id, criteria, source, dest)
                ends = [(source.stp_id, vlans[0]), (dest.stp_id, vlans[1])]
                chosen = replace(criteria, source_vlan=vlans[0], dest_vlan=vlans[1])
                if not self.backend_remote:
                    self._backend_call(self.backend.reserve_check(connection_id, chosen))
            except NsiError as exc:
                res.fail_reserve()
                saved, status = criteria, "failed"
                failed = self._failed(ctx, res, exc)
                self._result(session, row, ctx, "reserve_failed", failed, now, new_connection=new)
            else:
                if self.backend_remote:  # checked outside this transaction (steps.py)
                    res.held = chosen
                    saved, status = chosen, "checking"
                else:
                    saved, status = res.confirm_reserve(*vlans), "held"
                    self._set_timer(
                        session,
                        hold_timer(connection_id, saved.version, now, self.config.hold_timeout),
                        replace=not new,
                    )
                    confirmed = requester_pb2.ReserveConfirmedRequest(
                        header=self._header_for(ctx),
                        connection_id=connection_id,
                        global_reservation_id=res.global_reservation_id,
                        description=res.description,
                        criteria=msg.confirm_criteria(saved),
                    )
                    self._result(
                        session, row, ctx, "reserve_confirmed", confirmed, now, new_connection=new
                    )
            self._save_reserve(session, row, res, ctx, saved, status, new=new, ends=ends, now=now)
            return connection_id

        answer = await self._run(body)
        if not replayed:
            self._after_commit()
        return answer

    def _save_reserve(  # noqa: PLR0917
        self,
        session: Session,
        row: store.ReservationRecord,
        res: Reservation,
        ctx: RequestContext,
        saved: Criteria,
        status: str,
        *,
        new: bool,
        ends: list[tuple[str, int]],
        now: datetime,
    ) -> None:
        """Write a reserve's outcome: the reservation, its criteria, allocations, the log."""
        connection_id = res.connection_id
        store.apply_states(row, res, now)
        row.reply_to = ctx.reply_to or row.reply_to
        if new:  # written once, complete (the criteria refer to it)
            store.insert_reservation(session, row)
        else:
            store.update_reservation(session, row)
        store.save_criteria(session, connection_id, saved, status, now, new=new)
        if status in ("held", "checking"):
            store.add_allocations(session, connection_id, saved, ends)
        if status == "checking":  # the backend checks it outside this transaction (steps.py)
            self._record_step(
                session, connection_id, step_store.RESERVE_CHECK, saved.version, now, ctx
            )
        store.log_request(
            session,
            correlation_id=ctx.correlation_id,
            payload_hash=ctx.payload_hash,
            operation=ctx.operation,
            connection_id=connection_id,
            now=now,
        )

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
        ports = store.lock_ports(session, (src.local_id, dst.local_id))
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
            session, (source.stp_id, dest.stp_id), criteria.start, end, excluding=connection_id
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
            raise NsiError(ErrorCode.GENERIC_RM_ERROR, str(exc), exc.variables) from None

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
            row.reply_to = ctx.reply_to or row.reply_to
            store.save_states(session, row, res, now)
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
            session: Session, row: store.ReservationRecord, res: Reservation, now: datetime
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
            if previous is not None and self.backend_remote:  # modified outside (steps.py)
                self._record_step(session, connection_id, step_store.MODIFY, held.version, now, ctx)
                return
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
                connection_id, committed.version, committed.start, committed.end, now
            ):
                self._set_timer(session, timer, replace=False)  # all cancelled just above
            confirmed = self._confirmed(ctx, connection_id)
            self._result(session, row, ctx, "reserve_commit_confirmed", confirmed, now)
            self._reconcile_data_plane(session, row, res, now)

        await self._operate(ctx, connection_id, action)

    async def abort(self, ctx: RequestContext, connection_id: str) -> None:
        def action(
            session: Session, row: store.ReservationRecord, res: Reservation, now: datetime
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
            session: Session, row: store.ReservationRecord, res: Reservation, now: datetime
        ) -> None:
            res.begin_provision()
            res.confirm_provision()
            confirmed = self._confirmed(ctx, connection_id)
            self._result(session, row, ctx, "provision_confirmed", confirmed, now)
            self._reconcile_data_plane(session, row, res, now)

        await self._operate(ctx, connection_id, action)

    async def release(self, ctx: RequestContext, connection_id: str) -> None:
        def action(
            session: Session, row: store.ReservationRecord, res: Reservation, now: datetime
        ) -> None:
            res.begin_release()
            res.confirm_release()
            confirmed = self._confirmed(ctx, connection_id)
            self._result(session, row, ctx, "release_confirmed", confirmed, now)
            self._reconcile_data_plane(session, row, res, now)

        await self._operate(ctx, connection_id, action)

    async def terminate(self, ctx: RequestContext, connection_id: str) -> None:
        def action(
            session: Session, row: store.ReservationRecord, res: Reservation, now: datetime
        ) -> None:
            res.begin_terminate()
            if self.backend_remote:  # removed outside this transaction (steps.py)
                self._record_step(session, connection_id, step_store.TERMINATE, None, now, ctx)
                return
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


@dataclass(frozen=True)
class _Offer:
    stp_id: str
    capacity: int
    stp: str
    variable: str
    wanted: VlanRanges
