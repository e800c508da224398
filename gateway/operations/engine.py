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
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.db import Database, utcnow
from gateway.logs import get_logger
from gateway.operations import store
from gateway.operations.errors import failed_precondition, not_found, request_id_reused
from gateway.operations.live import LiveOperations
from gateway.operations.model import (
    TRANSITIONS,
    ListFilter,
    Operation,
    OperationError,
    OperationFailed,
    Progress,
    State,
    cancelled_by_caller,
    internal_failure,
    interrupted,
    summary,
)
from gateway.operations.watching import WatchEvent, follow

log = get_logger(__name__)

# A watcher re-reads the database at least this often, in case a change was
# made by another process sharing the database.
WATCH_POLL_SECONDS = 1.0
LIVE = (State.PENDING, State.RUNNING)


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
    """Told about changes inside the transaction that makes them (e.g. to queue callbacks).

    ``on_progress`` and ``on_end`` run in the engine's unit of work on the
    database thread (plain synchronous SQLAlchemy) and answer whether they
    queued something; ``after_commit`` then runs on the event loop once that
    transaction committed.
    """

    def on_progress(self, session: Session, op: Operation, progress: Progress) -> bool: ...

    def on_end(self, session: Session, op: Operation) -> bool: ...

    def after_commit(self) -> None: ...


def request_fingerprint(kind: str, target: str, request: Message) -> str:
    """The hash of the canonical form of a request: same request, same hash."""
    return _fingerprint(kind, target, request, _as_json(request))


def _as_json(request: Message) -> dict[str, Any]:
    return json_format.MessageToDict(request, preserving_proto_field_name=True)


def _fingerprint(kind: str, target: str, request: Message, as_json: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"kind": kind, "target": target, "type": request.DESCRIPTOR.full_name, "request": as_json},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Page:
    operations: list[Operation]
    next_page_token: str


