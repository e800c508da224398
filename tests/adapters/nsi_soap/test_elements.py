"""Small XML helpers: dateTime values as NSI peers write and read them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from lxml import etree

from adapters.nsi_soap.elements import format_datetime, parse_datetime
from adapters.nsi_soap.faults import NsiError

# xsd:dateTime as the schemas' peers write it: a year of at least four digits.
XSD_DATETIME = re.compile(r"-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def stamp(moment: datetime) -> Timestamp:
    result = Timestamp()
    result.FromDatetime(moment)
    return result


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 12, 1, 10, 0, tzinfo=UTC), "2026-12-01T10:00:00Z"),
        (datetime(2026, 12, 1, 10, 0, 0, 120000, tzinfo=UTC), "2026-12-01T10:00:00.120000Z"),
        (datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), "1969-12-31T23:59:59Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
        (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "9999-12-31T23:59:59.999999Z"),
    ],
)
def test_a_time_is_written_as_xsd_datetime_in_utc(moment: datetime, text: str) -> None:
    written = format_datetime(stamp(moment))
    assert written == text
    assert XSD_DATETIME.fullmatch(written)


def test_a_written_time_reads_back_as_the_same_instant() -> None:
    original = stamp(datetime(2026, 12, 1, 10, 0, 0, 250000, tzinfo=UTC))
    element = etree.Element("startTime")
    element.text = format_datetime(original)
    assert parse_datetime(element) == original


def test_an_offset_is_read_as_the_instant_it_names() -> None:
    element = etree.Element("endTime")
    element.text = "2026-12-01T12:00:00+02:00"
    assert parse_datetime(element) == stamp(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))


def test_a_time_without_zone_is_refused_naming_the_element() -> None:
    element = etree.Element("endTime")
    element.text = "2026-12-01T12:00:00"
    with pytest.raises(NsiError) as refused:
        parse_datetime(element)
    assert refused.value.error_id == "00100"
    assert "endTime" in str(refused.value)
