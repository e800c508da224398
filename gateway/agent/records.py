"""A reservation's row as plain data, and the Core statements of the request path.

Every request that changes a connection reads its ``agent_reservation`` row,
changes it and writes it back in one transaction.  Through the ORM that is an
identity map, attribute instrumentation and a unit-of-work flush per request;
here it is one prebuilt SELECT into a :class:`ReservationRecord` and one
prebuilt UPDATE of it.  The statements are built once at import and run as
:class:`~gateway.prepared.Prepared` statements on the session's connection.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from gateway.agent.tables import (
    AllocationRow,
    CriteriaRow,
    NotificationRow,
    RequestRow,
    ReservationRow,
    ResultRow,
    TimerRow,
)
from gateway.db import one_of_two, table_of
from gateway.prepared import Prepared


@dataclass(slots=True)
class ReservationRecord:
    """One row of ``agent_reservation``, loaded and saved with Core statements."""

    connection_id: str
    global_reservation_id: str
    description: str
    requester_nsa: str
    reply_to: str
    reservation_state: str
    provision_state: str | None
    lifecycle_state: str
    data_plane_active: bool
    data_plane_version: int
    committed_version: int | None
    held_version: int | None
    notification_seq: int
    result_seq: int
    created_at: datetime
    last_modified: datetime

    def values(self) -> dict[str, Any]:
        """Column values by name (for INSERT)."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}

    def changes(self) -> dict[str, Any]:
        """What a request may change, keyed for :data:`UPDATE_RESERVATION`."""
        values = {name: getattr(self, name) for name in MUTABLE_FIELDS}
        values["key"] = self.connection_id
        return values


RECORD_FIELDS = tuple(f.name for f in fields(ReservationRecord))
# Set once at creation: the id, what the requester named, and when.
_FIXED = {"connection_id", "global_reservation_id", "description", "requester_nsa", "created_at"}
MUTABLE_FIELDS = tuple(name for name in RECORD_FIELDS if name not in _FIXED)

_reservation = table_of(ReservationRow)
_criteria = table_of(CriteriaRow)
_allocation = table_of(AllocationRow)
_timer = table_of(TimerRow)

_load_reservation = select(*(_reservation.c[name] for name in RECORD_FIELDS)).where(
    _reservation.c.connection_id == bindparam("connection_id")
)
LOAD_RESERVATION = Prepared(_load_reservation)
LOAD_RESERVATION_FOR_UPDATE = Prepared(_load_reservation.with_for_update())
INSERT_RESERVATION = Prepared(insert(_reservation))
# Executed with MUTABLE_FIELDS as parameters: SET exactly those columns.
UPDATE_RESERVATION = Prepared(
    update(_reservation).where(_reservation.c.connection_id == bindparam("key"))
)

# The committed and the held version (bound with one_of_two_params("version", ...)).
LOAD_VERSIONS = Prepared(
    select(_criteria).where(
        _criteria.c.connection_id == bindparam("connection_id"),
        one_of_two(_criteria.c.version, "version"),
    )
)
INSERT_CRITERIA = Prepared(insert(_criteria))
_criteria_key = (_criteria.c.connection_id == bindparam("key")) & (
    _criteria.c.version == bindparam("key_version")
)
# Executed with the criteria's column values as parameters (SET those columns).
UPDATE_CRITERIA = Prepared(update(_criteria).where(_criteria_key))
SET_CRITERIA_STATUS = Prepared(
    update(_criteria).where(_criteria_key).values(status=bindparam("new_status"))
)

INSERT_ALLOCATION = Prepared(insert(_allocation))
_of_connection = _allocation.c.connection_id == bindparam("connection_id")
RELEASE_ALL = Prepared(delete(_allocation).where(_of_connection))
RELEASE_VERSION = Prepared(
    delete(_allocation).where(_of_connection, _allocation.c.version == bindparam("version"))
)
RELEASE_OLDER = Prepared(
    delete(_allocation).where(_of_connection, _allocation.c.version < bindparam("version"))
)

INSERT_NOTIFICATION = Prepared(insert(table_of(NotificationRow)))
INSERT_RESULT = Prepared(insert(table_of(ResultRow)))
INSERT_REQUEST = Prepared(insert(table_of(RequestRow)))
_request = table_of(RequestRow)
LOGGED_REQUEST = Prepared(
    select(_request.c.payload_hash, _request.c.operation, _request.c.connection_id).where(
        _request.c.correlation_id == bindparam("correlation_id")
    )
)

INSERT_TIMER = Prepared(insert(_timer))
_timers_of = _timer.c.connection_id == bindparam("connection_id")
CANCEL_TIMERS = Prepared(delete(_timer).where(_timers_of))
# Run once per kind (execute_many).
CANCEL_TIMERS_OF_KIND = Prepared(
    delete(_timer).where(_timers_of, _timer.c.kind == bindparam("kind"))
)


def record_from(row: Any) -> ReservationRecord:
    """A record from a Core row of :data:`LOAD_RESERVATION`."""
    return ReservationRecord(*row)
