"""Blocking units of work on the database's own thread, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gateway.db import Database
from gateway.outbox_store import OutboxRow

INSERT = text(
    "INSERT INTO outbox (channel, ordering_key, destination, payload, attributes, state,"
    " attempts, created_at, next_attempt_at)"
    " VALUES ('c', :key, 'd', :payload, '{}', 'pending', 0, '2026-01-01', '2026-01-01')"
)
COUNT = text("SELECT count(*) FROM outbox")


def write_row(session: Session) -> None:
    session.execute(INSERT, {"key": "k", "payload": b"x"})


def count(session: Session) -> int:
    return int(session.execute(COUNT).scalar_one())


def write_and_where(session: Session) -> str:
    write_row(session)
    return threading.current_thread().name


def count_and_where(session: Session) -> tuple[int, str]:
    return count(session), threading.current_thread().name


async def the_loop_runs_on() -> bool:
    """The event loop keeps running for a tenth of a second (nothing blocks it)."""
    ticks = 0
    for _ in range(10):
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks == 10


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[tuple[Database, Path]]:
    """A migrated SQLite database in a file (other connections open it as other processes)."""
    path = tmp_path / "state.db"
    db = Database(f"sqlite:///{path}")
    await db.migrate()
    yield db, path
    await db.dispose()


async def test_a_unit_commits_whole_or_not_at_all(database: Database) -> None:
    def write(session: Session) -> None:
        session.execute(INSERT, {"key": "a", "payload": b"x"})

    def write_then_fail(session: Session) -> None:
        session.execute(INSERT, {"key": "b", "payload": b"x"})
        raise RuntimeError("the unit fails after its insert")

    await database.threaded.write(write)
    with pytest.raises(RuntimeError):
        await database.threaded.write(write_then_fail)
    assert await database.threaded.read(count) == 1
    async with database.reading() as session:  # the asyncio side sees the same
        assert (await session.execute(COUNT)).scalar_one() == 1


async def test_a_unit_starts_with_nothing_of_the_one_before(database: Database) -> None:
    """Units on the event loop share one session: no objects, notes or open
    transaction of a unit (finished or failed) reach the next."""

    def load_and_note(session: Session) -> OutboxRow:
        session.execute(INSERT, {"key": "a", "payload": b"x"})
        session.info["note"] = "left by the first unit"
        return session.scalars(select(OutboxRow)).one()

    def fail_midway(session: Session) -> None:
        session.info["note"] = "left by a failed unit"
        session.execute(INSERT, {"key": "b", "payload": b"x"})
        raise RuntimeError("fails after its insert")

    def what_it_starts_with(session: Session) -> tuple[int, dict[str, object], int]:
        return len(session.identity_map), dict(session.info), count(session)

    loaded = await database.threaded.write(load_and_note)  # alive: the map holds it weakly
    assert loaded.ordering_key == "a"
    assert await database.threaded.write(what_it_starts_with) == (0, {}, 1)
    with pytest.raises(RuntimeError):
        await database.threaded.write(fail_midway)
    assert await database.threaded.write(what_it_starts_with) == (0, {}, 1)
    assert await database.threaded.read(what_it_starts_with, inline=True) == (0, {}, 1)


async def test_writes_run_in_the_order_they_were_asked_for(database: Database) -> None:
    def write(key: str) -> Callable[[Session], None]:
        def body(session: Session) -> None:
            session.execute(INSERT, {"key": key, "payload": b"x"})

        return body

    keys = [f"k{i:02d}" for i in range(20)]
    await asyncio.gather(*(database.threaded.write(write(key)) for key in keys))

    def stored(session: Session) -> list[str]:
        rows = session.execute(text("SELECT ordering_key FROM outbox ORDER BY id"))
        return [row[0] for row in rows]

    stored_keys = await database.threaded.read(stored)
    if database.backend == "sqlite":  # one writer thread: exactly the order asked
        assert stored_keys == keys
    else:  # several connections: all of them, in whatever order the locks allowed
        assert sorted(stored_keys) == keys


async def test_a_read_is_not_held_up_by_a_write_in_progress(database: Database) -> None:
    inside, release = threading.Event(), threading.Event()

    def slow_write(session: Session) -> None:
        session.execute(INSERT, {"key": "slow", "payload": b"x"})
        inside.set()
        release.wait(10)

    # a body that waits for something else says so: it must not run on the event loop
    writing = asyncio.create_task(database.threaded.write(slow_write, inline=False))
    await asyncio.to_thread(inside.wait, 10)
    try:
        # The write holds the lock and has not committed: the read sees the snapshot before it.
        assert await asyncio.wait_for(database.threaded.read(count), 5) == 0
    finally:
        release.set()
        await writing
    assert await database.threaded.read(count) == 1


async def test_a_write_runs_on_the_event_loop_unless_told_otherwise(tmp_path: Path) -> None:
    """SQLite: no hop to the writer thread when it is free; a body that waits gets one."""
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    await db.migrate()
    try:
        assert await db.threaded.write(write_and_where) == threading.current_thread().name
        assert (await db.threaded.write(write_and_where, inline=False)).startswith("db-write")
    finally:
        await db.dispose()


async def test_a_write_asked_for_while_the_writer_thread_writes_waits_for_it_on_the_loop(
    sqlite_file: tuple[Database, Path],
) -> None:
    """SQLite: it runs on the loop's thread once the thread is done, in the order asked,
    and a unit cancelled while it waits never runs."""
    db, _ = sqlite_file
    inside, leave = threading.Event(), threading.Event()

    def slow_write(session: Session) -> None:
        session.execute(INSERT, {"key": "slow", "payload": b"x"})
        inside.set()
        leave.wait(10)

    def write(key: str) -> Callable[[Session], str]:
        def body(session: Session) -> str:
            session.execute(INSERT, {"key": key, "payload": b"x"})
            return threading.current_thread().name

        return body

    def stored(session: Session) -> list[str]:
        return [
            row[0] for row in session.execute(text("SELECT ordering_key FROM outbox ORDER BY id"))
        ]

    slow = asyncio.create_task(db.threaded.write(slow_write, inline=False))
    await asyncio.to_thread(inside.wait, 10)
    waiting = [asyncio.create_task(db.threaded.write(write(key))) for key in ("a", "b", "c")]
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in waiting)
    waiting[1].cancel()
    leave.set()
    await slow
    assert await waiting[0] == await waiting[2] == threading.current_thread().name
    assert waiting[1].cancelled()
    assert await db.threaded.read(stored) == ["slow", "a", "c"]


async def test_a_small_read_runs_on_the_event_loop_and_never_waits_for_a_writer(
    sqlite_file: tuple[Database, Path],
) -> None:
    """SQLite: ``inline`` reads a snapshot on the loop's thread, even while the lock is held."""
    db, path = sqlite_file

    await db.threaded.write(write_row)
    other = sqlite3.connect(path, isolation_level=None)  # another process, mid-write
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "INSERT INTO outbox (channel, ordering_key, destination, payload, attributes, state,"
        " attempts, created_at, next_attempt_at) VALUES ('c', 'o', 'd', x'00', '{}',"
        " 'pending', 0, '2026-01-01', '2026-01-01')"
    )
    try:
        seen, thread = await asyncio.wait_for(db.threaded.read(count_and_where, inline=True), 5)
        assert thread == threading.current_thread().name
        assert seen == 1  # what was committed, not the other's row
        other.execute("COMMIT")
        seen, _ = await db.threaded.read(count_and_where, inline=True)
        assert seen == 2  # a new transaction, a new snapshot
        await db.threaded.write(write_row)  # the loop's writes are unaffected
        assert (await db.threaded.read(count_and_where))[0] == 3
    finally:
        other.close()


