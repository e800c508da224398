"""The audit log on SQLite and PostgreSQL: calls made together share a write, none is lost."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import OperationalError, ProgrammingError

from gateway.access.audit import AuditLog
from gateway.db import Database


async def test_records_made_at_the_same_time_are_all_written(database: Database) -> None:
    audit = AuditLog(database)
    await asyncio.gather(
        *(
            audit.record(
                caller=f"caller-{i}",
                method="/nsgw.v1.NsoDevices/CheckSync",
                code="OK",
                request_id=f"r-{i}",
                operation=f"operations/{i}",
            )
            for i in range(25)
        )
    )
    await audit.record(caller="late", method="/nsgw.v1.Operations/CancelOperation", code="OK")
    rows = await audit.recent(limit=100)
    assert len(rows) == 26
    assert rows[0].caller == "late"
    assert {(r.caller, r.request_id, r.operation) for r in rows[1:]} == {
        (f"caller-{i}", f"r-{i}", f"operations/{i}") for i in range(25)
    }


async def test_a_record_that_cannot_be_written_fails_its_callers(database_url: str) -> None:
    unmigrated = Database(database_url)  # no api_audit table
    try:
        audit = AuditLog(unmigrated)
        results = await asyncio.gather(
            *(audit.record(caller="c", method="/m", code="OK") for _ in range(3)),
            return_exceptions=True,
        )
        assert all(isinstance(r, OperationalError | ProgrammingError) for r in results)
    finally:
        await unmigrated.dispose()


async def test_a_long_request_id_is_cut_to_the_column(database: Database) -> None:
    audit = AuditLog(database)
    await audit.record(caller="c", method="/m", code="OK", request_id="x" * 500)
    [row] = await audit.recent()
    assert row.request_id == "x" * 128
