"""The migrations form one line of history, and keep the data they move."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, text

from gateway.db import alembic_config, upgrade


def test_there_is_exactly_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()
    assert len(script.get_bases()) == 1


def _insert_message(connection: Connection, row_id: int | None = None) -> int:
    values = {
        "channel": "cb",
        "ordering_key": "k",
        "destination": "http://127.0.0.1:1/",
        "payload": b"x",
        "attributes": "{}",
        "state": "pending",
        "attempts": 0,
        "created_at": "2026-12-01 00:00:00",
        "next_attempt_at": "2026-12-01 00:00:00",
    }
    if row_id is not None:
        values["id"] = row_id
    columns = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    sql = text(f"INSERT INTO outbox ({columns}) VALUES ({marks}) RETURNING id")
    return int(connection.execute(sql, values).scalar_one())


def test_upgrading_a_sqlite_database_keeps_its_messages_and_never_gives_an_id_twice(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    upgrade(url, "0300_nso_backend")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for row_id in (1, 2, 7):
                _insert_message(connection, row_id)
            connection.execute(text("DELETE FROM outbox WHERE id < 7"))
        upgrade(url)
        with engine.begin() as connection:
            assert connection.execute(text("SELECT id, payload FROM outbox")).all() == [(7, b"x")]
            connection.execute(text("DELETE FROM outbox"))
            # Empty again: the next id still follows the largest ever given.
            assert _insert_message(connection) == 8
            indexes = {index["name"] for index in inspect(connection).get_indexes("outbox")}
        assert "ix_outbox_state_channel_key_id" in indexes
        command.downgrade(alembic_config(url), "0300_nso_backend")
        with engine.begin() as connection:
            assert connection.execute(text("SELECT id FROM outbox")).scalars().all() == [8]
    finally:
        engine.dispose()
