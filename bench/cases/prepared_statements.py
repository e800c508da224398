"""The agent's request-path statements: prepared (gateway.prepared) vs Connection.execute.

One op = what every agent request does to its connection's row: load it by
id and write its states back (LOAD_RESERVATION, UPDATE_RESERVATION), in one
transaction on a migrated SQLite database in a file.  Both loops run the same
statements on the same connection; the baseline hands them to SQLAlchemy's
``Connection.execute``, the measured loop runs them prepared.  Goal: at most
half the baseline's time (the reason the module exists).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Connection, create_engine

from bench.harness import Measurement, Result
from gateway.agent import records
from gateway.db import upgrade, utcnow

GOAL = 0.5


def _row(connection_id: str) -> records.ReservationRecord:
    now = utcnow()
    return records.ReservationRecord(
        connection_id=connection_id,
        global_reservation_id="",
        description="bench",
        requester_nsa="urn:ogf:network:peer.example.org:2025:nsa",
        reply_to="http://127.0.0.1:9/requester",
        reservation_state="ReserveStart",
        provision_state="Released",
        lifecycle_state="Created",
        data_plane_active=False,
        data_plane_version=0,
        committed_version=1,
        held_version=None,
        notification_seq=0,
        result_seq=1,
        created_at=now,
        last_modified=now,
    )


def _timed(label: str, count: int, op: Callable[[int], None]) -> Measurement:
    latencies = []
    started = time.perf_counter()
    for i in range(count):
        begun = time.perf_counter()
        op(i)
        latencies.append(time.perf_counter() - begun)
    return Measurement(label, count, time.perf_counter() - started, latencies)


async def run(quick: bool) -> list[Result]:
    count = 2_000 if quick else 20_000
    ids = [f"bench-{i}" for i in range(100)]
    with tempfile.TemporaryDirectory(prefix="nsgw-bench-prepared-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'state.db'}"
        upgrade(url)
        engine = create_engine(url)
        with engine.connect() as connection:
            with connection.begin():
                records.INSERT_RESERVATION.execute_many(
                    connection, [_row(cid).values() for cid in ids]
                )

            def through_execute(conn: Connection, i: int) -> None:
                load, save = records.LOAD_RESERVATION, records.UPDATE_RESERVATION
                found = conn.execute(load.statement, {"connection_id": ids[i % 100]}).one()
                row = replace(records.record_from(found), last_modified=utcnow())
                conn.execute(save.statement, row.changes())

            def prepared(conn: Connection, i: int) -> None:
                found = records.LOAD_RESERVATION.first(conn, {"connection_id": ids[i % 100]})
                row = replace(records.record_from(found), last_modified=utcnow())
                records.UPDATE_RESERVATION.execute(conn, row.changes())

            with connection.begin():
                baseline = _timed(
                    "Connection.execute", count, lambda i: through_execute(connection, i)
                )
                mine = _timed("prepared", count, lambda i: prepared(connection, i))
        engine.dispose()
    return [
        Result(
            "agent row load + write back: prepared vs Connection.execute",
            mine,
            baseline,
            "throughput",
            GOAL,
            note="SQLite file; the same two statements, same connection, one transaction",
        )
    ]
