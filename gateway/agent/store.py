"""The provider agent's queries on its tables (synchronous SQLAlchemy 2, both backends).

Allocations are kept only while they count: rows of versions that were
aborted, timed out, replaced by a commit, or of connections that ended are
deleted, and the overlap query looks only at the requested ports' rows that
end after the window starts (indexed), so confirming a reservation does not
slow down as history grows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.orm import Session

from gateway.agent import records as sql
from gateway.agent.domain.allocation import FOREVER, Usage
from gateway.agent.domain.reservation import Criteria, Reservation
from gateway.agent.domain.states import (
    DataPlaneState,
    LifecycleState,
    ProvisionState,
    ReservationState,
)
from gateway.agent.domain.stp import VlanRanges
from gateway.agent.domain.timers import Timer, TimerKind
from gateway.agent.domain.topology import Port
from gateway.agent.records import ReservationRecord
from gateway.agent.tables import (
    AllocationRow,
    CriteriaRow,
    NotificationRow,
    RequestRow,
    ReservationRow,
    ResultRow,
    StpRow,
    TimerRow,
)
from gateway.db import one_of_two, one_of_two_params, table_of
from gateway.prepared import Prepared


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# The statements of the request path, built once and run as prepared statements
# (gateway.prepared) on the session's connection: Core rows, no ORM objects.
_stp, _allocation = table_of(StpRow), table_of(AllocationRow)
# A reservation always names two ports.
_lock_ports = select(_stp).where(one_of_two(_stp.c.id, "port")).order_by(_stp.c.id)
_LOCK_PORTS = Prepared(_lock_ports)
_LOCK_PORTS_FOR_UPDATE = Prepared(_lock_ports.with_for_update())
_USAGES_QUERY = select(
    _allocation.c.stp_id,
    _allocation.c.start_time,
    _allocation.c.end_time,
    _allocation.c.bandwidth,
    _allocation.c.vlan,
).where(
    one_of_two(_allocation.c.stp_id, "port"),
    _allocation.c.end_time > bindparam("start"),
    _allocation.c.start_time < bindparam("end"),
    _allocation.c.connection_id != bindparam("excluding"),
)
_USAGES = Prepared(_USAGES_QUERY)
# -- topology -------------------------------------------------------------


def port_from_row(row: StpRow | Row[Any]) -> Port:
    return Port(
        row.id,
        row.port,
        VlanRanges.parse(row.vlans),
        row.capacity,
        row.description,
        row.alias,
        row.enabled,
    )


def port_values(port: Port) -> dict[str, Any]:
    return {
        "port": port.port,
        "vlans": str(port.vlans),
        "capacity": port.capacity,
        "description": port.description,
        "alias": port.alias,
        "enabled": port.enabled,
    }


def list_ports(session: Session) -> list[Port]:
    rows = session.scalars(select(StpRow).order_by(StpRow.id))
    return [port_from_row(r) for r in rows]


def get_port(session: Session, stp_id: str) -> Port | None:
    row = session.get(StpRow, stp_id)
    return None if row is None else port_from_row(row)


def lock_ports(session: Session, stp_ids: tuple[str, str]) -> dict[str, Port]:
    """Read and lock the ports (in id order, so two reservations cannot deadlock).

    On PostgreSQL this is SELECT ... FOR UPDATE: a second reservation on one
    of these ports waits until this transaction ends, then sees its
    allocations.  On SQLite the whole transaction already holds the write lock.
    """
    query = _LOCK_PORTS_FOR_UPDATE if _is_postgres(session) else _LOCK_PORTS
    rows = query.rows(session.connection(), one_of_two_params("port", stp_ids))
    return {row.id: port_from_row(row) for row in rows}


def save_port(session: Session, port: Port) -> None:
    row = session.get(StpRow, port.id)
    if row is None:
        session.add(StpRow(id=port.id, **port_values(port)))
    else:
        for name, value in port_values(port).items():
            setattr(row, name, value)


def delete_port(session: Session, stp_id: str) -> bool:
    row = session.get(StpRow, stp_id)
    if row is None:
        return False
    session.delete(row)
    return True


def port_in_use(session: Session, stp_id: str) -> list[str]:
    """Connections that hold an allocation on the port."""
    rows = session.scalars(
        select(AllocationRow.connection_id).where(AllocationRow.stp_id == stp_id).distinct()
    )
    return list(rows)


# -- allocations ----------------------------------------------------------


def usages(
    session: Session,
    stp_ids: tuple[str, str],
    start: datetime,
    end: datetime,
    *,
    excluding: str = "",
) -> dict[str, list[Usage]]:
    """Allocations on the two ports overlapping [start, end), except those of ``excluding``."""
    found: dict[str, list[Usage]] = {stp_id: [] for stp_id in stp_ids}
    params = {
        **one_of_two_params("port", stp_ids),
        "start": start,
        "end": end,
        "excluding": excluding,
    }
    for r in _USAGES.rows(session.connection(), params):
        found[r.stp_id].append(Usage(r.start_time, r.end_time, r.bandwidth, r.vlan))
    return found


def add_allocations(
    session: Session, connection_id: str, criteria: Criteria, ends: list[tuple[str, int]]
) -> None:
    """Allocate ``criteria`` on each (port, VLAN) of ``ends``, in one statement."""
    if not ends:
        return
    end = criteria.end or FOREVER
    sql.INSERT_ALLOCATION.execute_many(
        session.connection(),
        [
            {
                "connection_id": connection_id,
                "version": criteria.version,
                "stp_id": stp_id,
                "vlan": vlan,
                "bandwidth": criteria.capacity,
                "start_time": criteria.start,
                "end_time": end,
            }
            for stp_id, vlan in ends
        ],
    )


def release_allocations(
    session: Session,
    connection_id: str,
    *,
    version: int | None = None,
    older_than: int | None = None,
) -> None:
    """Drop a connection's allocations: one version, versions below one, or all."""
    if version is not None:
        query, params = sql.RELEASE_VERSION, {"connection_id": connection_id, "version": version}
    elif older_than is not None:
        query, params = sql.RELEASE_OLDER, {"connection_id": connection_id, "version": older_than}
    else:
        query, params = sql.RELEASE_ALL, {"connection_id": connection_id}
    query.execute(session.connection(), params)


