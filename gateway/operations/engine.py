"""The operations engine: starts, runs, persists, cancels and recovers operations.

A part of nsgw declares an :class:`OperationKind` (a name, the request message
type and an async runner) and registers it.  :meth:`OperationEngine.submit`
records a PENDING operation (or returns the one already recorded for the same
request_id and request) and runs it in the background; the runner reports
progress through its :class:`OperationContext` and returns a typed result, or
raises :class:`OperationFailed`.  Every change is written to the database
before anyone is told about it.

On start-up, operations a previous process left unfinished are resumed when
their kind is resumable and failed with reason INTERRUPTED_BY_RESTART
otherwise.  On shutdown, running operations of non-resumable kinds are failed
the same way (their callbacks are delivered by the outbox, now or after the
restart); resumable ones stay RUNNING and resume on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from google.protobuf import json_format
from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import Database, utcnow
from gateway.logs import get_logger
from gateway.operations import store
from gateway.operations.errors import failed_precondition, not_found, request_id_reused
from gateway.operations.model import (
    ListFilter,
    Operation,
    OperationError,
    OperationFailed,
    Progress,
    State,
    cancelled_by_caller,
    check_transition,
    internal_failure,
    interrupted,
    summary,
)

log = get_logger(__name__)

# A watcher re-reads the database at least this often, in case a change was
# made by another process sharing the database.
WATCH_POLL_SECONDS = 1.0


class OperationContext:
    """What a runner gets: its request, a progress reporter and the cancel flag."""

    def __init__(self, engine: OperationEngine, op: Operation, request: Message, resumed: bool):
        self._engine = engine
        self.id = op.id
        self.kind = op.kind
        self.target = op.target
        self.caller = op.caller
        self.request = request
        self.resumed = resumed

    @property
    def cancel_requested(self) -> bool:
        """True once a caller asked to cancel (the runner's task is being cancelled too)."""
        return self.id in self._engine._cancelled_by

    async def progress(self, message: str) -> None:
        """Record a progress message (persisted, then sent to watchers and the progress URL)."""
        await self._engine._progress(self.id, message)


Runner = Callable[[OperationContext], Awaitable[Message | None]]


@dataclass(frozen=True)
class OperationKind:
    """A kind of operation: what runs, on which request type, and how it behaves."""

    name: str
    request_type: type[Message]
    run: Runner
    # Safe to run again from the start after a restart interrupted it.
    resumable: bool = False
    # Can stop while running (the runner's task is cancelled).
    cancellable: bool = True


class Notifier(Protocol):
    """Told about changes inside the transaction that makes them (e.g. to queue callbacks)."""

    def on_progress(self, session: AsyncSession, op: Operation, progress: Progress) -> None: ...

    def on_end(self, session: AsyncSession, op: Operation) -> None: ...

    def after_commit(self) -> None: ...


def request_fingerprint(kind: str, target: str, request: Message) -> str:
    """The hash of the canonical form of a request: same request, same hash."""
    canonical = json.dumps(
        {
            "kind": kind,
            "target": target,
            "type": request.DESCRIPTOR.full_name,
            "request": json_format.MessageToDict(request, preserving_proto_field_name=True),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Page:
    operations: list[Operation]
    next_page_token: str


WatchEvent = Operation | Progress


class OperationEngine:
    def __init__(
        self,
        db: Database,
        *,
        notifier: Notifier | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._notifier = notifier
        self._clock = clock
        self._kinds: dict[str, OperationKind] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancelled_by: dict[str, str] = {}
        self._changed: dict[str, asyncio.Event] = {}

    # --- kinds ---------------------------------------------------------------
    def register(self, kind: OperationKind) -> None:
        if kind.name in self._kinds:
            raise ValueError(f"operation kind {kind.name!r} is registered twice")
        self._kinds[kind.name] = kind

    @property
    def kinds(self) -> list[str]:
        return sorted(self._kinds)

    # --- life cycle ------------------------------------------------------------
    async def start(self) -> None:
        """Resume or fail what a previous process left unfinished."""
        async with self._db.sessions() as session:
            leftovers = await store.unfinished(session)
        for row in leftovers:
            kind = self._kinds.get(row.kind)
            if kind is not None and (kind.resumable or row.state == State.PENDING.value):
                request = json_format.ParseDict(row.request, kind.request_type())
                log.info("operation resumed after restart", operation=f"operations/{row.id}")
                self._launch(row.id, kind, request, resumed=row.state == State.RUNNING.value)
                continue
            why = (
                "the gateway stopped while it was running"
                if kind is not None
                else f"operations of kind {row.kind} are not served by this gateway now"
            )
            await self._finish(row.id, State.FAILED, error=interrupted(why))

    async def stop(self) -> None:
        """Stop running work: non-resumable operations end FAILED (interrupted)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # --- starting --------------------------------------------------------------
    async def submit(
        self,
        kind_name: str,
        *,
        target: str,
        request: Message,
        request_id: str,
        caller: str,
        callback_url: str = "",
        progress_url: str = "",
    ) -> tuple[Operation, bool]:
        """Record and start an operation; (operation, created).

        The same request_id with the same request returns the recorded
        operation (created False); with a different request, ApiError
        ALREADY_EXISTS.
        """
        kind = self._kinds.get(kind_name)
        if kind is None:
            raise KeyError(f"no operation kind {kind_name!r} is registered")
        if not isinstance(request, kind.request_type):
            raise TypeError(f"{kind_name} takes {kind.request_type.__name__} requests")
        fingerprint = request_fingerprint(kind_name, target, request)
        request_id = request_id or uuid.uuid4().hex
        for attempt in range(2):
            try:
                async with self._db.transaction() as session:
                    existing = await store.by_request_id(session, request_id)
                    if existing is not None:
                        if existing.request_hash != fingerprint:
                            raise request_id_reused(
                                request_id, f"operations/{existing.id}", existing.kind
                            )
                        progress = await store.progress_of(session, existing.id)
                        return self._domain(existing, progress), False
                    now = self._clock()
                    row = store.OperationRow(
                        id=uuid.uuid4().hex,
                        kind=kind_name,
                        target=target,
                        state=State.PENDING.value,
                        caller=caller,
                        request_id=request_id,
                        request_hash=fingerprint,
                        request_type=request.DESCRIPTOR.full_name,
                        request=json_format.MessageToDict(
                            request, preserving_proto_field_name=True
                        ),
                        callback_url=callback_url,
                        progress_url=progress_url,
                        cancel_requested=False,
                        create_time=now,
                        update_time=now,
                    )
                    session.add(row)
            except IntegrityError:
                # A concurrent submit with the same request_id won: answer as a retry.
                if attempt:
                    raise
                continue
            op = self._domain(row, [])
            log.info("operation accepted", caller=caller, **summary(op))
            self._launch(row.id, kind, request, resumed=False)
            return op, True
        raise AssertionError("unreachable")  # pragma: no cover

    def _launch(self, op_id: str, kind: OperationKind, request: Message, resumed: bool) -> None:
        task = asyncio.create_task(self._execute(op_id, kind, request, resumed), name=op_id)
        self._tasks[op_id] = task
        task.add_done_callback(lambda _t: self._forget(op_id))

    def _forget(self, op_id: str) -> None:
        self._tasks.pop(op_id, None)
        self._cancelled_by.pop(op_id, None)

    # --- running ---------------------------------------------------------------
    async def _execute(
        self, op_id: str, kind: OperationKind, request: Message, resumed: bool
    ) -> None:
        try:
            started = await self._start_running(op_id, resumed)
            if started is None:
                return  # cancelled or failed before it could run
            result = await kind.run(OperationContext(self, started, request, resumed))
            if result is not None:
                store.result_to_json(result)  # TypeError: not an Operation result type
            # Inside the try: a cancel landing while the result is written ends it CANCELLED.
            await self._finish(op_id, State.SUCCEEDED, result=result)
        except asyncio.CancelledError:
            cancelled_by = self._cancelled_by.pop(op_id, None)
            if cancelled_by is not None:
                await self._finish(op_id, State.CANCELLED, error=cancelled_by_caller(cancelled_by))
            elif not kind.resumable:
                why = "the gateway shut down while it was running"
                await self._finish(op_id, State.FAILED, error=interrupted(why))
            return
        except OperationFailed as failure:
            await self._finish(op_id, State.FAILED, error=failure.error)
        except Exception as exc:
            log.exception("operation runner failed", operation=f"operations/{op_id}")
            await self._finish(op_id, State.FAILED, error=internal_failure(exc))

    async def _start_running(self, op_id: str, resumed: bool) -> Operation | None:
        async with self._db.transaction() as session:
            row = await store.get(session, op_id, lock=True)
            if row is None or State(row.state).ended:
                return None
            now = self._clock()
            if row.state == State.PENDING.value:
                check_transition(State.PENDING, State.RUNNING)
                row.state = State.RUNNING.value
            row.update_time = now
            text = "resumed after a restart" if resumed else "started"
            progress = await store.add_progress(session, op_id, text, now)
            op = self._domain(row, [])
            if self._notifier:
                self._notifier.on_progress(session, op, progress)
        self._changed_now(op_id)
        return op

    async def _progress(self, op_id: str, message: str) -> None:
        async with self._db.transaction() as session:
            row = await store.get(session, op_id, lock=True)
            if row is None or State(row.state).ended:
                return
            now = self._clock()
            row.update_time = now
            progress = await store.add_progress(session, op_id, message, now)
            if self._notifier:
                self._notifier.on_progress(session, self._domain(row, []), progress)
        self._changed_now(op_id)

    async def _finish(
        self,
        op_id: str,
        state: State,
        *,
        result: Message | None = None,
        error: OperationError | None = None,
        session: AsyncSession | None = None,
    ) -> None:
        if session is None:
            async with self._db.transaction() as own:
                await self._finish(op_id, state, result=result, error=error, session=own)
            self._changed_now(op_id)
            return
        row = await store.get(session, op_id, lock=True)
        if row is None or State(row.state).ended:
            return
        check_transition(State(row.state), state)
        now = self._clock()
        row.state = state.value
        row.update_time = row.end_time = now
        if result is not None:
            row.result_field, row.result = store.result_to_json(result)
        store.set_error(row, error)
        text = {
            State.SUCCEEDED: "succeeded",
            State.FAILED: f"failed: {error.message if error else 'unknown error'}",
            State.CANCELLED: "cancelled",
        }[state]
        last = await store.add_progress(session, op_id, text, now)
        await session.flush()
        op = self._domain(row, await store.progress_of(session, op_id))
        log.info("operation ended", **summary(op), reason=error.reason if error else None)
        if self._notifier:
            self._notifier.on_progress(session, op, last)
            self._notifier.on_end(session, op)

    def _changed_now(self, op_id: str) -> None:
        event = self._changed.pop(op_id, None)
        if event is not None:
            event.set()
        if self._notifier:
            self._notifier.after_commit()

    # --- reading -----------------------------------------------------------------
    def _domain(self, row: store.OperationRow, progress: list[store.ProgressRow]) -> Operation:
        kind = self._kinds.get(row.kind)
        running = row.state == State.RUNNING.value
        cancellable = kind is not None and (kind.cancellable or not running)
        return store.to_domain(row, progress, cancellable=cancellable)

    async def get(self, op_id: str, *, progress_from: int = 0) -> Operation:
        async with self._db.reading() as session:
            row = await store.get(session, op_id)
            if row is None:
                raise not_found("operation", f"operations/{op_id}")
            return self._domain(row, await store.progress_of(session, op_id, progress_from))

    async def list(
        self, flt: ListFilter, *, page_size: int, page_token: str = "", include_progress: bool
    ) -> Page:
        key = store.filter_key(flt)
        after = store.decode_page_token(page_token, key) if page_token else None
        async with self._db.reading() as session:
            rows, more = await store.list_page(session, flt, page_size, after)
            ops = [
                self._domain(
                    row, await store.progress_of(session, row.id) if include_progress else []
                )
                for row in rows
            ]
        token = store.encode_page_token(rows[-1], key) if more and rows else ""
        return Page(ops, token)

    async def watch(self, op_id: str, from_index: int = 0) -> AsyncIterator[WatchEvent]:
        """The operation (first), its progress from ``from_index``, state changes, the end."""
        next_index, first, seen = from_index, True, None
        while True:
            changed = self._changed.setdefault(op_id, asyncio.Event())
            op = await self.get(op_id, progress_from=next_index)
            progress, op.progress = op.progress, []
            if first:
                yield op
            for item in progress:
                yield item
                next_index = item.index + 1
            if op.ended:
                yield op
                return
            if not first and (op.state, op.cancel_requested) != seen:
                yield op
            seen, first = (op.state, op.cancel_requested), False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), WATCH_POLL_SECONDS)

    # --- cancelling ----------------------------------------------------------------
    async def cancel(self, op_id: str, caller: str) -> Operation:
        async with self._db.transaction() as session:
            row = await store.get(session, op_id, lock=True)
            if row is None:
                raise not_found("operation", f"operations/{op_id}")
            state = State(row.state)
            name = f"operations/{op_id}"
            if state.ended:
                raise failed_precondition(
                    "OPERATION_ENDED",
                    f"{name} already ended ({state}); it cannot be cancelled",
                    operation=name,
                    state=state.value.upper(),
                )
            kind = self._kinds.get(row.kind)
            if state == State.RUNNING and (kind is None or not kind.cancellable):
                raise failed_precondition(
                    "NOT_CANCELLABLE",
                    f"{name} ({row.kind}) cannot be stopped once running",
                    operation=name,
                    kind=row.kind,
                )
            if not row.cancel_requested:
                row.cancel_requested = True
                row.update_time = self._clock()
                asked = await store.add_progress(
                    session, op_id, f"cancel requested by {caller}", row.update_time
                )
                if self._notifier:
                    self._notifier.on_progress(session, self._domain(row, []), asked)
            if state == State.PENDING:
                await self._finish(
                    op_id, State.CANCELLED, error=cancelled_by_caller(caller), session=session
                )
            await session.flush()
            op = self._domain(row, await store.progress_of(session, op_id))
        self._changed_now(op_id)
        task = self._tasks.get(op_id)
        if task is not None and op_id not in self._cancelled_by:
            self._cancelled_by[op_id] = caller
            task.cancel()
        return op

    async def purge(self, retention: timedelta) -> int:
        """Forget operations that ended more than ``retention`` ago; how many went."""
        async with self._db.transaction() as session:
            count = await store.purge_ended_before(session, self._clock() - retention)
        if count:
            log.info("ended operations purged", count=count, older_than=str(retention))
        return count

    async def wait(self, op_id: str) -> Operation:
        """The operation once it has ended (for tests and in-process callers)."""
        async for event in self.watch(op_id):
            if isinstance(event, Operation) and event.ended:
                return await self.get(op_id)
        raise AssertionError("watch ended before the operation")  # pragma: no cover
