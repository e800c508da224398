"""Persistence of operations: tables and the queries the engine needs.

Results are stored as the JSON form of their typed message together with the
name of the ``Operation.result`` oneof field they fill, so any result kind
round-trips without a table per kind.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
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
    delete,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime
from gateway.operations.model import (
    ListFilter,
    Operation,
    OperationError,
    Progress,
    State,
)
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


def result_to_json(result: Message) -> tuple[str, dict[str, Any]]:
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


def _error(row: OperationRow) -> OperationError | None:
    if row.error_code is None:
        return None
    return OperationError(
        code=row.error_code,
        message=row.error_message or "",
        reason=row.error_reason or "",
        domain=row.error_domain or "",
        metadata=dict(row.error_metadata or {}),
        retry_delay=row.error_retry_delay,
    )


def set_error(row: OperationRow, error: OperationError | None) -> None:
    if error is None:
        return
    row.error_code = error.code
    row.error_message = error.message
    row.error_reason = error.reason
    row.error_domain = error.domain
    row.error_metadata = dict(error.metadata)
    row.error_retry_delay = error.retry_delay


def to_domain(
    row: OperationRow, progress: Sequence[ProgressRow] = (), *, cancellable: bool = False
) -> Operation:
    state = State(row.state)
    return Operation(
        id=row.id,
        kind=row.kind,
        target=row.target,
        state=state,
        caller=row.caller,
        request_id=row.request_id,
        create_time=row.create_time,
        update_time=row.update_time,
        end_time=row.end_time,
        progress=[Progress(p.index, p.time, p.message) for p in progress],
        result=(
            result_from_json(row.result_field, row.result or {})
            if row.result_field is not None
            else None
        ),
        error=_error(row),
        cancel_requested=row.cancel_requested,
        cancellable=cancellable and not state.ended and not row.cancel_requested,
        callback_url=row.callback_url,
        progress_url=row.progress_url,
    )


async def get(session: AsyncSession, op_id: str, *, lock: bool = False) -> OperationRow | None:
    query = select(OperationRow).where(OperationRow.id == op_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def by_request_id(session: AsyncSession, request_id: str) -> OperationRow | None:
    query = select(OperationRow).where(OperationRow.request_id == request_id)
    return (await session.execute(query)).scalar_one_or_none()


async def progress_of(session: AsyncSession, op_id: str, from_index: int = 0) -> list[ProgressRow]:
    query = (
        select(ProgressRow)
        .where(ProgressRow.operation_id == op_id, ProgressRow.index >= from_index)
        .order_by(ProgressRow.index)
    )
    return list((await session.execute(query)).scalars().all())


async def add_progress(session: AsyncSession, op_id: str, message: str, time: datetime) -> Progress:
    count = await session.execute(
        select(func.count()).select_from(ProgressRow).where(ProgressRow.operation_id == op_id)
    )
    index = int(count.scalar_one())
    session.add(ProgressRow(operation_id=op_id, index=index, time=time, message=message))
    return Progress(index, time, message)


async def purge_ended_before(session: AsyncSession, cutoff: datetime) -> int:
    """Delete operations that ended before ``cutoff`` (with their progress); how many."""
    old = select(OperationRow.id).where(
        OperationRow.end_time.is_not(None), OperationRow.end_time < cutoff
    )
    ids = list((await session.execute(old)).scalars().all())
    if ids:
        await session.execute(delete(ProgressRow).where(ProgressRow.operation_id.in_(ids)))
        await session.execute(delete(OperationRow).where(OperationRow.id.in_(ids)))
    return len(ids)


async def unfinished(session: AsyncSession) -> list[OperationRow]:
    query = (
        select(OperationRow)
        .where(OperationRow.state.in_([State.PENDING.value, State.RUNNING.value]))
        .order_by(OperationRow.create_time, OperationRow.id)
    )
    return list((await session.execute(query)).scalars().all())


def encode_page_token(row: OperationRow, filter_key: str) -> str:
    raw = json.dumps([row.create_time.isoformat(), row.id, filter_key]).encode()
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


async def list_page(
    session: AsyncSession, flt: ListFilter, page_size: int, after: tuple[datetime, str] | None
) -> tuple[list[OperationRow], bool]:
    """One page, newest first, and whether more follow."""
    query = select(OperationRow)
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
    rows = list((await session.execute(query)).scalars().all())
    return rows[:page_size], len(rows) > page_size
