"""Requester-side records: our connections at providers, and the requests we sent.

A connection row is ours (id = the ``connections/{id}`` name of the API); the
provider's connectionId is beside it, unique per provider.  A request row is
one provider request by correlationId: what was sent (kept for a re-send with
the same correlationId), and how it ended (the confirmation, the failure, or
the timeout).  Callbacks are correlated through these rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime

# Request states.
SENDING = "sending"  # recorded, not yet answered synchronously (re-sent after a restart)
SENT = "sent"  # acknowledged; waiting for the confirmation
CONFIRMED = "confirmed"
FAILED = "failed"

OPEN_REQUEST_STATES = (SENDING, SENT)


class ConnectionRow(Base):
    __tablename__ = "requester_connections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider_nsa: Mapped[str] = mapped_column(String(255))
    connection_id: Mapped[str | None] = mapped_column(String(255), default=None)
    operation_id: Mapped[str | None] = mapped_column(String(64), default=None)
    global_reservation_id: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    source_stp: Mapped[str] = mapped_column(Text)
    dest_stp: Mapped[str] = mapped_column(Text)
    capacity_mbps: Mapped[int] = mapped_column(BigInteger)
    start_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    end_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    state: Mapped[str] = mapped_column(String(16))
    reservation_state: Mapped[str] = mapped_column(String(32))
    provision_state: Mapped[str] = mapped_column(String(32))
    lifecycle_state: Mapped[str] = mapped_column(String(32))
    data_plane_active: Mapped[bool] = mapped_column(Boolean, default=False)
    data_plane_version: Mapped[int] = mapped_column(Integer, default=0)
    data_plane_consistent: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    committed: Mapped[bool] = mapped_column(Boolean, default=False)
    was_provisioned: Mapped[bool] = mapped_column(Boolean, default=False)
    # A modify on its way: the criteria it asks for (applied when committed).
    pending: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    failure: Mapped[str] = mapped_column(Text, default="")
    last_notification_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_result_id: Mapped[int] = mapped_column(BigInteger, default=0)
    creator: Mapped[str] = mapped_column(String(255), default="")
    create_time: Mapped[datetime] = mapped_column(UtcDateTime())
    update_time: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("provider_nsa", "connection_id"),
        Index("ix_requester_connections_create_time", "create_time"),
        Index("ix_requester_connections_operation_id", "operation_id"),
    )


class RequestRow(Base):
    __tablename__ = "requester_requests"

    correlation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_ref: Mapped[str | None] = mapped_column(String(32), default=None)
    operation_id: Mapped[str | None] = mapped_column(String(64), default=None)
    provider_nsa: Mapped[str] = mapped_column(String(255))
    operation: Mapped[str] = mapped_column(String(32))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(64), default="")
    error_id: Mapped[str] = mapped_column(String(16), default="")
    error_text: Mapped[str] = mapped_column(Text, default="")
    sent_time: Mapped[datetime] = mapped_column(UtcDateTime())
    update_time: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_requester_requests_connection", "connection_ref", "operation"),
        Index("ix_requester_requests_state", "state"),
    )


async def connection(session: AsyncSession, ident: str) -> ConnectionRow | None:
    return await session.get(ConnectionRow, ident)


async def connection_by_provider_id(
    session: AsyncSession, provider_nsa: str, connection_id: str
) -> ConnectionRow | None:
    return (
        await session.execute(
            select(ConnectionRow).where(
                ConnectionRow.provider_nsa == provider_nsa,
                ConnectionRow.connection_id == connection_id,
            )
        )
    ).scalar_one_or_none()


async def connection_of_operation(session: AsyncSession, op_id: str) -> ConnectionRow | None:
    return (
        await session.execute(select(ConnectionRow).where(ConnectionRow.operation_id == op_id))
    ).scalar_one_or_none()


async def request(session: AsyncSession, correlation_id: str) -> RequestRow | None:
    return await session.get(RequestRow, correlation_id)


async def latest_request(
    session: AsyncSession, connection_ref: str, operation: str, op_id: str
) -> RequestRow | None:
    """The newest request of one operation (nsgw.v1) for one step of a connection."""
    return (
        await session.execute(
            select(RequestRow)
            .where(
                RequestRow.connection_ref == connection_ref,
                RequestRow.operation == operation,
                RequestRow.operation_id == op_id,
            )
            .order_by(RequestRow.sent_time.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def open_requests(session: AsyncSession, connection_ref: str) -> list[RequestRow]:
    rows = await session.execute(
        select(RequestRow).where(
            RequestRow.connection_ref == connection_ref,
            RequestRow.state.in_(OPEN_REQUEST_STATES),
        )
    )
    return list(rows.scalars())


async def open_connections(session: AsyncSession) -> list[ConnectionRow]:
    """Connections a provider still holds something for (not terminated, with an id)."""
    rows = await session.execute(
        select(ConnectionRow).where(
            ConnectionRow.connection_id.is_not(None),
            ConnectionRow.lifecycle_state != "Terminated",
        )
    )
    return list(rows.scalars())


async def list_connections(
    session: AsyncSession, states: list[str], limit: int, after: tuple[datetime, str] | None
) -> list[ConnectionRow]:
    query = select(ConnectionRow)
    if states:
        query = query.where(ConnectionRow.state.in_(states))
    if after is not None:
        when, ident = after
        query = query.where(
            (ConnectionRow.create_time < when)
            | ((ConnectionRow.create_time == when) & (ConnectionRow.id < ident))
        )
    query = query.order_by(ConnectionRow.create_time.desc(), ConnectionRow.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())