# -- reservations ---------------------------------------------------------


def _criteria(row: CriteriaRow | Row[Any]) -> Criteria:
    return Criteria(
        version=row.version,
        start=row.start_time,
        end=row.end_time,
        capacity=row.capacity,
        source_stp=row.source_stp,
        dest_stp=row.dest_stp,
        directionality=row.directionality,
        symmetric_path=row.symmetric_path,
        service_type=row.service_type,
        eros=tuple(row.eros or ()),
        parameters=tuple((k, v) for k, v in (row.parameters or ())),
        source_vlan=row.source_vlan,
        dest_vlan=row.dest_vlan,
    )


def reservation_from_row(
    row: ReservationRow | ReservationRecord, versions: dict[int, Criteria]
) -> Reservation:
    return Reservation(
        connection_id=row.connection_id,
        global_reservation_id=row.global_reservation_id,
        description=row.description,
        requester_nsa=row.requester_nsa,
        reservation_state=ReservationState(row.reservation_state),
        provision_state=ProvisionState(row.provision_state) if row.provision_state else None,
        lifecycle_state=LifecycleState(row.lifecycle_state),
        data_plane=DataPlaneState.ACTIVE if row.data_plane_active else DataPlaneState.INACTIVE,
        data_plane_version=row.data_plane_version,
        committed=versions.get(row.committed_version) if row.committed_version else None,
        held=versions.get(row.held_version) if row.held_version else None,
    )


def load_row(
    session: Session, connection_id: str, *, for_update: bool = False
) -> ReservationRecord | None:
    """The connection's row as plain data (on PostgreSQL ``for_update`` locks it).

    A changed record is written back with :func:`save_states` or
    :func:`update_reservation`; nothing is written unless one of them is called.
    """
    query = (
        sql.LOAD_RESERVATION_FOR_UPDATE
        if for_update and _is_postgres(session)
        else sql.LOAD_RESERVATION
    )
    found = query.first(session.connection(), {"connection_id": connection_id})
    return None if found is None else sql.record_from(found)


def insert_reservation(session: Session, row: ReservationRecord) -> None:
    """Write a new reservation row as it stands, in one INSERT."""
    sql.INSERT_RESERVATION.execute(session.connection(), row.values())


def update_reservation(session: Session, row: ReservationRecord) -> None:
    """Write back what a request changed on a loaded row, in one UPDATE."""
    sql.UPDATE_RESERVATION.execute(session.connection(), row.changes())


def save_states(session: Session, row: ReservationRecord, res: Reservation, now: datetime) -> None:
    """Copy the aggregate's states onto its row and write the row back."""
    apply_states(row, res, now)
    update_reservation(session, row)


def load_versions(session: Session, row: ReservationRow | ReservationRecord) -> dict[int, Criteria]:
    wanted = [v for v in (row.committed_version, row.held_version) if v is not None]
    if not wanted:
        return {}
    params = {"connection_id": row.connection_id, **one_of_two_params("version", wanted)}
    rows = sql.LOAD_VERSIONS.rows(session.connection(), params)
    return {r.version: _criteria(r) for r in rows}


