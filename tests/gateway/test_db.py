"""The state database helpers."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import column, inspect, select, table, text

import gateway.db
from gateway.db import (
    Database,
    UtcDateTime,
    async_url,
    one_of_two,
    one_of_two_params,
    sqlite_pragmas,
    sqlite_pragmas_never_wait,
    sync_url,
)


def test_urls_get_the_driver_of_their_backend() -> None:
    assert async_url("sqlite:///var/x.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert sync_url("sqlite+aiosqlite:///x.db").drivername == "sqlite"
    with pytest.raises(ValueError, match="unsupported database backend 'mysql'"):
        async_url("mysql://u@h/db")


def test_utc_datetimes_are_stored_naive_and_read_back_aware() -> None:
    column = UtcDateTime()
    paris = timezone(timedelta(hours=1))
    stored = column.process_bind_param(datetime(2026, 1, 1, 13, 0, tzinfo=paris), None)  # type: ignore[arg-type]
    assert stored == datetime(2026, 1, 1, 12, 0)
    assert column.process_result_value(stored, None) == datetime(2026, 1, 1, 12, tzinfo=UTC)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(datetime(2026, 1, 1), None)  # type: ignore[arg-type]


async def test_migrations_create_the_schema_and_can_run_twice(database: Database) -> None:
    await database.migrate()
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert {"outbox", "alembic_version"} <= set(tables)


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/sub/dir/state.db")
    try:
        async with db.transaction() as session:
            mode = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
            keys = (await session.execute(text("PRAGMA foreign_keys"))).scalar_one()
    finally:
        await db.dispose()
    assert mode == "wal"
    assert keys == 1


class _Driver:
    """A driver connection whose journal_mode pragma SQLite answers with ``code``
    the first ``times`` times, as it does to a connection opened while another
    builds or removes the log (without calling its busy handler)."""

    def __init__(self, times: int, code: int = sqlite3.SQLITE_BUSY) -> None:
        self.isolation_level: str | None = ""
        self.statements: list[str] = []
        self._times = times
        self._code = code

    def cursor(self) -> _Driver:
        return self

    def execute(self, sql: str) -> None:
        self.statements.append(sql)
        if sql == "PRAGMA journal_mode=WAL" and self._times:
            self._times -= 1
            refusal = sqlite3.OperationalError("database is locked")
            refusal.sqlite_errorcode = self._code
            raise refusal

    def close(self) -> None:
        pass

    def asked(self, sql: str) -> int:
        return self.statements.count(sql)


def test_a_new_connection_asks_again_for_wal_mode_while_sqlite_answers_busy() -> None:
    driver = _Driver(times=3)
    sqlite_pragmas(driver, None)
    assert driver.asked("PRAGMA journal_mode=WAL") == 4
    assert driver.statements[-2:] == ["PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL"]
    assert driver.isolation_level is None


def test_a_connection_of_the_event_loop_is_refused_at_once_when_busy() -> None:
    driver = _Driver(times=1)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        sqlite_pragmas_never_wait(driver, None)
    assert driver.statements == ["PRAGMA busy_timeout=0", "PRAGMA journal_mode=WAL"]


def test_wal_mode_is_asked_for_only_as_long_as_the_patience_lasts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gateway.db, "WAL_OPEN_PATIENCE", 0.05)
    driver = _Driver(times=1_000_000)
    with pytest.raises(sqlite3.OperationalError):
        sqlite_pragmas(driver, None)
    assert 2 <= driver.asked("PRAGMA journal_mode=WAL") < 20


def test_an_error_other_than_busy_is_not_asked_again() -> None:
    driver = _Driver(times=1, code=sqlite3.SQLITE_IOERR)
    with pytest.raises(sqlite3.OperationalError):
        sqlite_pragmas(driver, None)
    assert driver.asked("PRAGMA journal_mode=WAL") == 1


async def test_a_read_only_session_reads_a_snapshot_while_a_writer_holds_the_lock(
    database: Database,
) -> None:
    async with database.transaction() as writer:
        await writer.execute(text("CREATE TABLE IF NOT EXISTS probe (n INTEGER)"))
    async with database.transaction() as writer:
        await writer.execute(text("INSERT INTO probe (n) VALUES (1)"))
        await writer.flush()
        # The writer still holds the write lock: the reader neither waits for it
        # nor sees its uncommitted row.
        async with database.reading() as reader:
            seen = (await reader.execute(text("SELECT count(*) FROM probe"))).scalar_one()
        assert seen == 0
    async with database.reading() as reader:
        assert (await reader.execute(text("SELECT count(*) FROM probe"))).scalar_one() == 1


async def test_writers_of_one_process_take_turns_and_a_cancelled_one_leaves_its_turn(
    database: Database,
) -> None:
    if database.backend != "sqlite":
        pytest.skip("the write turn is SQLite's (PostgreSQL writers do not queue for a lock)")
    async with database.transaction() as writer:
        await writer.execute(text("CREATE TABLE IF NOT EXISTS turns (n INTEGER)"))
    holding, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO turns (n) VALUES (1)"))
            holding.set()
            await release.wait()

    async def second() -> None:
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO turns (n) VALUES (2)"))

    holder = asyncio.create_task(first())
    await holding.wait()
    waiting = asyncio.create_task(second())
    await asyncio.sleep(0.05)  # let it queue behind the holder
    waiting.cancel()
    release.set()
    await holder
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    await second()  # would wait forever if the cancelled writer had kept its turn
    async with database.reading() as reader:
        rows = (await reader.execute(text("SELECT n FROM turns ORDER BY n"))).scalars().all()
    assert list(rows) == [1, 2]


async def test_one_of_two_matches_one_value_or_either_of_two(database: Database) -> None:
    outbox = table("outbox", column("ordering_key"))
    query = select(outbox.c.ordering_key).where(one_of_two(outbox.c.ordering_key, "key"))
    insert = text(
        "INSERT INTO outbox (channel, ordering_key, destination, payload, attributes, state,"
        " attempts, created_at, next_attempt_at)"
        " VALUES ('c', :key, 'd', :payload, '{}', 'pending', 0, '2026-01-01', '2026-01-01')"
    )
    async with database.transaction() as session:
        for key in ("a", "b", "c"):
            await session.execute(insert, {"key": key, "payload": b"x"})
    async with database.reading() as session:
        one = await session.execute(query, one_of_two_params("key", ["b"]))
        two = await session.execute(query, one_of_two_params("key", ("a", "c")))
        assert sorted(one.scalars()) == ["b"]
        assert sorted(two.scalars()) == ["a", "c"]
    for wrong in ([], ["a", "b", "c"]):
        with pytest.raises(ValueError, match="one or two values"):
            one_of_two_params("key", wrong)
