"""The state database: SQLAlchemy 2 (asyncio) on SQLite or PostgreSQL, migrated by Alembic.

SQLite is the embedded default (WAL journal, foreign keys on, writers
serialised with ``BEGIN IMMEDIATE`` so a read-then-write transaction cannot be
overtaken).  PostgreSQL is selected by a ``postgresql://`` URL.  Tables are
declared on :class:`Base`; the schema only changes through the migrations in
``gateway/migrations``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Dialect,
    MetaData,
    Table,
    TypeDecorator,
    bindparam,
    event,
    make_url,
)
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from gateway.prepared import run_driver_sql

if TYPE_CHECKING:
    from gateway.db_thread import ThreadedSessions

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def async_url(url: str) -> URL:
    """The URL with the asyncio driver of its backend (aiosqlite, psycopg)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")


def sync_url(url: str) -> URL:
    """The URL with the blocking driver of its backend (for Alembic)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")


# How long a new connection asks again for WAL mode while SQLite answers busy
# without waiting (seconds; see _wal_mode).
WAL_OPEN_PATIENCE = 5.0


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Connect hook of a connection that may block (a thread's): WAL, foreign keys on."""
    # busy_timeout first: the journal_mode pragma itself may meet another
    # connection's lock (e.g. migrations at start-up) and must wait for it.
    _set_pragmas(dbapi_connection, busy_timeout_ms=30000, patience=WAL_OPEN_PATIENCE)


def sqlite_pragmas_never_wait(dbapi_connection: Any, _record: Any) -> None:
    """Connect hook of a connection of the event loop, which must never block:
    a busy database raises at once (the caller hands its unit to a thread)."""
    _set_pragmas(dbapi_connection, busy_timeout_ms=0, patience=0.0)


def sqlite_busy(error: BaseException | None) -> bool:
    """The driver's error says busy (the lock held elsewhere, a recovery under way ...)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


def _set_pragmas(dbapi_connection: Any, *, busy_timeout_ms: int, patience: float) -> None:
    # Let SQLAlchemy's begin event issue BEGIN itself (see sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        _wal_mode(cursor, patience)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _wal_mode(cursor: Any, patience: float) -> None:
    """``PRAGMA journal_mode=WAL``, asked again while SQLite answers busy at once.

    SQLite does not call its busy handler everywhere: a connection that opens the
    database while another is building the log's index (the first to open it
    after the last one closed) or removing the log (the last one closing) is
    told "database is locked" at once.  Two threads of this process opening
    their connections at start-up met that about once in a hundred starts.
    """
    deadline = time.monotonic() + patience
    pause = 0.001
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if not sqlite_busy(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


# Execution option marking a connection that only reads (see Database.reading).
READ_ONLY = "nsgw_read_only"
# How long a writer of this process waits for its turn before leaving it to
# SQLite's own busy wait (the busy_timeout above).
WRITE_TURN_WAIT = 30.0


def sqlite_begin(connection: Any) -> None:
    # Writers take the lock at BEGIN: two read-then-write transactions cannot
    # both read the same free VLAN and then both write it.  A reader declared
    # read-only takes a deferred BEGIN: it reads a WAL snapshot and never waits
    # for, nor holds up, a writer.
    # (On the driver's cursor: SQLAlchemy's execution path costs more than the BEGIN.)
    read_only = connection.get_execution_options().get(READ_ONLY)
    run_driver_sql(connection, "BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    """An async engine and session factory for one state database."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        target = async_url(url)
        self.backend = target.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.backend == "sqlite":
            database = target.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(target, **kwargs)
        if self.backend == "sqlite":
            event.listen(self.engine.sync_engine, "connect", sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", sqlite_begin)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite: the writers of this process queue here for the write lock, in
        # order, instead of polling for it in SQLite's busy handler (which sleeps
        # up to 100 ms between tries while the lock may already be free).
        self._write_turn: asyncio.Lock | None = None
        self._write_turn_loop: asyncio.AbstractEventLoop | None = None
        self._read_sessions = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        self._threaded: ThreadedSessions | None = None

    @property
    def threaded(self) -> ThreadedSessions:
        """Blocking units of work on one thread of their own (one hop per unit)."""
        if self._threaded is None:
            from gateway.db_thread import ThreadedSessions  # noqa: PLC0415 (it imports this)

            self._threaded = ThreadedSessions(self.url)
        return self._threaded

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed when the block ends, rolled back on error."""
        if self.backend != "sqlite":
            async with self.sessions() as session, session.begin():
                yield session
            return
        turn = self._turn()
        mine = False
        try:
            # Not wait_for: it may acquire in a task of its own and lose the lock
            # when the caller is cancelled at that moment.
            async with asyncio.timeout(WRITE_TURN_WAIT):
                mine = await turn.acquire()
        except TimeoutError:
            pass  # e.g. a transaction opened inside another: SQLite's busy wait decides
        try:
            async with self.sessions() as session, session.begin():
                yield session
        finally:
            if mine:
                turn.release()

    def _turn(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._write_turn is None or self._write_turn_loop is not loop:
            self._write_turn, self._write_turn_loop = asyncio.Lock(), loop
        return self._write_turn

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only: a consistent snapshot that does not take the write lock.

        On SQLite it begins with a plain (deferred) BEGIN, so readers do not queue
        behind writers; never write through it (use :meth:`transaction`).  On
        PostgreSQL it is an ordinary session.
        """
        async with self._read_sessions() as session, session.begin():
            yield session

    async def migrate(self) -> None:
        """Bring the schema to the newest migration."""
        await asyncio.to_thread(upgrade, self.url)

    async def dispose(self) -> None:
        if self._threaded is not None:
            await asyncio.to_thread(self._threaded.close)
            self._threaded = None
        await self.engine.dispose()


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class (for statements that need no ORM objects)."""
    return cast(Table, model.__table__)


def one_of_two(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """``column IN (:<name>_1, :<name>_2)``, bound with :func:`one_of_two_params`.

    For a condition on one or two values in a statement built once: an
    expanding IN would be rendered anew on every call, this one stays cached.
    """
    return column.in_([bindparam(f"{name}_1"), bindparam(f"{name}_2")])


def one_of_two_params(name: str, values: Sequence[Any]) -> dict[str, Any]:
    """The parameters of :func:`one_of_two` for one value (given twice) or two."""
    if not 1 <= len(values) <= 2:
        raise ValueError(f"{name}: one or two values, not {list(values)}")
    return {f"{name}_1": values[0], f"{name}_2": values[-1]}


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sync_url(url).render_as_string(hide_password=False))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` (blocking)."""
    target = sync_url(url)
    if target.get_backend_name() == "sqlite" and target.database not in (None, "", ":memory:"):
        Path(str(target.database)).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, stored as naive UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC time is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
