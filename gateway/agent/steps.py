"""Backend calls outside the agent's transactions, for remote backends (``remote = True``).

A call to a network system may take seconds, or minutes while it is down and
retried; holding the database's write lock for that long would stop every
other reservation.  So the request's transaction records the intent (a row of
``agent_backend_step``, with the NSI header of the answer) and leaves the
connection in its transient state (ReserveChecking, ReserveCommitting,
Terminating; the data plane as it was); the step runner then makes the call
with no transaction open and records the outcome in a following transaction,
which also deletes the step.  After a crash a step still in the log is made
again: backend calls are idempotent per connection and version.

Steps of one connection run one after another, in the order recorded; the
data-plane step reads what the states want when it runs, so a provision
quickly followed by a release leaves the network as the states say.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from gateway.agent import messages as msg
from gateway.agent import step_store, store
from gateway.agent.backends import BackendError
from gateway.agent.core import AgentCore, RequestContext
from gateway.agent.domain.errors import CONNECTION_ID, ErrorCode, NsiError
from gateway.agent.domain.reservation import Reservation
from gateway.agent.domain.states import (
    DataPlaneState,
    LifecycleState,
    ReservationState,
)
from gateway.agent.domain.timers import TimerKind, hold_timer, schedule_timers
from gateway.agent.step_store import Step
from gateway.logs import get_logger
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2

log = get_logger(__name__)

STEP_POLL = 5.0  # seconds between scans of the step log (a safety net; woken on commits)
DATA_PLANE_ROUNDS = 4  # activate/deactivate rounds of one data-plane step at most


def backend_failure(exc: BackendError) -> NsiError:
    """The NSI error (00800 class) of a backend failure, with the backend's variables."""
    return NsiError(ErrorCode.GENERIC_RM_ERROR, str(exc), exc.variables)


