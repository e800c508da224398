"""Units of work on the state database, each run whole on a worker thread.

Through SQLAlchemy's asyncio layer every statement is a round trip to a
driver thread (for aiosqlite about as costly as a whole gRPC call on a small
machine).  The agent's requests are a dozen statements each, so they run as
plain synchronous SQLAlchemy on a thread of their own: one hop per request.
On SQLite one thread (the database has one writer anyway; requests queue in
order instead of spinning in the busy handler); on PostgreSQL a few, each
with its own connection, and row locks settle the races.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import READ_ONLY, Database, sqlite_begin, sqlite_pragmas, sync_url

T = TypeVar("T")
POSTGRES_THREADS = 8


class StoreUnits:
    """A synchronous engine on the same database, and the thread(s) that use it."""

    def __init__(self, db: Database) -> None:
        url = sync_url(db.url)
        if db.backend == "sqlite":
            self.engine: Engine = create_engine(
                url, connect_args={"check_same_thread": False}, pool_size=1, max_overflow=0
            )
            event.listen(self.engine, "connect", sqlite_pragmas)
            event.listen(self.engine, "begin", sqlite_begin)
            threads = 1
        else:
            threads = POSTGRES_THREADS
            self.engine = create_engine(url, pool_size=threads, max_overflow=0, pool_pre_ping=True)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="agent-store")

    def write(self, body: Callable[[Session], T]) -> T:
        """``body`` in a transaction: committed when it returns, rolled back if it raises."""
        with self.sessions.begin() as session:
            return body(session)

    def read(self, body: Callable[[Session], T]) -> T:
        with self.sessions() as session:
            session.connection(execution_options={READ_ONLY: True})
            return body(session)

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.engine.dispose()
