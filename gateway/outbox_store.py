"""The outbox's table and the statements its delivery loop runs often (built once).

``gateway.outbox`` is the API; this module is its storage: the ``outbox``
table (migration ``0001_outbox``) and prebuilt Core statements, so a read or
settle on the hot path compiles nothing; those of every message (add, look
for the oldest of its key, delete) run as prepared statements
(:mod:`gateway.prepared`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    Row,
    Select,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime, table_of
from gateway.prepared import Prepared

PENDING, EXPIRED, REFUSED = "pending", "expired", "refused"


class OutboxRow(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    channel: Mapped[str] = mapped_column(String(64))
    ordering_key: Mapped[str] = mapped_column(String(255))
    destination: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text, default=None)

    __table_args__ = (
        Index("ix_outbox_state_channel_key_id", "state", "channel", "ordering_key", "id"),
        # An id is never given twice, also once the table is empty (see 0400_unique_ids).
        {"sqlite_autoincrement": True},
    )


def outbox_table() -> Table:
    return table_of(OutboxRow)


@dataclass(frozen=True)
class Envelope:
    """One message as a delivery function sees it."""

    id: int
    channel: str
    ordering_key: str
    destination: str
    payload: bytes
    attributes: dict[str, Any]
    attempts: int  # this attempt's number, from 1
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Pending:
    """A pending message as the delivery loop holds it: its next attempt, and when it is due."""

    envelope: Envelope
    next_attempt_at: datetime

    @property
    def id(self) -> int:
        return self.envelope.id

    @property
    def key(self) -> tuple[str, str]:
        return self.envelope.channel, self.envelope.ordering_key

    @property
    def destination(self) -> str:
        return self.envelope.destination

    @classmethod
    def of(cls, row: Row[Any]) -> Pending:
        envelope = Envelope(
            row.id,
            row.channel,
            row.ordering_key,
            row.destination,
            row.payload,
            dict(row.attributes or {}),
            row.attempts + 1,
            row.created_at,
        )
        return cls(envelope, row.next_attempt_at)


def _due_heads_statement() -> Select[Any]:
    """The due heads of the named channels, leaving out ids and destinations (built once)."""
    table = outbox_table()
    heads = (
        select(func.min(table.c.id))
        .where(table.c.state == PENDING, table.c.channel.in_(bindparam("channels", expanding=True)))
        .group_by(table.c.channel, table.c.ordering_key)
    )
    return (
        select(table)
        .where(
            table.c.id.in_(heads),
            table.c.next_attempt_at <= bindparam("now", type_=UtcDateTime()),
            # messages in flight: not attempted again now, so not fetched
            table.c.id.not_in(bindparam("busy", expanding=True)),
            # destinations that have all the attempts they may have at once
            table.c.destination.not_in(bindparam("skip", expanding=True)),
        )
        .order_by(table.c.id)
        .limit(bindparam("limit"))
    )


DUE_HEADS = _due_heads_statement()


def _oldest_of_key_statement() -> Select[Any]:
    """The id of the oldest pending message of one key (built once)."""
    table = outbox_table()
    return select(func.min(table.c.id)).where(
        table.c.state == PENDING,
        table.c.channel == bindparam("channel"),
        table.c.ordering_key == bindparam("key"),
    )


_oldest_of_key = _oldest_of_key_statement()
# The pending message right before one (by id) in its key: its id, or None.
PREDECESSOR = Prepared(
    select(func.max(outbox_table().c.id)).where(
        outbox_table().c.state == PENDING,
        outbox_table().c.channel == bindparam("channel"),
        outbox_table().c.ordering_key == bindparam("key"),
        outbox_table().c.id < bindparam("id"),
    )
)
# The oldest pending message of one key, whole.
HEAD_OF_KEY = Prepared(
    select(outbox_table()).where(outbox_table().c.id == _oldest_of_key.scalar_subquery())
)
# Given every column but the id, which it returns.
INSERT = Prepared(insert(outbox_table()).returning(outbox_table().c.id))

# Delete delivered messages: one id at a time, all in one execute_many.
FORGET = Prepared(delete(outbox_table()).where(outbox_table().c.id == bindparam("id")))
# PostgreSQL: a transaction-scoped lock on one (channel, ordering key).
KEY_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
