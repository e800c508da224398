"""The requester's tables: one migration head, and the migrated schema matches the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from gateway.db import Base, Database, alembic_config
from gateway.requester import store


def test_the_migrations_have_exactly_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db"))
    assert len(script.get_heads()) == 1, script.get_heads()


async def test_the_migrated_schema_matches_the_requester_models(database: Database) -> None:
    tables = {store.ConnectionRow.__tablename__, store.RequestRow.__tablename__}

    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection)
        return [
            change
            for change in compare_metadata(context, Base.metadata)
            if any(table in repr(change) for table in tables)
        ]

    async with database.engine.connect() as connection:
        assert await connection.run_sync(diff) == []
