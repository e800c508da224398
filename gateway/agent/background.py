"""The agent's background work: timers, backend health checks, delivery give-up."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.agent import store
from gateway.agent.backends import BackendError
from gateway.agent.domain.reservation import (
    Reservation,
)
from gateway.agent.domain.states import LifecycleState, ReservationState
from gateway.agent.domain.timers import Timer, TimerKind, seconds_until
from gateway.agent.steps import AgentSteps
from gateway.logs import get_logger
from gateway.outbox import Envelope
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2

log = get_logger(__name__)

TIMER_POLL = 30.0  # longest sleep of the timer task (a safety net; it is woken on changes)


class AgentBackground(AgentSteps):
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
                store.save_states(session, row, res, self.clock())
                return True

            fired += await self._run(body)
        return fired

    def _fire(
        self,
        session: Session,
        row: store.ReservationRecord,
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
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a
            # cancellation that arrives with a wake-up, and stopping would hang.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._timer_wake.wait()

    async def close(self) -> None:
        """Stop the timers (the store's threads belong to the database)."""
        await self.stop_timers()

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
        if self.backend_remote:
            return await self.check_health_outside()

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
                self._force_end(session, row, res)
                return True

            ended += await self._run(body)
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
            store.update_reservation(session, row)

        await self._run(body)
