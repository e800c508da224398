"""A durable outbox: messages to other systems, delivered at least once, in order per key.

A part of nsgw that must tell another system something (an NSI callback to a
requester, an operation result to a workflow's callback URL) adds an outbox
row in the same transaction as the state change it reports, so neither can be
lost without the other.  The outbox then delivers in the background:

- per (channel, ordering key), strictly in order: a message is attempted only
  when every earlier message of its key was delivered or given up;
- different keys in parallel, up to a concurrency limit;
- failures retried with capped, jittered exponential backoff;
- after ``give_up_after`` seconds a message is recorded as expired and the
  channel's give-up hook runs (NSI: messageDeliveryTimeout);
- rows survive restarts; delivery resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    Row,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.db import Base, Database, UtcDateTime, table_of, utcnow
from gateway.logs import get_logger

log = get_logger(__name__)

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
    )


def _table() -> Table:
    return table_of(OutboxRow)


# The statements of the delivery loop, built once: building them (and their
# cache keys) per pass cost more CPU than SQLite running them, on the threads
# every writer and reader of the process shares.
_outbox = _table()
_HEADS = (
    select(_outbox)
    .where(
        _outbox.c.id.in_(
            select(func.min(_outbox.c.id))
            .where(
                _outbox.c.state == PENDING,
                _outbox.c.channel.in_(bindparam("channels", expanding=True)),
            )
            .group_by(_outbox.c.channel, _outbox.c.ordering_key)
        ),
        _outbox.c.next_attempt_at <= bindparam("now"),
    )
    .order_by(_outbox.c.id)
    .limit(bindparam("limit"))
)
_FORGET = delete(_outbox).where(_outbox.c.id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class Envelope:
    """One message as a delivery function sees it."""

    id: int
    channel: str
    ordering_key: str
    destination: str
    payload: bytes
    attributes: dict[str, Any]
    attempts: int
    created_at: datetime


class DeliveryError(Exception):
    """Delivery failed for now; the outbox retries later."""


class DeliveryRefused(Exception):
    """The receiver refused the message for good; retrying cannot help."""


class Deliver(Protocol):
    async def __call__(self, message: Envelope) -> None:
        """Deliver or raise DeliveryError (retry) / DeliveryRefused (give up now)."""


GiveUp = Callable[[Envelope, str], Awaitable[None]]


@dataclass
class _Channel:
    deliver: Deliver
    on_give_up: GiveUp | None
    give_up_after: timedelta


class Outbox:
    def __init__(
        self,
        db: Database,
        *,
        concurrency: int = 16,
        base_delay: float = 0.5,
        max_delay: float = 60.0,
        give_up_after: float = 3600.0,
        poll_interval: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._concurrency = concurrency
        self._base_delay, self._max_delay = base_delay, max_delay
        self._default_give_up = timedelta(seconds=give_up_after)
        self._poll_interval = poll_interval
        self._clock = clock
        self._channels: dict[str, _Channel] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[tuple[str, str]] = set()

    def register(
        self,
        channel: str,
        deliver: Deliver,
        *,
        on_give_up: GiveUp | None = None,
        give_up_after: float | None = None,
    ) -> None:
        """Name the function that delivers the messages of ``channel``."""
        after = self._default_give_up if give_up_after is None else timedelta(seconds=give_up_after)
        self._channels[channel] = _Channel(deliver, on_give_up, after)

    def add(
        self,
        session: AsyncSession,
        channel: str,
        ordering_key: str,
        *,
        destination: str,
        payload: bytes,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        """Add a message inside the caller's transaction; call :meth:`wake` after commit."""
        now = self._clock()
        session.add(
            OutboxRow(
                channel=channel,
                ordering_key=ordering_key,
                destination=destination,
                payload=payload,
                attributes=attributes or {},
                state=PENDING,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
        )

    async def enqueue(
        self,
        channel: str,
        ordering_key: str,
        *,
        destination: str,
        payload: bytes,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        """Add a message in a transaction of its own and wake the deliverer.

        The transaction is one unit on the database's own thread (one hop).
        """
        now = self._clock()
        values = {
            "channel": channel,
            "ordering_key": ordering_key,
            "destination": destination,
            "payload": payload,
            "attributes": attributes or {},
            "state": PENDING,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        table = _table()

        def add(session: Session) -> None:
            session.execute(insert(table), values)

        await self._db.threaded.write(add)
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox")

    async def stop(self) -> None:
        """Stop delivering; what is not delivered stays in the database for next time."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def pending(self, channel: str | None = None) -> int:
        async with self._db.reading() as session:
            query = select(func.count()).select_from(OutboxRow).where(OutboxRow.state == PENDING)
            if channel:
                query = query.where(OutboxRow.channel == channel)
            return int((await session.execute(query)).scalar_one())

    async def counts(self) -> dict[str, int]:
        """Messages per state (delivered ones are removed), for logs and metrics."""
        async with self._db.reading() as session:
            rows = await session.execute(
                select(OutboxRow.state, func.count()).group_by(OutboxRow.state)
            )
            return {state: int(n) for state, n in rows.all()}

    async def _run(self) -> None:
        while True:
            # Cleared before the pass, so a wake-up during the pass is not lost.
            self._wake.clear()
            try:
                settled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox pass failed; retrying")
                settled = 0
            if settled:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)

    async def _due_heads(self) -> list[Row[Any]]:
        """The oldest pending message of each key, where it is due and not in flight.

        One read-only unit on the database's own thread: on SQLite it reads a
        snapshot without taking the write lock, so it neither waits for nor
        delays the writers.  A head read here is attempted at most once at a
        time (its key is in flight until it is settled), and a later message
        of its key is not a head until it is deleted, so reading a snapshot
        cannot reorder a key.
        """
        params = {
            "channels": list(self._channels),
            "now": self._clock(),
            "limit": self._concurrency * 4,
        }

        def read(session: Session) -> list[Row[Any]]:
            return list(session.connection().execute(_HEADS, params).all())

        rows = await self._db.threaded.read(read)
        return [row for row in rows if (row.channel, row.ordering_key) not in self._in_flight]

    async def run_once(self) -> int:
        """Attempt every message that is due now; return how many were settled.

        Delivered messages are deleted together, in one transaction at the end
        of the pass; their keys stay in flight until then, so the next message
        of a key is not attempted before its predecessor is gone.
        """
        if not self._channels:
            return 0
        heads = await self._due_heads()
        if not heads:
            return 0
        limit = asyncio.Semaphore(self._concurrency)
        keys = [(row.channel, row.ordering_key) for row in heads]
        self._in_flight.update(keys)
        delivered: list[int] = []

        async def attempt(row: Row[Any]) -> bool:
            async with limit:
                return await self._attempt(row, delivered)

        try:
            settled = await asyncio.gather(*(attempt(row) for row in heads))
            await self._forget(delivered)
        finally:
            self._in_flight.difference_update(keys)
        return sum(settled)

    async def _forget(self, ids: list[int]) -> None:
        """Delete delivered messages, all in one statement."""
        if not ids:
            return

        def forget(session: Session) -> None:
            session.connection().execute(_FORGET, {"ids": ids})

        await self._db.threaded.write(forget)

    async def _attempt(self, row: Row[Any], delivered: list[int]) -> bool:
        channel = self._channels[row.channel]
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
        try:
            await channel.deliver(envelope)
        except DeliveryRefused as exc:
            await self._give_up(envelope, REFUSED, f"refused: {exc}", channel)
            return True
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            if self._clock() - row.created_at >= channel.give_up_after:
                await self._give_up(envelope, EXPIRED, f"expired: {reason}", channel)
                return True
            await self._reschedule(envelope, reason)
            return False
        delivered.append(row.id)
        return True

    def _backoff(self, attempts: int) -> float:
        delay = min(self._max_delay, self._base_delay * 2.0 ** (attempts - 1))
        return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 (jitter, not security)

    async def _reschedule(self, envelope: Envelope, reason: str) -> None:
        delay = self._backoff(envelope.attempts)
        log.warning(
            "outbox delivery failed; will retry",
            channel=envelope.channel,
            key=envelope.ordering_key,
            attempt=envelope.attempts,
            retry_in=round(delay, 2),
            error=reason,
        )
        async with self._db.transaction() as session:
            stored = await session.get(OutboxRow, envelope.id)
            if stored is not None:
                stored.attempts = envelope.attempts
                stored.last_error = reason
                stored.next_attempt_at = self._clock() + timedelta(seconds=delay)

    async def _give_up(
        self, envelope: Envelope, state: str, reason: str, channel: _Channel
    ) -> None:
        log.error(
            "outbox message undeliverable",
            channel=envelope.channel,
            key=envelope.ordering_key,
            destination=envelope.destination,
            attempts=envelope.attempts,
            reason=reason,
        )
        async with self._db.transaction() as session:
            stored = await session.get(OutboxRow, envelope.id)
            if stored is not None:
                stored.state = state
                stored.attempts = envelope.attempts
                stored.last_error = reason
        if channel.on_give_up is not None:
            try:
                await channel.on_give_up(envelope, reason)
            except Exception:
                log.exception("outbox give-up hook failed", channel=envelope.channel)
