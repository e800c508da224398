"""Applying what a provider tells us to a requester-side connection record.

Each function changes the row (and the request row, for results) in memory;
the caller holds the transaction.  They return an NSI notification in words
when there is one to show to watchers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.nsi_soap.requester_bodies import camel
from gateway.requester import store
from gateway.requester.states import FAILURES, SENDING_STATES, simple_state
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2

# The state a machine returns to when the request that moved it failed.
_BEFORE: dict[str, str] = {
    "ReserveChecking": "ReserveStart",
    "ReserveCommitting": "ReserveHeld",
    "ReserveAborting": "ReserveHeld",
    "Provisioning": "Released",
    "Releasing": "Provisioned",
    "Terminating": "Created",
}


@dataclass(frozen=True)
class Notice:
    """An NSI notification in words, for WatchConnection."""

    notification_id: int
    type: str
    text: str


def exception_text(exception: common_pb2.ServiceException) -> str:
    text = f"{exception.error_id} {exception.text}".strip()
    return text or "no serviceException given"


def mark_sending(conn: store.ConnectionRow, operation: str) -> None:
    machine = SENDING_STATES.get(operation)
    if machine is not None:
        setattr(conn, machine[0], machine[1])


def undo_sending(conn: store.ConnectionRow, operation: str) -> None:
    machine = SENDING_STATES.get(operation)
    if machine is not None and getattr(conn, machine[0]) == machine[1]:
        setattr(conn, machine[0], _BEFORE[machine[1]])


def set_states(conn: store.ConnectionRow, states: common_pb2.ConnectionStates) -> None:
    conn.reservation_state = camel(common_pb2.ReservationState.Name(states.reservation_state))
    conn.provision_state = camel(common_pb2.ProvisionState.Name(states.provision_state))
    conn.lifecycle_state = camel(common_pb2.LifecycleState.Name(states.lifecycle_state))
    status = states.data_plane_status
    conn.data_plane_active = status.active
    conn.data_plane_version = status.version
    conn.data_plane_consistent = status.version_consistent


def _confirmed_service(conn: store.ConnectionRow, criteria: Any) -> None:
    """The provider's view of the criteria (e.g. the single VLAN it chose)."""
    if criteria.HasField("ptps"):
        ptps = criteria.ptps
        values: dict[str, Any] = {"version": criteria.version}
        if ptps.source_stp:
            values["source_stp"] = ptps.source_stp
        if ptps.dest_stp:
            values["dest_stp"] = ptps.dest_stp
        if ptps.capacity:
            values["capacity_mbps"] = ptps.capacity
        pending = dict(conn.pending or {})
        pending.update(values)
        conn.pending = pending


def _commit_pending(conn: store.ConnectionRow) -> None:
    pending = conn.pending or {}
    for key in ("source_stp", "dest_stp", "capacity_mbps", "description", "version"):
        if key in pending:
            setattr(conn, key, pending[key])
    for key in ("start_time", "end_time"):
        if key in pending:
            value = pending[key]
            setattr(conn, key, datetime.fromisoformat(value) if value else None)
    conn.pending = None


def apply_result(  # noqa: PLR0912 (one branch per NSI result)
    conn: store.ConnectionRow, request: store.RequestRow, operation: str, message: Any
) -> None:
    """A confirmed/failed/error result of ``request``."""
    if operation == "reserveConfirmed":
        if not conn.connection_id:
            conn.connection_id = message.connection_id
        conn.reservation_state = "ReserveHeld"
        _confirmed_service(conn, message.criteria)
    elif operation in ("reserveFailed", "reserveCommitFailed"):
        set_states(conn, message.connection_states)
        if operation == "reserveFailed" and not conn.committed:
            conn.failure = f"reservation failed: {exception_text(message.service_exception)}"
        if conn.committed:
            conn.pending = None
    elif operation == "reserveCommitConfirmed":
        conn.reservation_state = "ReserveStart"
        conn.committed = True
        _commit_pending(conn)
    elif operation == "reserveAbortConfirmed":
        conn.reservation_state = "ReserveStart"
        conn.pending = None
    elif operation == "provisionConfirmed":
        conn.provision_state = "Provisioned"
        conn.was_provisioned = True
    elif operation == "releaseConfirmed":
        conn.provision_state = "Released"
    elif operation == "terminateConfirmed":
        conn.lifecycle_state = "Terminated"
    elif operation == "error":
        undo_sending(conn, request.operation)
        if request.operation == "reserve" and not conn.committed:
            conn.failure = f"reservation failed: {exception_text(message.service_exception)}"
    if operation in FAILURES:
        request.state = store.FAILED
        request.error_id = message.service_exception.error_id
        request.error_text = exception_text(message.service_exception)
    elif request.state != store.FAILED:
        request.state = store.CONFIRMED
    request.outcome = operation
    conn.state = simple_state(conn).value


