"""The SQLite write-ahead log is copied in the background and starts over, even under
writes that never pause."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gateway import wal_checkpoints
from gateway.db import Database

ROW_BYTES = 3000  # a row a little under a page
INSERT = text(
    "INSERT INTO outbox (channel, ordering_key, destination, payload, attributes, state,"
    " attempts, created_at, next_attempt_at)"
    " VALUES ('c', 'k', 'd', :payload, '{}', 'pending', 0, '2026-01-01', '2026-01-01')"
)


def write_row(session: Session) -> None:
    session.execute(INSERT, {"payload": b"x" * ROW_BYTES})


def log_file(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def times_started_over(path: Path) -> int:
    """The checkpoint sequence number in the log's header: one more at each new start."""
    return int.from_bytes(log_file(path).read_bytes()[12:16], "big")


@pytest.fixture
async def db_file(tmp_path: Path) -> AsyncIterator[tuple[Database, Path]]:
    path = tmp_path / "state.db"
    db = Database(f"sqlite:///{path}")
    await db.migrate()
    await db.threaded.write(write_row)  # the log exists
    yield db, path
    await db.dispose()


async def test_the_log_starts_over_while_writes_never_pause(
    db_file: tuple[Database, Path],
) -> None:
    """Without a moment when every page of the log is copied, it never starts over
    and its file grows as long as the writes go on."""
    db, path = db_file
    started_over = times_started_over(path)
    deadline = time.monotonic() + 3.0  # six checkpoint intervals
    while time.monotonic() < deadline:
        await db.threaded.write(write_row)  # back to back on the event loop
    assert times_started_over(path) >= started_over + 3


async def test_a_log_a_burst_made_large_is_cut_back_when_it_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 256 * 1024
    monkeypatch.setattr(wal_checkpoints, "LOG_SIZE_LIMIT", limit)
    path = tmp_path / "state.db"
    db = Database(f"sqlite:///{path}")
    await db.migrate()

    def burst(session: Session) -> None:
        for _ in range(700):
            write_row(session)

    try:
        await db.threaded.write(burst)
        assert log_file(path).stat().st_size > 2 * 1024 * 1024
        async with asyncio.timeout(10):
            while log_file(path).stat().st_size > limit:
                await asyncio.sleep(0.1)
                await db.threaded.write(write_row)  # a writer starts the log over
    finally:
        await db.dispose()
