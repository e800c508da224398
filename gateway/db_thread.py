"""Blocking units of work on the state database, each run whole in one place.

Through SQLAlchemy's asyncio layer every statement (and BEGIN, COMMIT, each
fetch) is a round trip to the driver's thread; a transaction of a dozen
statements costs a few hundred thread hops, which on a small machine is
milliseconds of CPU.  A unit of work runs here as plain synchronous
SQLAlchemy, whole, on one thread.

One :class:`ThreadedSessions` serves every part of the process (the agent,
the operations engine, the outbox ...).  On SQLite there is one writer at a
time, and writes queue in the order they were asked for instead of meeting
in SQLite's busy handler (which sleeps up to 100 ms between tries):

- a write runs on the event loop's own thread, on a connection of its own,
  unless the unit waits for the event loop itself (``inline=False``): no
  hop to another thread and back, and no handing the interpreter lock back
  and forth at every statement, which under load made a unit take several
  times its own CPU time.  Writers take turns (:mod:`gateway.write_turn`):
  a unit asked for while a thread writes waits for its turn on the loop;
- a unit that waits for the loop (a backend call made inside the
  transaction) runs on the writer thread (one thread, one connection);
- the loop's connection takes the database's lock at once or not at all:
  when another process holds it (``nsgw stp add`` ...), the unit queues for
  the writer thread, which waits for it (``busy_timeout``) while the loop
  goes on.  Only then may a unit that was asked for later commit before it.
  The loop's connections are opened the same way: a database busy at that
  moment sends the unit to a thread;
- reads run on a thread of their own with their own connection, on a WAL
  snapshot, so a write never holds up a read; a small read may run on the
  event loop's thread instead (``inline``), on a read-only connection of its
  own: no hop to the reader thread, whose turn at the interpreter lock comes
  late when the loop is busy;
- the write-ahead log is copied into the database file on a thread of its
  own (:mod:`gateway.wal_checkpoints`), not by whichever commit fills it.

On PostgreSQL a few threads each hold a connection, for reads and writes
alike, and row locks settle the races.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import (
    READ_ONLY,
    sqlite_begin,
    sqlite_busy,
    sqlite_pragmas,
    sqlite_pragmas_never_wait,
    sync_url,
)
from gateway.wal_checkpoints import Checkpointer, no_autocheckpoint
from gateway.write_turn import WriteTurn

T = TypeVar("T")
POSTGRES_THREADS = 8


class _LockedElsewhere(Exception):
    """Another process holds the SQLite write lock."""


@contextlib.contextmanager
def _busy_means_locked_elsewhere() -> Iterator[None]:
    """On the loop's connection: a busy database sends the unit to the writer thread."""
    try:
        yield
    except OperationalError as exc:
        if sqlite_busy(exc.orig):
            raise _LockedElsewhere from None
        raise


def _reset(session: Session) -> None:
    """Make a session the next unit may take: its transaction ended (rolled back if
    still open), no objects or notes of the last unit left in it."""
    session.close()
    session.info.clear()