# A change the engine committed: the operation as it now is, the progress it
# added, and whether the notifier queued something (after_commit is due).
_Change = tuple[Operation, list[Progress], bool]
T = TypeVar("T")


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
        self._live = LiveOperations()
        # The index of the next progress message of operations running here
        # (touched only inside units of work; absent: counted in the database).
        self._next_index: dict[str, int] = {}

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
        leftovers = await self._db.threaded.read(store.unfinished)
        for row in leftovers:
            op_id, state = row["id"], row["state"]
            kind = self._kinds.get(row["kind"])
            if kind is not None and (kind.resumable or state == State.PENDING.value):
                request = json_format.ParseDict(row["request"], kind.request_type())
                log.info("operation resumed after restart", operation=f"operations/{op_id}")
                self._launch(op_id, kind, request, resumed=state == State.RUNNING.value)
                continue
            why = (
                "the gateway stopped while it was running"
                if kind is not None
                else f"operations of kind {row['kind']} are not served by this gateway now"
            )
            await self._finish(op_id, State.FAILED, error=interrupted(why))

    async def stop(self) -> None:
        """Stop running work: non-resumable operations end FAILED (interrupted)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # --- units of work ---------------------------------------------------------
    async def _write(self, op_id: str, body: Callable[[Session], T]) -> T:
        """``body`` as one transaction on the database thread.

        A progress index already taken (another process sharing the database
        wrote progress of this operation) is counted again in the database
        and the unit runs once more.
        """
        try:
            return await self._db.threaded.write(body)
        except IntegrityError:
            self._next_index.pop(op_id, None)
        except BaseException:
            self._next_index.pop(op_id, None)  # the cached index may be one too far
            raise
        try:
            return await self._db.threaded.write(body)
        except BaseException:
            self._next_index.pop(op_id, None)
            raise

    def _index(self, session: Session, op_id: str) -> int:
        """The index of the operation's next progress message (inside a unit of work)."""
        index = self._next_index.get(op_id)
        if index is None:
            index = store.next_progress_index(session, op_id)
        if op_id in self._tasks:
            self._next_index[op_id] = index + 1
        return index

    def _add_progress(
        self, session: Session, op: Operation, message: str, now: datetime
    ) -> tuple[Progress, bool]:
        progress = store.add_progress(session, op.id, self._index(session, op.id), message, now)
        queued = self._notifier.on_progress(session, op, progress) if self._notifier else False
        return progress, queued

    def _committed(self, change: _Change) -> None:
        """Tell watchers and the notifier about a committed change."""
        op, progress, queued = change
        self._live.publish(op, progress, running_here=op.id in self._tasks)
        if queued and self._notifier:
            self._notifier.after_commit()

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
        as_json = _as_json(request)
        fingerprint = _fingerprint(kind_name, target, request, as_json)
        request_id = request_id or uuid.uuid4().hex
        now = self._clock()
        # It starts at once: recorded RUNNING with its first progress message in
        # the same unit (PENDING is for operations that wait to run, e.g. after a
        # restart).
        row = store.new_row(
            id=uuid.uuid4().hex,
            kind=kind_name,
            target=target,
            state=State.RUNNING.value,
            caller=caller,
            request_id=request_id,
            request_hash=fingerprint,
            request_type=request.DESCRIPTOR.full_name,
            request=as_json,
            callback_url=callback_url,
            progress_url=progress_url,
            create_time=now,
            update_time=now,
        )
        op = self._domain(row)

        def record(session: Session) -> tuple[_Change | None, Operation | None]:
            if store.insert_new(session, row):
                started = store.add_progress(session, op.id, 0, "started", now)
                queued = bool(self._notifier and self._notifier.on_progress(session, op, started))
                return (op, [started], queued), None
            existing = store.by_request_id(session, request_id)
            if existing is None:  # pragma: no cover - the row that was in the way is there
                raise RuntimeError(f"request_id {request_id!r} is taken but not found")
            if existing["request_hash"] != fingerprint:
                raise request_id_reused(
                    request_id, f"operations/{existing['id']}", existing["kind"]
                )
            return None, self._domain(existing, store.progress_of(session, existing["id"]))

        change, recorded = await self._db.threaded.write(record)
        if recorded is not None:
            return recorded, False
        assert change is not None
        log.info("operation accepted", caller=caller, **summary(op))
        self._launch(op.id, kind, request, resumed=False, started=op)
        self._next_index[op.id] = 1
        self._live.begin(op)
        self._committed(change)
        return replace(op, progress=change[1]), True

    def _launch(
        self,
        op_id: str,
        kind: OperationKind,
        request: Message,
        resumed: bool,
        started: Operation | None = None,
    ) -> None:
        """Run an operation: ``started`` when it was recorded RUNNING already."""
        task = asyncio.create_task(
            self._execute(op_id, kind, request, resumed, started), name=op_id
        )
        self._tasks[op_id] = task
        task.add_done_callback(lambda _t: self._forget(op_id))

    def _forget(self, op_id: str) -> None:
        self._tasks.pop(op_id, None)
        self._cancelled_by.pop(op_id, None)
        self._next_index.pop(op_id, None)
        self._live.forget(op_id)

    # --- running ---------------------------------------------------------------
    async def _execute(
        self,
        op_id: str,
        kind: OperationKind,
        request: Message,
        resumed: bool,
        started: Operation | None,
    ) -> None:
        try:
            if started is None:
                started = await self._start_running(op_id, resumed)
            if started is None:
                return  # cancelled or failed before it could run
            result = await kind.run(OperationContext(self, started, request, resumed))
            # TypeError when it is not an Operation result type.
            encoded = store.result_to_json(result) if result is not None else None
            # Inside the try: a cancel landing before the result is written ends it CANCELLED.
            await self._finish(op_id, State.SUCCEEDED, result=encoded)
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
        text = "resumed after a restart" if resumed else "started"

        def start(session: Session) -> _Change | None:
            now = self._clock()
            row = store.start(session, op_id, now)
            if row is None:
                return None  # it ended meanwhile (cancelled, or failed by another process)
            op = self._domain(row)
            progress, queued = self._add_progress(session, op, text, now)
            return op, [progress], queued

        change = await self._write(op_id, start)
        if change is None:
            self._live.notify(op_id)
            return None
        self._committed(change)
        return change[0]

    async def _progress(self, op_id: str, message: str) -> None:
        def report(session: Session) -> _Change | None:
            now = self._clock()
            row = store.touch(session, op_id, now)
            if row is None:
                return None
            op = self._domain(row)
            progress, queued = self._add_progress(session, op, message, now)
            return op, [progress], queued

        change = await self._write(op_id, report)
        if change is not None:
            self._committed(change)

    def _end(
        self,
        session: Session,
        op_id: str,
        state: State,
        *,
        result: store.EncodedResult | None = None,
        error: OperationError | None = None,
    ) -> _Change | None:
        """End a live operation in ``state`` (inside a unit of work); None if it had ended."""
        from_states = [s.value for s in LIVE if state in TRANSITIONS[s]]
        now = self._clock()
        row = store.end(session, op_id, from_states, state, now, result=result, error=error)
        if row is None:
            return None
        op = self._domain(row)
        text = {
            State.SUCCEEDED: "succeeded",
            State.FAILED: f"failed: {error.message if error else 'unknown error'}",
            State.CANCELLED: "cancelled",
        }[state]
        last, queued = self._add_progress(session, op, text, now)
        if self._notifier:
            # The end callback carries every progress message.
            full = (
                replace(op, progress=store.progress_of(session, op_id)) if op.callback_url else op
            )
            queued = self._notifier.on_end(session, full) or queued
        return op, [last], queued

    async def _finish(
        self,
        op_id: str,
        state: State,
        *,
        result: store.EncodedResult | None = None,
        error: OperationError | None = None,
    ) -> None:
        def finish(session: Session) -> _Change | None:
            return self._end(session, op_id, state, result=result, error=error)

        change = await self._write(op_id, finish)
        if change is None:
            self._live.notify(op_id)  # watchers look in the database
            return
        log.info("operation ended", **summary(change[0]), reason=error.reason if error else None)
        self._committed(change)

    # --- reading -----------------------------------------------------------------
    def _domain(self, row: store.RowData, progress: Sequence[Progress] = ()) -> Operation:
        kind = self._kinds.get(row["kind"])
        running = row["state"] == State.RUNNING.value
        cancellable = kind is not None and (kind.cancellable or not running)
        return store.to_domain(row, progress, cancellable=cancellable)

    async def get(self, op_id: str, *, progress_from: int = 0, inline: bool = False) -> Operation:
        """The operation and its progress from ``progress_from``.

        ``inline`` reads on the event loop's thread (SQLite; see
        ``ThreadedSessions.read``): for a caller that answers with it at once.
        """

        def read(session: Session) -> Operation:
            row = store.get(session, op_id)
            if row is None:
                raise not_found("operation", f"operations/{op_id}")
            return self._domain(row, store.progress_of(session, op_id, progress_from))

        return await self._db.threaded.read(read, inline=inline)

    async def list(
        self, flt: ListFilter, *, page_size: int, page_token: str = "", include_progress: bool
    ) -> Page:
        key = store.filter_key(flt)
        after = store.decode_page_token(page_token, key) if page_token else None

        def read(session: Session) -> tuple[list[Operation], str]:
            rows, more = store.list_page(session, flt, page_size, after)
            ops = [
                self._domain(row, store.progress_of(session, row["id"]) if include_progress else ())
                for row in rows
            ]
            return ops, store.encode_page_token(rows[-1], key) if more and rows else ""

        ops, token = await self._db.threaded.read(read)
        return Page(ops, token)

    def watch(self, op_id: str, from_index: int = 0) -> AsyncIterator[WatchEvent]:
        """The operation (first), its progress from ``from_index``, state changes, the end.

        The first look is in the database; what follows comes from this
        process's memory while the operation runs here, and from the
        database otherwise (see :mod:`gateway.operations.watching`).
        """
        return follow(self._live, self._read_from, op_id, from_index, WATCH_POLL_SECONDS)

    async def _read_from(self, op_id: str, progress_from: int) -> Operation:
        return await self.get(op_id, progress_from=progress_from)

    # --- cancelling ----------------------------------------------------------------
    async def cancel(self, op_id: str, caller: str) -> Operation:
        name = f"operations/{op_id}"

        def ask(session: Session) -> tuple[_Change, bool]:
            row = store.get(session, op_id, lock=True)
            if row is None:
                raise not_found("operation", name)
            state = State(row["state"])
            if state.ended:
                raise failed_precondition(
                    "OPERATION_ENDED",
                    f"{name} already ended ({state}); it cannot be cancelled",
                    operation=name,
                    state=state.value.upper(),
                )
            kind = self._kinds.get(row["kind"])
            if state == State.RUNNING and (kind is None or not kind.cancellable):
                raise failed_precondition(
                    "NOT_CANCELLABLE",
                    f"{name} ({row['kind']}) cannot be stopped once running",
                    operation=name,
                    kind=row["kind"],
                )
            added: list[Progress] = []
            queued = False
            op = self._domain(row)
            if not row["cancel_requested"]:
                now = self._clock()
                asked = store.ask_cancel(session, op_id, now)
                assert asked is not None  # locked, and not ended
                op = self._domain(asked)
                progress, queued = self._add_progress(
                    session, op, f"cancel requested by {caller}", now
                )
                added.append(progress)
            ended = False
            if state == State.PENDING:
                change = self._end(
                    session, op_id, State.CANCELLED, error=cancelled_by_caller(caller)
                )
                if change is not None:
                    op, more, also = change
                    added += more
                    queued, ended = queued or also, True
            op = replace(op, progress=store.progress_of(session, op_id))
            return (op, added, queued), ended

        change, ended = await self._write(op_id, ask)
        if ended:
            log.info("operation ended", **summary(change[0]), reason="CANCELLED_BY_CALLER")
        self._committed(change)
        task = self._tasks.get(op_id)
        if task is not None and op_id not in self._cancelled_by:
            self._cancelled_by[op_id] = caller
            task.cancel()
        return change[0]

    async def purge(self, retention: timedelta) -> int:
        """Forget operations that ended more than ``retention`` ago; how many went."""
        cutoff = self._clock() - retention
        count = await self._db.threaded.write(lambda s: store.purge_ended_before(s, cutoff))
        if count:
            log.info("ended operations purged", count=count, older_than=str(retention))
        return count

    async def wait(self, op_id: str) -> Operation:
        """The operation once it has ended.

        One that runs in this process is waited for in memory and read once,
        when it has ended; any other is followed as a watcher follows it.
        """
        with self._live.watching(op_id):
            while True:
                changed = self._live.changed(op_id)  # taken before looking
                if self._live.get(op_id) is None:  # ended, or not run here
                    break
                await changed.wait()
        op = await self.get(op_id, inline=True)
        if op.ended:
            return op
        async for event in self.watch(op_id):
            if isinstance(event, Operation) and event.ended:
                return await self.get(op_id)
        raise AssertionError("watch ended before the operation")  # pragma: no cover
