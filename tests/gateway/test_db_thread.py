"""Blocking units of work on the database's own thread, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gateway.db import Database

INSERT = text(
    "INSERT INTO outbox (channel, ordering_key, destination, payload, attributes, state,"
    " attempts, created_at, next_attempt_at)"
    " VALUES ('c', :key, 'd', :payload, '{}', 'pending', 0, '2026-01-01', '2026-01-01')"
)
COUNT = text("SELECT count(*) FROM outbox")


async def test_a_unit_commits_whole_or_not_at_all(database: Database) -> None:
    def write(session: Session) -> None:
        session.execute(INSERT, {"key": "a", "payload": b"x"})

    def write_then_fail(session: Session) -> None:
        session.execute(INSERT, {"key": "b", "payload": b"x"})
        raise RuntimeError("the unit fails after its insert")

    def count(session: Session) -> int:
        return int(session.execute(COUNT).scalar_one())

    await database.threaded.write(write)
    with pytest.raises(RuntimeError):
        await database.threaded.write(write_then_fail)
    assert await database.threaded.read(count) == 1
    async with database.reading() as session:  # the asyncio side sees the same
        assert (await session.execute(COUNT)).scalar_one() == 1