def history(session: Session, connection_id: str) -> list[tuple[str, Criteria]]:
    """Every criteria version of a connection with its status, oldest first."""
    rows = session.scalars(
        select(CriteriaRow)
        .where(CriteriaRow.connection_id == connection_id)
        .order_by(CriteriaRow.version)
    )
    return [(r.status, _criteria(r)) for r in rows]


def apply_states(row: ReservationRecord, res: Reservation, now: datetime) -> None:
    """Copy the aggregate's states and version pointers onto its row."""
    row.reservation_state = res.reservation_state.value
    row.provision_state = res.provision_state.value if res.provision_state else None
    row.lifecycle_state = res.lifecycle_state.value
    row.data_plane_active = res.data_plane is DataPlaneState.ACTIVE
    row.data_plane_version = res.data_plane_version
    row.committed_version = res.committed.version if res.committed else None
    row.held_version = res.held.version if res.held else None
    row.last_modified = now


def new_row(res: Reservation, reply_to: str, now: datetime) -> ReservationRecord:
    """The row of a new reservation (written by :func:`insert_reservation`)."""
    return ReservationRecord(
        connection_id=res.connection_id,
        global_reservation_id=res.global_reservation_id,
        description=res.description,
        requester_nsa=res.requester_nsa,
        reply_to=reply_to,
        reservation_state=res.reservation_state.value,
        provision_state=res.provision_state.value if res.provision_state else None,
        lifecycle_state=res.lifecycle_state.value,
        data_plane_active=res.data_plane is DataPlaneState.ACTIVE,
        data_plane_version=res.data_plane_version,
        committed_version=res.committed.version if res.committed else None,
        held_version=res.held.version if res.held else None,
        notification_seq=0,
        result_seq=0,
        created_at=now,
        last_modified=now,
    )


def criteria_values(criteria: Criteria, status: str) -> dict[str, Any]:
    return {
        "status": status,
        "start_time": criteria.start,
        "end_time": criteria.end,
        "capacity": criteria.capacity,
        "source_stp": criteria.source_stp,
        "dest_stp": criteria.dest_stp,
        "source_vlan": criteria.source_vlan,
        "dest_vlan": criteria.dest_vlan,
        "directionality": criteria.directionality,
        "symmetric_path": criteria.symmetric_path,
        "service_type": criteria.service_type,
        "eros": list(criteria.eros),
        "parameters": [list(p) for p in criteria.parameters],
    }


def save_criteria(
    session: Session,
    connection_id: str,
    criteria: Criteria,
    status: str,
    now: datetime,
    *,
    new: bool = False,
) -> None:
    """Store a criteria version (``new``: known not to be stored yet, saves a read)."""
    values = criteria_values(criteria, status)
    connection = session.connection()
    if not new:
        key = {"key": connection_id, "key_version": criteria.version}
        if sql.UPDATE_CRITERIA.execute(connection, key | values):
            return
    sql.INSERT_CRITERIA.execute(
        connection,
        {"connection_id": connection_id, "version": criteria.version, "created_at": now} | values,
    )


def set_criteria_status(session: Session, connection_id: str, version: int, status: str) -> None:
    sql.SET_CRITERIA_STATUS.execute(
        session.connection(),
        {"key": connection_id, "key_version": version, "new_status": status},
    )


def criteria_of(session: Session, connection_ids: list[str]) -> dict[str, list[Criteria]]:
    """The committed (or else held) criteria of each connection, for queries."""
    out: dict[str, list[Criteria]] = {}
    if not connection_ids:
        return out
    rows = session.scalars(
        select(CriteriaRow)
        .where(
            CriteriaRow.connection_id.in_(connection_ids),
            CriteriaRow.status.in_(("committed", "held")),
        )
        .order_by(CriteriaRow.connection_id, CriteriaRow.version)
    )
    for r in rows:
        out.setdefault(r.connection_id, []).append(_criteria(r))
    return out


# -- notifications, results, request log, timers --------------------------


def add_notification(
    session: Session, row: ReservationRecord, kind: str, payload: bytes, now: datetime
) -> int:
    """Record the next notification of the connection; returns its id."""
    row.notification_seq += 1
    sql.INSERT_NOTIFICATION.execute(
        session.connection(),
        {
            "connection_id": row.connection_id,
            "notification_id": row.notification_seq,
            "kind": kind,
            "created_at": now,
            "payload": payload,
        },
    )
    return row.notification_seq


def next_notification_id(row: ReservationRecord) -> int:
    return row.notification_seq + 1


def next_result_id(row: ReservationRecord) -> int:
    return row.result_seq + 1


