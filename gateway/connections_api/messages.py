"""Requester-side connection records -> ``nsgw.v1`` messages."""

from __future__ import annotations

from datetime import datetime

from gateway.operations.messages import timestamp
from gateway.requester import store
from gateway.requester.apply import Notice
from gateway.requester.states import Simple
from nsgw_proto.nsgw.v1 import connection_resources_pb2 as resources_pb2

PREFIX = "connections/"


def state_to_proto(state: str) -> resources_pb2.ConnectionState.ValueType:
    return resources_pb2.ConnectionState.Value(f"CONNECTION_STATE_{state.upper()}")


def state_from_proto(value: int) -> Simple:
    if value == resources_pb2.CONNECTION_STATE_UNSPECIFIED:
        raise ValueError("CONNECTION_STATE_UNSPECIFIED is not a state")
    # ValueError for an unknown number
    name = resources_pb2.ConnectionState.Name(value)  # type: ignore[arg-type]
    return Simple(name.removeprefix("CONNECTION_STATE_").lower())


def _stamp(when: datetime | None) -> object:
    return timestamp(when) if when is not None else None


def connection_to_proto(row: store.ConnectionRow) -> resources_pb2.Connection:
    message = resources_pb2.Connection(
        name=PREFIX + row.id,
        connection_id=row.connection_id or "",
        global_reservation_id=row.global_reservation_id,
        description=row.description,
        source_stp=row.source_stp,
        dest_stp=row.dest_stp,
        capacity_mbps=row.capacity_mbps,
        state=state_to_proto(row.state),
        nsi_states=resources_pb2.NsiStates(
            reservation_state=row.reservation_state,
            provision_state=row.provision_state,
            lifecycle_state=row.lifecycle_state,
            data_plane_active=row.data_plane_active,
            data_plane_version=row.data_plane_version,
            data_plane_version_consistent=row.data_plane_consistent,
        ),
        version=row.version,
        create_time=timestamp(row.create_time),
        update_time=timestamp(row.update_time),
        creator=row.creator,
        provider_nsa=row.provider_nsa,
        failure=row.failure,
    )
    if row.start_time is not None:
        message.schedule.start_time.CopyFrom(timestamp(row.start_time))
    if row.end_time is not None:
        message.schedule.end_time.CopyFrom(timestamp(row.end_time))
    return message


def event_to_proto(
    row: store.ConnectionRow, when: datetime, *, state_changed: bool, notice: Notice | None
) -> resources_pb2.ConnectionEvent:
    event = resources_pb2.ConnectionEvent(time=timestamp(when), connection=connection_to_proto(row))
    if notice is not None:
        event.notification.CopyFrom(
            resources_pb2.NsiNotification(
                notification_id=notice.notification_id, type=notice.type, text=notice.text
            )
        )
    elif state_changed:
        event.state_changed = state_to_proto(row.state)
    return event
