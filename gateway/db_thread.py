"""Blocking units of work on the state database, each run whole on one worker thread.

Through SQLAlchemy's asyncio layer every statement (and BEGIN, COMMIT,
fetching) is a round trip to the driver's thread.  A unit of work that runs
as plain synchronous SQLAlchemy on a thread of its own costs one hop in all.
The outbox uses this for its bookkeeping; the provider agent has its own
store thread(s) (gateway/agent/units.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import READ_ONLY, sqlite_begin, sqlite_pragmas, sync_url

T = TypeVar("T")


class ThreadedSessions:
    """A synchronous engine on a database and the one thread that uses it."""

    def __init__(self, url: str) -> None:
        target = sync_url(url)
        if target.get_backend_name() == "sqlite":
            self.engine: Engine = create_engine(
                target, connect_args={"check_same_thread": False}, pool_size=1, max_overflow=0
            )
            event.listen(self.engine, "connect", sqlite_pragmas)
            event.listen(self.engine, "begin", sqlite_begin)
        else:
            self.engine = create_engine(target, pool_size=1, max_overflow=1, pool_pre_ping=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="db-unit")

    def _write(self, body: Callable[[Session], T]) -> T:
        with self._sessions.begin() as session:
            return body(session)

    def _read(self, body: Callable[[Session], T]) -> T:
        with self._sessions() as session:
            session.connection(execution_options={READ_ONLY: True})
            return body(session)

    async def write(self, body: Callable[[Session], T]) -> T:
        """``body`` in a transaction (committed if it returns, rolled back if it raises)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._write, body)

    async def read(self, body: Callable[[Session], T]) -> T:
        """``body`` in a read-only transaction (on SQLite: no write lock)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._read, body)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()