def add_result(
    session: Session,
    row: ReservationRecord,
    *,
    kind: str,
    correlation_id: str,
    payload: bytes,
    now: datetime,
) -> int:
    row.result_seq += 1
    sql.INSERT_RESULT.execute(
        session.connection(),
        {
            "connection_id": row.connection_id,
            "result_id": row.result_seq,
            "kind": kind,
            "correlation_id": correlation_id,
            "created_at": now,
            "payload": payload,
        },
    )
    return row.result_seq


def notifications(
    session: Session, connection_id: str, first: int, last: int
) -> list[NotificationRow]:
    query = select(NotificationRow).where(NotificationRow.connection_id == connection_id)
    if first:
        query = query.where(NotificationRow.notification_id >= first)
    if last:
        query = query.where(NotificationRow.notification_id <= last)
    return list(session.scalars(query.order_by(NotificationRow.notification_id)))


def results(session: Session, connection_id: str, first: int, last: int) -> list[ResultRow]:
    query = select(ResultRow).where(ResultRow.connection_id == connection_id)
    if first:
        query = query.where(ResultRow.result_id >= first)
    if last:
        query = query.where(ResultRow.result_id <= last)
    return list(session.scalars(query.order_by(ResultRow.result_id)))


def logged_request(session: Session, correlation_id: str) -> tuple[str, str, str] | None:
    """(payload_hash, operation, connection_id) of an accepted request, if any."""
    row = sql.LOGGED_REQUEST.first(session.connection(), {"correlation_id": correlation_id})
    return None if row is None else (row.payload_hash, row.operation, row.connection_id)


def log_request(
    session: Session,
    *,
    correlation_id: str,
    payload_hash: str,
    operation: str,
    connection_id: str,
    now: datetime,
) -> None:
    sql.INSERT_REQUEST.execute(
        session.connection(),
        {
            "correlation_id": correlation_id,
            "payload_hash": payload_hash,
            "operation": operation,
            "connection_id": connection_id,
            "created_at": now,
        },
    )


def set_timer(session: Session, timer: Timer, *, replace: bool = True) -> None:
    """Store a timer, replacing the connection's earlier timer of the same kind."""
    if replace:
        cancel_timers(session, timer.connection_id, timer.kind)
    sql.INSERT_TIMER.execute(
        session.connection(),
        {
            "connection_id": timer.connection_id,
            "kind": timer.kind.value,
            "version": timer.version,
            "due_at": timer.due,
        },
    )


def cancel_timers(session: Session, connection_id: str, *kinds: TimerKind) -> None:
    if kinds:
        params = [{"connection_id": connection_id, "kind": k.value} for k in kinds]
        sql.CANCEL_TIMERS_OF_KIND.execute_many(session.connection(), params)
    else:
        sql.CANCEL_TIMERS.execute(session.connection(), {"connection_id": connection_id})


def next_due(session: Session) -> datetime | None:
    return (session.execute(select(func.min(TimerRow.due_at)))).scalar_one_or_none()


def due_timers(session: Session, now: datetime, limit: int = 100) -> list[Timer]:
    rows = session.scalars(
        select(TimerRow).where(TimerRow.due_at <= now).order_by(TimerRow.due_at).limit(limit)
    )
    return [Timer(r.connection_id, TimerKind(r.kind), r.due_at, r.version) for r in rows]


def take_timer(session: Session, timer: Timer) -> bool:
    """Remove a due timer; False if another pass already took it."""
    result = session.execute(
        delete(TimerRow).where(
            TimerRow.connection_id == timer.connection_id,
            TimerRow.kind == timer.kind.value,
            TimerRow.version == timer.version,
            TimerRow.due_at == timer.due,
        )
    )
    return bool(getattr(result, "rowcount", 0))


# The tables are part of this module's interface (store.ReservationRow...).
__all__ = [
    "AllocationRow",
    "CriteriaRow",
    "NotificationRow",
    "RequestRow",
    "ReservationRecord",
    "ReservationRow",
    "ResultRow",
    "StpRow",
    "TimerRow",
    "add_allocations",
    "add_notification",
    "add_result",
    "apply_states",
    "cancel_timers",
    "criteria_of",
    "criteria_values",
    "delete_port",
    "due_timers",
    "get_port",
    "history",
    "insert_reservation",
    "list_ports",
    "load_row",
    "load_versions",
    "lock_ports",
    "log_request",
    "logged_request",
    "new_row",
    "next_due",
    "next_notification_id",
    "next_result_id",
    "notifications",
    "port_from_row",
    "port_in_use",
    "port_values",
    "release_allocations",
    "reservation_from_row",
    "results",
    "save_criteria",
    "save_port",
    "save_states",
    "set_criteria_status",
    "set_timer",
    "take_timer",
    "update_reservation",
    "usages",
]
