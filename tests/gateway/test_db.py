"""The state database helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text

from gateway.db import Database, UtcDateTime, async_url, sync_url


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


async def test_a_reader_does_not_wait_for_a_writer(database: Database) -> None:
    """A read-only session reads the last committed state while a writer holds its lock."""
    insert = text(
        "INSERT INTO outbox (channel, ordering_key, destination, payload, attributes, state,"
        " attempts, created_at, next_attempt_at)"
        " VALUES ('c', 'k', 'd', :payload, '{}', 'pending', 0, :now, :now)"
    )
    now = datetime(2026, 1, 1)
    count = text("SELECT count(*) FROM outbox")
    async with database.transaction() as writer:
        await writer.execute(insert, {"payload": b"x", "now": now})
        async with database.reading() as reader:
            seen = (await reader.execute(count)).scalar_one()
        assert seen == 0  # the writer has not committed yet
    async with database.reading() as reader:
        assert (await reader.execute(count)).scalar_one() == 1
