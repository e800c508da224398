"""The operations tables: the migrated schema is the models' schema; results round-trip."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from google.protobuf import struct_pb2

from gateway.access.audit import AuditRow
from gateway.db import Base, Database
from gateway.operations import store
from nsgw_proto.nsgw.v1 import nso_resources_pb2

OUR_TABLES = {"operations", "operation_progress", "api_audit"}


async def test_the_migrated_schema_matches_the_models(database: Database) -> None:
    assert AuditRow.__tablename__ in OUR_TABLES

    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection)  # type: ignore[arg-type]
        return list(compare_metadata(context, Base.metadata))

    async with database.engine.connect() as connection:
        changes = await connection.run_sync(diff)

    def ours(change: object) -> bool:
        text = repr(change)
        return any(name in text for name in OUR_TABLES)

    assert [c for c in changes if ours(c)] == []


def test_typed_results_round_trip_through_json() -> None:
    commit = nso_resources_pb2.CommitResult(
        rollback_id=10042,
        commit_queue_id="1700000000123",
        commit_queue_status=nso_resources_pb2.COMMIT_QUEUE_STATUS_COMPLETED,
        changed=True,
        devices=["pe1", "pe2"],
    )
    field, data = store.result_to_json(commit)
    assert field == "commit"
    assert store.result_from_json(field, data) == commit

    other = struct_pb2.Struct()
    other.update({"output": "ok"})
    assert store.result_from_json(*store.result_to_json(other)) == other


def test_a_message_that_is_not_a_result_type_is_refused() -> None:
    with pytest.raises(TypeError, match="not an Operation result type"):
        store.result_to_json(nso_resources_pb2.CommitParams(dry_run=True))
