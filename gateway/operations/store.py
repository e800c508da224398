"""Persistence of operations: tables and the queries the engine needs.

Results are stored as the JSON form of their typed message together with the
name of the ``Operation.result`` oneof field they fill, so any result kind
round-trips without a table per kind.

The queries are synchronous SQLAlchemy Core, run inside the engine's units of
work on the database thread (``db.threaded``): one thread hop per unit, and
statements built once at import and run as prepared statements
(:mod:`gateway.prepared`) where they run per operation.  A state change is one
conditional ``UPDATE ... RETURNING``: it takes the row lock (PostgreSQL),
refuses to touch an operation that already ended (whichever process ended
it), and hands back the row, so nothing is read twice.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.db import Base, UtcDateTime, one_of_two, one_of_two_params, table_of
from gateway.operations.model import (
    ListFilter,
    Operation,
    OperationError,
    Progress,
    State,
)
from gateway.prepared import Prepared
from nsgw_proto.nsgw.v1 import operations_pb2

_RESULT_ONEOF = operations_pb2.Operation.DESCRIPTOR.oneofs_by_name["result"]


class OperationRow(Base):
    __tablename__ = "operations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(128))
    target: Mapped[str] = mapped_column(String(1024))
    state: Mapped[str] = mapped_column(String(16))
    caller: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(128), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    request_type: Mapped[str] = mapped_column(String(255))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    callback_url: Mapped[str] = mapped_column(Text, default="")
    progress_url: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    result_field: Mapped[str | None] = mapped_column(String(64), default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error_code: Mapped[str | None] = mapped_column(String(32), default=None)
    error_reason: Mapped[str | None] = mapped_column(String(128), default=None)
    error_domain: Mapped[str | None] = mapped_column(String(128), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    error_metadata: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    error_retry_delay: Mapped[float | None] = mapped_column(Float, default=None)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime())
    update_time: Mapped[datetime] = mapped_column(UtcDateTime())
    end_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    __table_args__ = (
        Index("ix_operations_create_time_id", "create_time", "id"),
        Index("ix_operations_state", "state"),
        Index("ix_operations_target", "target"),
    )


class ProgressRow(Base):
    __tablename__ = "operation_progress"

    operation_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("operations.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    time: Mapped[datetime] = mapped_column(UtcDateTime())
    message: Mapped[str] = mapped_column(Text)


# A result as stored: the name of the Operation.result field it fills, and its JSON form.
EncodedResult = tuple[str, dict[str, Any]]


def result_to_json(result: Message) -> EncodedResult:
    """(oneof field name, JSON object) of a typed result; TypeError for a foreign message."""
    for field in _RESULT_ONEOF.fields:
        if (
            field.message_type is not None
            and field.message_type.full_name == result.DESCRIPTOR.full_name
        ):
            return field.name, json_format.MessageToDict(result, preserving_proto_field_name=True)
    raise TypeError(f"{result.DESCRIPTOR.full_name} is not an Operation result type")


def result_from_json(field_name: str, data: dict[str, Any]) -> Message:
    holder = operations_pb2.Operation()
    message: Message = getattr(holder, field_name)
    return json_format.ParseDict(data, type(message)())


# --- statements, built once ---------------------------------------------------
_ops = table_of(OperationRow)
_progress = table_of(ProgressRow)
LIVE_STATES = (State.PENDING.value, State.RUNNING.value)
# Every column but the request (only a restart needs it, see unfinished()).
_COLUMNS = [c for c in _ops.c if c.name != "request"]
_get = select(*_COLUMNS).where(_ops.c.id == bindparam("op_id"))
_GET = Prepared(_get)
_GET_FOR_UPDATE = Prepared(_get.with_for_update())
_BY_REQUEST_ID = Prepared(select(*_COLUMNS).where(_ops.c.request_id == bindparam("request_id")))
# A new operation, unless its request_id is taken (then nothing: the caller
# reads the one recorded).  On PostgreSQL a concurrent insert of the same
# request_id is waited for, so the loser finds the winner's row.
# (RETURNING says which: psycopg reports no row count for it.)
_INSERT_NEW = {
    "sqlite": Prepared(
        sqlite.insert(_ops)
        .on_conflict_do_nothing(index_elements=["request_id"])
        .returning(_ops.c.id)
    ),
    "postgresql": Prepared(
        postgresql.insert(_ops)
        .on_conflict_do_nothing(index_elements=["request_id"])
        .returning(_ops.c.id)
    ),
}
_INSERT_PROGRESS = Prepared(insert(_progress))
_PROGRESS = Prepared(
    select(_progress.c.index, _progress.c.time, _progress.c.message)
    .where(_progress.c.operation_id == bindparam("op_id"), _progress.c.index >= bindparam("start"))
    .order_by(_progress.c.index)
)
# The primary key (operation_id, index) answers this from its index alone.
_LAST_INDEX = Prepared(
    select(func.max(_progress.c.index)).where(_progress.c.operation_id == bindparam("op_id"))
)
# An operation changes only from one or both of its two live states.
_WHILE_LIVE = (
    _ops.c.id == bindparam("op_id"),
    one_of_two(_ops.c.state, "from_state"),
)
# Bound parameters of SET clauses cannot be named after their columns.
_START = Prepared(
    update(_ops)
    .where(*_WHILE_LIVE)
    .values(state=bindparam("new_state"), update_time=bindparam("now"))
    .returning(*_COLUMNS)
)
_TOUCH = Prepared(
    update(_ops).where(*_WHILE_LIVE).values(update_time=bindparam("now")).returning(*_COLUMNS)
)
_ASK_CANCEL = Prepared(
    update(_ops)
    .where(*_WHILE_LIVE)
    .values(cancel_requested=True, update_time=bindparam("now"))
    .returning(*_COLUMNS)
)
_END = Prepared(
    update(_ops)
    .where(*_WHILE_LIVE)
    .values(
        state=bindparam("new_state"),
        update_time=bindparam("now"),
        end_time=bindparam("now"),
        result_field=bindparam("new_result_field"),
        result=bindparam("new_result", type_=JSON),
        error_code=bindparam("new_error_code"),
        error_message=bindparam("new_error_message"),
        error_reason=bindparam("new_error_reason"),
        error_domain=bindparam("new_error_domain"),
        error_metadata=bindparam("new_error_metadata", type_=JSON),
        error_retry_delay=bindparam("new_error_retry_delay"),
    )
    .returning(*_COLUMNS)
)
_UNFINISHED = (
    select(_ops).where(_ops.c.state.in_(LIVE_STATES)).order_by(_ops.c.create_time, _ops.c.id)
)

RowData = Mapping[Any, Any]  # a Core row's mapping, or the values of a new row


def _error(row: RowData) -> OperationError | None:
    if row["error_code"] is None:
        return None
    return OperationError(
        code=row["error_code"],
        message=row["error_message"] or "",
        reason=row["error_reason"] or "",
        domain=row["error_domain"] or "",
        metadata=dict(row["error_metadata"] or {}),
        retry_delay=row["error_retry_delay"],
    )


def to_domain(
    row: RowData, progress: Sequence[Progress] = (), *, cancellable: bool = False
) -> Operation:
    """The domain form of an operations row (a Core row's mapping, or the values inserted)."""
    state = State(row["state"])
    cancel_requested = bool(row["cancel_requested"])
    return Operation(
        id=row["id"],
        kind=row["kind"],
        target=row["target"],
        state=state,
        caller=row["caller"],
        request_id=row["request_id"],
        create_time=row["create_time"],
        update_time=row["update_time"],
        end_time=row["end_time"],
        progress=list(progress),
        result=(
            result_from_json(row["result_field"], row["result"] or {})
            if row["result_field"] is not None
            else None
        ),
        error=_error(row),
        cancel_requested=cancel_requested,
        cancellable=cancellable and not state.ended and not cancel_requested,
        callback_url=row["callback_url"],
        progress_url=row["progress_url"],
    )


def new_row(**values: Any) -> dict[str, Any]:
    """Every column of a new operations row: ``values`` over the defaults."""
    row: dict[str, Any] = {
        "callback_url": "",
        "progress_url": "",
        "cancel_requested": False,
        "result_field": None,
        "result": None,
        "error_code": None,
        "error_reason": None,
        "error_domain": None,
        "error_message": None,
        "error_metadata": None,
        "error_retry_delay": None,
        "end_time": None,
    }
    row.update(values)
    return row


def _mapping(found: Any) -> RowData | None:
    return found._asdict() if found is not None else None


def get(session: Session, op_id: str, *, lock: bool = False) -> RowData | None:
    query = _GET_FOR_UPDATE if lock else _GET
    return _mapping(query.first(session.connection(), {"op_id": op_id}))


def by_request_id(session: Session, request_id: str) -> RowData | None:
    return _mapping(_BY_REQUEST_ID.first(session.connection(), {"request_id": request_id}))


def insert_new(session: Session, row: RowData) -> bool:
    """Insert a new operation; False (and nothing written) when its request_id is taken."""
    connection = session.connection()
    return _INSERT_NEW[connection.dialect.name].first(connection, row) is not None


def progress_of(session: Session, op_id: str, from_index: int = 0) -> list[Progress]:
    rows = _PROGRESS.rows(session.connection(), {"op_id": op_id, "start": from_index})
    return [Progress(index, time, message) for index, time, message in rows]


def next_progress_index(session: Session, op_id: str) -> int:
    last = _LAST_INDEX.first(session.connection(), {"op_id": op_id})[0]
    return 0 if last is None else int(last) + 1


def add_progress(
    session: Session, op_id: str, index: int, message: str, time: datetime
) -> Progress:
    _INSERT_PROGRESS.execute(
        session.connection(),
        {"operation_id": op_id, "index": index, "time": time, "message": message},
    )
    return Progress(index, time, message)


def _live_update(
    session: Session, statement: Any, op_id: str, from_states: Sequence[str], **values: Any
) -> RowData | None:
    if not from_states:
        return None  # no state it may change from
    params = {"op_id": op_id, **one_of_two_params("from_state", from_states), **values}
    return _mapping(statement.first(session.connection(), params))


def start(session: Session, op_id: str, now: datetime) -> RowData | None:
    """PENDING (or RUNNING, when resumed) to RUNNING; None when it ended meanwhile."""
    return _live_update(session, _START, op_id, LIVE_STATES, new_state=State.RUNNING.value, now=now)


def touch(session: Session, op_id: str, now: datetime) -> RowData | None:
    """A new update_time on an operation that has not ended; None when it has."""
    return _live_update(session, _TOUCH, op_id, LIVE_STATES, now=now)


def ask_cancel(session: Session, op_id: str, now: datetime) -> RowData | None:
    return _live_update(session, _ASK_CANCEL, op_id, LIVE_STATES, now=now)


def end(
    session: Session,
    op_id: str,
    from_states: Sequence[str],
    state: State,
    now: datetime,
    *,
    result: EncodedResult | None,
    error: OperationError | None,
) -> RowData | None:
    """The operation ended in ``state``; None when it was not in ``from_states`` any more."""
    field, data = result if result is not None else (None, None)
    return _live_update(
        session,
        _END,
        op_id,
        from_states,
        new_state=state.value,
        now=now,
        new_result_field=field,
        new_result=data,
        new_error_code=error.code if error else None,
        new_error_message=error.message if error else None,
        new_error_reason=error.reason if error else None,
        new_error_domain=error.domain if error else None,
        new_error_metadata=dict(error.metadata) if error else None,
        new_error_retry_delay=error.retry_delay if error else None,
    )


def purge_ended_before(session: Session, cutoff: datetime) -> int:
    """Delete operations that ended before ``cutoff`` (with their progress); how many."""
    old = select(_ops.c.id).where(_ops.c.end_time.is_not(None), _ops.c.end_time < cutoff)
    ids = list(session.execute(old).scalars().all())
    if ids:
        session.execute(delete(_progress).where(_progress.c.operation_id.in_(ids)))
        session.execute(delete(_ops).where(_ops.c.id.in_(ids)))
    return len(ids)


def unfinished(session: Session) -> list[RowData]:
    """Operations left PENDING or RUNNING, oldest first, with their requests."""
    return [row._mapping for row in session.execute(_UNFINISHED)]


def encode_page_token(row: RowData, filter_key: str) -> str:
    raw = json.dumps([row["create_time"].isoformat(), row["id"], filter_key]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_page_token(token: str, filter_key: str) -> tuple[datetime, str]:
    """The (create_time, id) a page token continues after; ValueError when not ours."""
    try:
        when, op_id, key = json.loads(base64.urlsafe_b64decode(token.encode()))
        position = datetime.fromisoformat(when), str(op_id)
    except (ValueError, TypeError) as exc:
        raise ValueError("page_token is not one this server gave out") from exc
    if key != filter_key:
        raise ValueError("page_token belongs to a list with a different filter")
    return position


def filter_key(flt: ListFilter) -> str:
    """A short fingerprint of a filter, so a page token is not reused with another one."""
    parts = [
        sorted(s.value for s in flt.states),
        sorted(flt.kinds),
        flt.target,
        flt.created_after.isoformat() if flt.created_after else "",
        flt.created_before.isoformat() if flt.created_before else "",
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def list_page(
    session: Session, flt: ListFilter, page_size: int, after: tuple[datetime, str] | None
) -> tuple[list[RowData], bool]:
    """One page, newest first, and whether more follow."""
    query = select(*_COLUMNS)
    if flt.states:
        query = query.where(OperationRow.state.in_([s.value for s in flt.states]))
    if flt.kinds:
        query = query.where(OperationRow.kind.in_(sorted(flt.kinds)))
    if flt.target:
        query = query.where(OperationRow.target == flt.target)
    if flt.created_after is not None:
        query = query.where(OperationRow.create_time >= flt.created_after)
    if flt.created_before is not None:
        query = query.where(OperationRow.create_time < flt.created_before)
    if after is not None:
        when, op_id = after
        query = query.where(
            or_(
                OperationRow.create_time < when,
                and_(OperationRow.create_time == when, OperationRow.id < op_id),
            )
        )
    query = query.order_by(OperationRow.create_time.desc(), OperationRow.id.desc()).limit(
        page_size + 1
    )
    rows: list[RowData] = [row._mapping for row in session.execute(query)]
    return rows[:page_size], len(rows) > page_size
