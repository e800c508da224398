"""Blocking units of work on the state database, each run whole on a worker thread.

Through SQLAlchemy's asyncio layer every statement (and BEGIN, COMMIT, each
fetch) is a round trip to the driver's thread; a transaction of a dozen
statements costs a few hundred thread hops, which on a small machine is
milliseconds of CPU.  A unit of work that runs as plain synchronous
SQLAlchemy on a thread of its own costs one hop in all.

One :class:`ThreadedSessions` serves every part of the process (the agent,
the operations engine, the outbox ...), so on SQLite there is one writer:

- writes run in order on a single thread with a single connection, so they
  queue in the order they were asked for instead of meeting in SQLite's busy
  handler (which sleeps up to 100 ms between tries);
- reads run on a second thread with its own connection, on a WAL snapshot,
  so a long write never holds up a read.

On PostgreSQL a few threads each hold a connection, for reads and writes
alike, and row locks settle the races.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import READ_ONLY, sqlite_begin, sqlite_pragmas, sync_url

T = TypeVar("T")
POSTGRES_THREADS = 8


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
            event.listen(self.engine, "begin", sqlite_begin)
            self.write_executor: Executor = ThreadPoolExecutor(1, thread_name_prefix="db-write")
            self.read_executor: Executor = ThreadPoolExecutor(1, thread_name_prefix="db-read")
        else:
            self.engine = create_engine(
                target, pool_size=POSTGRES_THREADS, max_overflow=0, pool_pre_ping=True
            )
            shared = ThreadPoolExecutor(POSTGRES_THREADS, thread_name_prefix="db-unit")
            self.write_executor = self.read_executor = shared
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def write_now(self, body: Callable[[Session], T]) -> T:
        """``body`` in a transaction, on the calling thread (a write executor's)."""
        with self.sessions.begin() as session:
            return body(session)

    def read_now(self, body: Callable[[Session], T]) -> T:
        """``body`` in a read-only transaction, on the calling thread."""
        with self.sessions() as session:
            session.connection(execution_options={READ_ONLY: True})
            return body(session)

    async def write(self, body: Callable[[Session], T]) -> T:
        """``body`` in a transaction (committed if it returns, rolled back if it raises)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.write_executor, self.write_now, body)

    async def read(self, body: Callable[[Session], T]) -> T:
        """``body`` in a read-only transaction (on SQLite: a snapshot, no write lock)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.read_executor, self.read_now, body)

    def close(self) -> None:
        self.write_executor.shutdown(wait=True)
        self.read_executor.shutdown(wait=True)
        self.engine.dispose()