_EVENTS = {
    common_pb2.ACTIVATE_FAILED: "activateFailed",
    common_pb2.DEACTIVATE_FAILED: "deactivateFailed",
    common_pb2.DATAPLANE_ERROR: "dataplaneError",
    common_pb2.FORCED_END: "forcedEnd",
}


def apply_notification(conn: store.ConnectionRow, operation: str, message: Any) -> Notice | None:
    """errorEvent, reserveTimeout, dataPlaneStateChange, messageDeliveryTimeout."""
    notification = message.notification
    if notification.notification_id and notification.notification_id <= conn.last_notification_id:
        return None  # seen before (a duplicate, or replayed by a query)
    conn.last_notification_id = max(conn.last_notification_id, notification.notification_id)
    text = ""
    if operation == "reserveTimeout":
        conn.reservation_state = "ReserveTimeout"
        text = f"the reservation was not committed within {message.timeout_value}s"
        if not conn.committed:
            conn.failure = f"reserve timeout: {text}"
        conn.pending = None
    elif operation == "errorEvent":
        event = _EVENTS.get(message.event, "errorEvent")
        detail = (
            exception_text(message.service_exception)
            if message.HasField("service_exception")
            else ""
        )
        text = f"{event}{': ' + detail if detail else ''}"
        if message.event == common_pb2.FORCED_END:
            conn.lifecycle_state = "Failed"
        conn.failure = text
    elif operation == "dataPlaneStateChange":
        status = message.data_plane_status
        conn.data_plane_active = status.active
        conn.data_plane_version = status.version
        conn.data_plane_consistent = status.version_consistent
        text = f"data plane {'active' if status.active else 'inactive'} (version {status.version})"
    elif operation == "messageDeliveryTimeout":
        text = f"the provider could not deliver the message of {message.correlation_id} to us"
    conn.state = simple_state(conn).value
    return Notice(notification.notification_id, operation, text)


def apply_summary(conn: store.ConnectionRow, result: requester_pb2.QueryResult) -> None:
    """The provider's summary of the connection: its states are the truth."""
    set_states(conn, result.connection_states)
    if result.criteria and conn.reservation_state == "ReserveStart":
        # Criteria at rest in ReserveStart are committed ones.
        newest = max(result.criteria, key=lambda c: c.version)
        if not conn.committed or newest.version > conn.version:
            conn.committed = True
            if conn.pending and conn.pending.get("version", newest.version) <= newest.version:
                _commit_pending(conn)
            conn.version = newest.version
            if newest.HasField("ptps") and newest.ptps.capacity:
                conn.capacity_mbps = newest.ptps.capacity
    if conn.provision_state == "Provisioned":
        conn.was_provisioned = True
    conn.state = simple_state(conn).value


NOTIFICATION_FIELDS = (
    ("error_event", "errorEvent"),
    ("reserve_timeout", "reserveTimeout"),
    ("data_plane_state_change", "dataPlaneStateChange"),
    ("message_delivery_timeout", "messageDeliveryTimeout"),
)

RESULT_FIELDS = {
    "reserve_confirmed": "reserveConfirmed",
    "reserve_failed": "reserveFailed",
    "reserve_commit_confirmed": "reserveCommitConfirmed",
    "reserve_commit_failed": "reserveCommitFailed",
    "reserve_abort_confirmed": "reserveAbortConfirmed",
    "provision_confirmed": "provisionConfirmed",
    "release_confirmed": "releaseConfirmed",
    "terminate_confirmed": "terminateConfirmed",
    "error": "error",
}
