"""The provider agent's tables (created by migration ``0002_agent``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")


class StpRow(Base):
    __tablename__ = "agent_stp"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    port: Mapped[str] = mapped_column(String(255))
    vlans: Mapped[str] = mapped_column(Text)
    capacity: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text, default="")
    alias: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class ReservationRow(Base):
    __tablename__ = "agent_reservation"

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    global_reservation_id: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    requester_nsa: Mapped[str] = mapped_column(String(255), index=True)
    reply_to: Mapped[str] = mapped_column(Text, default="")
    reservation_state: Mapped[str] = mapped_column(String(32))
    provision_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lifecycle_state: Mapped[str] = mapped_column(String(32))
    data_plane_active: Mapped[bool] = mapped_column(Boolean, default=False)
    data_plane_version: Mapped[int] = mapped_column(Integer, default=0)
    committed_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    held_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    notification_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    result_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_modified: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class CriteriaRow(Base):
    """Every criteria version of every connection, with what became of it."""

    __tablename__ = "agent_criteria"

    connection_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("agent_reservation.connection_id"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # held, committed, superseded, aborted...
    start_time: Mapped[datetime] = mapped_column(UtcDateTime())
    end_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    capacity: Mapped[int] = mapped_column(BigInteger)
    source_stp: Mapped[str] = mapped_column(Text)
    dest_stp: Mapped[str] = mapped_column(Text)
    source_vlan: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dest_vlan: Mapped[int | None] = mapped_column(Integer, nullable=True)
    directionality: Mapped[str] = mapped_column(String(32))
    symmetric_path: Mapped[bool] = mapped_column(Boolean)
    service_type: Mapped[str] = mapped_column(Text)
    eros: Mapped[list[str]] = mapped_column(JSON, default=list)
    parameters: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AllocationRow(Base):
    """A VLAN and bandwidth one criteria version holds on one port for its schedule."""

    __tablename__ = "agent_allocation"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    stp_id: Mapped[str] = mapped_column(String(255), ForeignKey("agent_stp.id"))
    vlan: Mapped[int] = mapped_column(Integer)
    bandwidth: Mapped[int] = mapped_column(BigInteger)
    start_time: Mapped[datetime] = mapped_column(UtcDateTime())
    end_time: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_agent_allocation_stp_end", "stp_id", "end_time"),
        Index("ix_agent_allocation_connection", "connection_id", "version"),
    )


class NotificationRow(Base):
    __tablename__ = "agent_notification"

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    notification_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class ResultRow(Base):
    __tablename__ = "agent_result"

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    result_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    correlation_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class RequestRow(Base):
    """Accepted requests by correlation id: a re-send is answered from here."""

    __tablename__ = "agent_request"

    correlation_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    payload_hash: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(64))
    connection_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TimerRow(Base):
    __tablename__ = "agent_timer"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