class ThreadedSessions:
    """A synchronous engine on a database and the threads that use it."""

    def __init__(self, url: str) -> None:
        target = sync_url(url)
        if target.get_backend_name() == "sqlite":
            # Two connections: one the writer thread keeps, one the reader's.
            self.engine: Engine = create_engine(
                target, connect_args={"check_same_thread": False}, pool_size=2, max_overflow=0
            )
            event.listen(self.engine, "connect", sqlite_pragmas)
            event.listen(self.engine, "connect", no_autocheckpoint)
            event.listen(self.engine, "begin", sqlite_begin)
            self.write_executor: Executor = ThreadPoolExecutor(1, thread_name_prefix="db-write")
            self.read_executor: Executor = ThreadPoolExecutor(1, thread_name_prefix="db-read")
            # The event loop's own writer connection, and the turn it shares with the thread.
            # (one connection writes, one reads)
            self._loop_engine: Engine | None = create_engine(
                target, connect_args={"check_same_thread": False}, pool_size=2, max_overflow=0
            )
            # (never waits for the lock: see write)
            event.listen(self._loop_engine, "connect", sqlite_pragmas_never_wait)
            event.listen(self._loop_engine, "connect", no_autocheckpoint)
            event.listen(self._loop_engine, "begin", sqlite_begin)
            self._turn: WriteTurn | None = WriteTurn()
            in_memory = target.database in (None, "", ":memory:")
            self.checkpointer = (
                None if in_memory else Checkpointer(str(target.database), write_turn=self._turn)
            )
        else:
            self.engine = create_engine(
                target, pool_size=POSTGRES_THREADS, max_overflow=0, pool_pre_ping=True
            )
            shared = ThreadPoolExecutor(POSTGRES_THREADS, thread_name_prefix="db-unit")
            self.write_executor = self.read_executor = shared
            self._loop_engine, self._turn = None, None
            self.checkpointer = None
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Kept open between units (no pool checkout and reset per unit), each with
        # one session that the units on the event loop take turns with: building
        # and closing a Session cost a third of an empty unit's time.
        self._loop_connection: Connection | None = None
        self._loop_reader: Connection | None = None
        self._loop_writing: Session | None = None
        self._loop_reading: Session | None = None

    def write_now(self, body: Callable[[Session], T]) -> T:
        """``body`` in a transaction, on the calling thread (a write executor's)."""
        with self._turn or contextlib.nullcontext():
            with self.sessions.begin() as session:
                result = body(session)
            self._written()
            return result

    def _write_here(self, body: Callable[[Session], T]) -> T:
        """``body`` in a transaction on the event loop's connection, if the lock is free now."""
        assert self._loop_engine is not None
        if (
            self._loop_writing is None
            or self._loop_connection is None
            or self._loop_connection.invalidated
        ):
            with _busy_means_locked_elsewhere():
                self._loop_connection = self._loop_engine.connect()
            self._loop_writing = Session(bind=self._loop_connection, expire_on_commit=False)
        session = self._loop_writing
        try:
            with session.begin():
                with _busy_means_locked_elsewhere():
                    session.connection()  # BEGIN IMMEDIATE, before the body runs
                result = body(session)
        finally:
            _reset(session)
        self._written()
        return result

    def _written(self) -> None:
        # (called by one writer at a time: each holds the write turn)
        if self.checkpointer is not None:
            self.checkpointer.written()

    def _read_here(self, body: Callable[[Session], T]) -> T:
        """``body`` in a read-only transaction on the event loop's reading connection."""
        assert self._loop_engine is not None
        if self._loop_reading is None or self._loop_reader is None or self._loop_reader.invalidated:
            self._loop_reader = self._loop_engine.connect().execution_options(
                **{READ_ONLY: True}  # a deferred BEGIN: a WAL snapshot, no lock
            )
            self._loop_reading = Session(bind=self._loop_reader, expire_on_commit=False)
        session = self._loop_reading
        try:
            return body(session)
        finally:
            _reset(session)

    def read_now(self, body: Callable[[Session], T]) -> T:
        """``body`` in a read-only transaction, on the calling thread."""
        with self.sessions() as session:
            session.connection(execution_options={READ_ONLY: True})
            return body(session)

    async def write(self, body: Callable[[Session], T], *, inline: bool = True) -> T:
        """``body`` in a transaction (committed if it returns, rolled back if it raises).

        ``inline=False`` for a body that waits for the event loop (it must not
        run on the loop's thread).
        """
        turn = self._turn
        if inline and turn is not None:
            await turn.taken()  # at once, unless a thread writes
            try:
                return self._write_here(body)
            except _LockedElsewhere:
                pass  # queue for the writer thread, which waits for the lock
            finally:
                turn.give_back()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.write_executor, self.write_now, body)

    async def read(self, body: Callable[[Session], T], *, inline: bool = False) -> T:
        """``body`` in a read-only transaction (on SQLite: a snapshot, no write lock).

        ``inline=True`` for a small read (a row or two): on SQLite it runs on the
        event loop's thread, unless the database is busy (a recovery under way).
        """
        if inline and self._loop_engine is not None:
            try:
                return self._read_here(body)
            except OperationalError as exc:
                if not sqlite_busy(exc.orig):
                    raise
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.read_executor, self.read_now, body)

    def close(self) -> None:
        self.write_executor.shutdown(wait=True)
        self.read_executor.shutdown(wait=True)
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()
        for connection in (self._loop_connection, self._loop_reader):
            if connection is not None:
                connection.close()
        self._loop_connection = self._loop_reader = None
        self._loop_writing = self._loop_reading = None
        if self._loop_engine is not None:
            self._loop_engine.dispose()
