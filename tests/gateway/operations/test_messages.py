"""Domain values to protobuf: timestamps exactly as protobuf's own conversion makes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from google.protobuf import timestamp_pb2
from hypothesis import given
from hypothesis import strategies as st

from gateway.operations.messages import timestamp


def reference(when: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(when)
    return stamp


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]),
    )
)
def test_aware_datetimes_become_the_same_timestamp_as_from_datetime(when: datetime) -> None:
    assert timestamp(when) == reference(when)


def test_a_naive_datetime_is_taken_as_utc() -> None:
    naive = datetime(2026, 11, 30, 5, 18, 21, 123456)
    assert timestamp(naive) == reference(naive.replace(tzinfo=UTC))
    assert timestamp(naive).ToDatetime(tzinfo=UTC) == naive.replace(tzinfo=UTC)