async def test_a_write_waits_off_the_event_loop_while_another_process_writes(
    sqlite_file: tuple[Database, Path],
) -> None:
    db, path = sqlite_file
    await db.threaded.write(write_row)  # the process is up and writing
    other = sqlite3.connect(path, isolation_level=None)  # say, `nsgw stp add` meanwhile
    other.execute("BEGIN IMMEDIATE")
    try:
        writing = asyncio.create_task(db.threaded.write(write_row))
        assert await the_loop_runs_on()
        assert not writing.done()
        other.execute("COMMIT")
        await asyncio.wait_for(writing, 10)
        assert await db.threaded.read(count) == 2
    finally:
        other.close()


async def test_the_event_loop_does_not_wait_for_a_busy_database_to_open_its_connections(
    sqlite_file: tuple[Database, Path],
) -> None:
    """SQLite: a database busy when the loop opens its connections (here another
    program holds the file whole) sends the units to threads; the loop runs on."""
    db, path = sqlite_file
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode=EXCLUSIVE")
    other.execute("SELECT count(*) FROM outbox").fetchone()  # holds the file from here on

    try:
        writing = asyncio.create_task(db.threaded.write(write_and_where))
        reading = asyncio.create_task(db.threaded.read(count_and_where, inline=True))
        assert await the_loop_runs_on()
        assert not writing.done()
        assert not reading.done()
    finally:
        other.close()
    assert (await asyncio.wait_for(writing, 10)).startswith("db-write")
    assert (await asyncio.wait_for(reading, 10))[1].startswith("db-read")
    # Free again: the next units open the loop's connections and run there.
    assert await db.threaded.write(write_and_where) == threading.current_thread().name
    assert await db.threaded.read(count_and_where, inline=True) == (
        2,
        threading.current_thread().name,
    )


async def test_the_log_reaches_the_database_file_in_the_background(tmp_path: Path) -> None:
    """SQLite: writers never checkpoint in their commit; a copy of the file alone has the rows."""
    path = tmp_path / "state.db"
    db = Database(f"sqlite:///{path}")
    await db.migrate()

    def write(session: Session) -> int:
        session.execute(INSERT, {"key": "k", "payload": b"x" * 2000})
        return int(session.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())

    def rows_in_copy() -> int | None:
        copy = tmp_path / "copy.db"  # the main file without its -wal: a naive file backup
        shutil.copyfile(path, copy)
        try:
            with contextlib.closing(sqlite3.connect(copy)) as connection:
                return int(connection.execute("SELECT count(*) FROM outbox").fetchone()[0])
        except sqlite3.DatabaseError:  # copied in the middle of a checkpoint
            return None
        finally:
            copy.unlink()

    try:
        inline = [await db.threaded.write(write) for _ in range(50)]
        threaded = [await db.threaded.write(write, inline=False) for _ in range(50)]
        assert set(inline) == set(threaded) == {0}  # no commit copies the log itself
        async with asyncio.timeout(10):
            while rows_in_copy() != 100:
                await asyncio.sleep(0.1)
    finally:
        await db.dispose()
