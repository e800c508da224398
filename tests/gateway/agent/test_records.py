"""The reservation record and the prebuilt statements match the table they read and write."""

from __future__ import annotations

from gateway.agent import records
from gateway.agent.tables import ReservationRow
from gateway.db import table_of


def test_the_record_has_exactly_the_columns_of_the_table() -> None:
    columns = [c.key for c in table_of(ReservationRow).columns]
    assert list(records.RECORD_FIELDS) == columns


def test_a_request_writes_back_its_states_but_never_the_identity() -> None:
    assert "connection_id" not in records.MUTABLE_FIELDS
    assert "created_at" not in records.MUTABLE_FIELDS
    for name in ("reservation_state", "notification_seq", "result_seq", "last_modified"):
        assert name in records.MUTABLE_FIELDS