class AgentSteps(AgentCore):
    _steps_wake: asyncio.Event | None = None
    _steps_task: asyncio.Task[None] | None = None
    _driving: dict[str, asyncio.Task[None]] | None = None

    # -- waking the runner ------------------------------------------------------
    def _steps_recorded(self, session: Session) -> None:
        loop, wake = self._loop, self._steps_wake
        if loop is None or wake is None:
            return  # no runner yet: it scans the log when it starts

        @event.listens_for(session, "after_commit", once=True)
        def _wake(_session: Session) -> None:
            loop.call_soon_threadsafe(wake.set)

    def wake_steps(self) -> None:
        if self._steps_wake is not None:
            self._steps_wake.set()

    async def start_steps(self) -> None:
        """Run recorded steps (those left by a previous run first) until stopped."""
        if self._steps_task is None and self.backend_remote:
            self._loop = asyncio.get_running_loop()
            self._steps_wake = asyncio.Event()
            self._driving = {}
            self._steps_task = asyncio.create_task(self._run_steps(), name="agent-steps")

    async def stop_steps(self) -> None:
        tasks = [self._steps_task, *(self._driving or {}).values()]
        for task in tasks:
            if task is not None:
                task.cancel()
        for task in tasks:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._steps_task, self._driving = None, {}

    async def settle_steps(self) -> None:
        """Wait until no step is left (tests, shutdown)."""
        while True:
            pending = await self._run_read(step_store.pending_connections)
            if not pending:
                return
            self.wake_steps()
            await asyncio.sleep(0.02)

    async def _run_steps(self) -> None:
        assert self._steps_wake is not None
        assert self._driving is not None
        while True:
            self._steps_wake.clear()
            try:
                pending = await self._run_read(step_store.pending_connections)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading the backend step log failed; retrying")
                pending = []
            for cid in pending:
                if cid not in self._driving:
                    self._driving[cid] = asyncio.create_task(self._drive(cid), name=f"step-{cid}")
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a
            # cancellation that arrives with a wake-up, and stopping would hang.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STEP_POLL):
                    await self._steps_wake.wait()

    async def _drive(self, connection_id: str) -> None:
        """Run the connection's steps in order until none is left."""
        try:
            while True:
                step = await self._run_read(
                    lambda session: step_store.first_step(session, connection_id)
                )
                if step is None:
                    return
                await self._execute(step)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Unexpected (database down...): the step stays and is tried at the next scan.
            log.exception("backend step failed", connection_id=connection_id)
        finally:
            if self._driving is not None:
                self._driving.pop(connection_id, None)

    async def _execute(self, step: Step) -> None:
        handlers: dict[str, Callable[[Step], Awaitable[None]]] = {
            step_store.RESERVE_CHECK: self._step_reserve_check,
            step_store.MODIFY: self._step_modify,
            step_store.DATA_PLANE: self._step_data_plane,
            step_store.TERMINATE: self._step_terminate,
        }
        await handlers[step.kind](step)
        self._after_commit()

    # -- helpers ------------------------------------------------------------------
    def _snapshot(self, session: Session, connection_id: str) -> Reservation | None:
        row = store.load_row(session, connection_id)
        if row is None:
            return None
        return store.reservation_from_row(row, store.load_versions(session, row))

    def _step_context(self, step: Step) -> RequestContext:
        return RequestContext(
            correlation_id=step.correlation_id,
            requester_nsa=step.requester_nsa,
            provider_nsa=self.config.nsa_id,
            reply_to=step.reply_to,
        )

    async def _outcome(
        self,
        step: Step,
        record: Callable[[Session, store.ReservationRecord, Reservation], None],
    ) -> None:
        """Delete the step and record its outcome in one transaction (once)."""

        def body(session: Session) -> None:
            if not step_store.delete_step(session, step.id):
                return
            row = store.load_row(session, step.connection_id, for_update=True)
            if row is None:
                return
            res = store.reservation_from_row(row, store.load_versions(session, row))
            record(session, row, res)
            store.save_states(session, row, res, self.clock())

        await self._run(body)

    async def _drop(self, step: Step) -> None:
        await self._run(lambda session: step_store.delete_step(session, step.id))

    # -- reserve check ------------------------------------------------------------
    async def _step_reserve_check(self, step: Step) -> None:
        cid = step.connection_id
        res = await self._run_read(lambda session: self._snapshot(session, cid))
        if not _checking(res, step.version):
            await self._drop(step)
            return
        assert res is not None
        assert res.held is not None
        error: NsiError | None = None
        try:
            await self.backend.reserve_check(cid, res.held)
        except BackendError as exc:
            error = backend_failure(exc)
        ctx = self._step_context(step)

        def record(session: Session, row: store.ReservationRecord, res: Reservation) -> None:
            if not _checking(res, step.version):
                return
            assert res.held is not None
            now = self.clock()
            if error is not None:
                res.fail_reserve()
                store.set_criteria_status(session, cid, res.held.version, "failed")
                store.release_allocations(session, cid, version=res.held.version)
                self._result(
                    session, row, ctx, "reserve_failed", self._failed(ctx, res, error), now
                )
                return
            assert res.held.source_vlan is not None
            assert res.held.dest_vlan is not None
            held = res.confirm_reserve(res.held.source_vlan, res.held.dest_vlan)
            store.set_criteria_status(session, cid, held.version, "held")
            self._set_timer(session, hold_timer(cid, held.version, now, self.config.hold_timeout))
            confirmed = requester_pb2.ReserveConfirmedRequest(
                header=self._header_for(ctx),
                connection_id=cid,
                global_reservation_id=res.global_reservation_id,
                description=res.description,
                criteria=msg.confirm_criteria(held),
            )
            self._result(session, row, ctx, "reserve_confirmed", confirmed, now)

        await self._outcome(step, record)

    # -- modify (commit of a new version of a committed connection) ---------------
    async def _step_modify(self, step: Step) -> None:
        cid = step.connection_id
        res = await self._run_read(lambda session: self._snapshot(session, cid))
        if not _committing(res, step.version):
            await self._drop(step)
            return
        assert res is not None
        assert res.held is not None
        assert res.committed is not None
        error: NsiError | None = None
        try:
            await self.backend.modify(cid, res.committed, res.held)
            await self.backend.commit(cid, res.held)
        except BackendError as exc:
            error = backend_failure(exc)
        ctx = self._step_context(step)

        def record(session: Session, row: store.ReservationRecord, res: Reservation) -> None:
            if not _committing(res, step.version):
                return
            assert res.held is not None
            assert res.committed is not None
            now = self.clock()
            if error is not None:
                held = res.held
                res.fail_commit()
                store.set_criteria_status(session, cid, held.version, "failed")
                store.release_allocations(session, cid, version=held.version)
                store.cancel_timers(session, cid, TimerKind.HOLD_TIMEOUT)
                failed = self._failed(ctx, res, error)
                self._result(session, row, ctx, "reserve_commit_failed", failed, now)
                return
            previous = res.committed
            committed = res.confirm_commit()
            store.set_criteria_status(session, cid, previous.version, "superseded")
            store.set_criteria_status(session, cid, committed.version, "committed")
            store.release_allocations(session, cid, older_than=committed.version)
            store.cancel_timers(session, cid)
            for timer in schedule_timers(
                cid, committed.version, committed.start, committed.end, now
            ):
                self._set_timer(session, timer, replace=False)  # all cancelled just above
            self._result(
                session, row, ctx, "reserve_commit_confirmed", self._confirmed(ctx, cid), now
            )
            self._reconcile_data_plane(session, row, res, now)

        await self._outcome(step, record)

    # -- data plane -----------------------------------------------------------------
    async def _step_data_plane(self, step: Step) -> None:
        cid = step.connection_id
        for _ in range(DATA_PLANE_ROUNDS):
            res = await self._run_read(lambda session: self._snapshot(session, cid))
            if res is None or res.committed is None:
                break
            want = res.should_be_active(self.clock())
            if want == (res.data_plane is DataPlaneState.ACTIVE):
                break
            failure: BackendError | None = None
            try:
                if want:
                    await self.backend.activate(cid, res.committed)
                else:
                    await self.backend.deactivate(cid, res.committed)
            except BackendError as exc:
                failure = exc

            def body(
                session: Session, want: bool = want, failure: BackendError | None = failure
            ) -> None:
                row = store.load_row(session, cid, for_update=True)
                if row is None:
                    return
                res = store.reservation_from_row(row, store.load_versions(session, row))
                now = self.clock()
                if failure is not None:
                    step_store.delete_step(session, step.id)
                    event_type = (
                        common_pb2.ACTIVATE_FAILED if want else common_pb2.DEACTIVATE_FAILED
                    )
                    self._error_event(session, row, event_type, backend_failure(failure), now)
                    row.last_modified = now
                    store.update_reservation(session, row)
                    return
                self._data_plane_changed(session, row, res, want, now)
                store.save_states(session, row, res, now)

            await self._run(body)
            if failure is not None:
                return
            self._after_commit()
        await self._drop(step)

    # -- terminate ------------------------------------------------------------------
    async def _step_terminate(self, step: Step) -> None:
        cid = step.connection_id
        res = await self._run_read(lambda session: self._snapshot(session, cid))
        if res is None or res.lifecycle_state is not LifecycleState.TERMINATING:
            await self._drop(step)
            return
        try:
            await self.backend.terminate(cid, res.committed)
        except BackendError as exc:
            # As with an inline backend, terminate is confirmed: the connection is gone
            # for NSI; what could not be removed is in the log for the operator.
            log.warning(
                "backend could not remove the connection", connection_id=cid, error=str(exc)
            )
        ctx = self._step_context(step)

        def record(session: Session, row: store.ReservationRecord, res: Reservation) -> None:
            if res.lifecycle_state is not LifecycleState.TERMINATING:
                return
            now = self.clock()
            self._data_plane_changed(session, row, res, False, now)
            if res.held is not None and row.held_version is not None:
                store.set_criteria_status(session, cid, res.held.version, "aborted")
            res.confirm_terminate()
            self._end(session, cid)
            self._result(session, row, ctx, "terminate_confirmed", self._confirmed(ctx, cid), now)

        await self._outcome(step, record)

    # -- health -------------------------------------------------------------------
    async def check_health_outside(self) -> int:
        """Health of every active data plane, asked with no transaction open.

        A backend that cannot answer (NSO unreachable) ends nothing: the check
        is repeated at the next interval.  Connections with a step in flight
        are skipped (their data plane is changing).
        """

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
            res = await self._run_read(functools.partial(self._snapshot, connection_id=cid))
            if res is None or res.committed is None:
                continue
            try:
                healthy = await self.backend.health(cid, res.committed)
            except BackendError as exc:
                log.warning("backend health check failed", connection_id=cid, error=str(exc))
                continue
            if healthy:
                continue

            def body(session: Session, cid: str = cid) -> bool:
                if step_store.has_steps(session, cid):
                    return False
                row = store.load_row(session, cid, for_update=True)
                if row is None or not row.data_plane_active:
                    return False
                res = store.reservation_from_row(row, store.load_versions(session, row))
                if res.committed is None or res.lifecycle_state is not LifecycleState.CREATED:
                    return False
                self._force_end(session, row, res)
                return True

            ended += await self._run(body)
        return ended

    def _force_end(self, session: Session, row: store.ReservationRecord, res: Reservation) -> None:
        """The network reports the service down: lifecycle Failed, errorEvent forcedEnd."""
        now = self.clock()
        res.forced_end()
        res.set_data_plane(False)
        error = NsiError(
            ErrorCode.GENERIC_RM_ERROR,
            "the network reports the service down",
            [(CONNECTION_ID, row.connection_id)],
        )
        self._error_event(session, row, common_pb2.FORCED_END, error, now)
        self._end(session, row.connection_id)
        store.save_states(session, row, res, now)


def _checking(res: Reservation | None, version: int | None) -> bool:
    return (
        res is not None
        and res.reservation_state is ReservationState.CHECKING
        and res.held is not None
        and res.held.version == version
    )


def _committing(res: Reservation | None, version: int | None) -> bool:
    return (
        res is not None
        and res.reservation_state is ReservationState.COMMITTING
        and res.held is not None
        and res.committed is not None
        and res.held.version == version
    )
