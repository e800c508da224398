"""A durable outbox: messages to other systems, delivered at least once, in order per key.

A part of nsgw that must tell another system something (an NSI callback to a
requester, an operation result to a workflow's callback URL) adds an outbox
row in the same transaction as the state change it reports, so neither can be
lost without the other.  The outbox then delivers in the background:

- per (channel, ordering key), strictly in order: a message is attempted only
  when every earlier message of its key was delivered or given up;
- different keys in parallel, up to a concurrency limit, and continuously:
  a message is attempted as soon as a slot is free, never held back until
  unrelated deliveries finish;
- at most ``per_destination`` attempts at once to one destination, so a slow
  receiver cannot take every slot from the others; a message that must wait
  for a slot waits in memory, in the order the messages came, and goes as
  soon as one is free (a bounded queue: beyond it, the database is read again
  once slots are free);
- failures retried with capped, jittered exponential backoff;
- after ``give_up_after`` seconds a message is recorded as expired and the
  channel's give-up hook runs (NSI: messageDeliveryTimeout);
- rows survive restarts; delivery resumes where it stopped.

Delivered messages are deleted in batches (:meth:`Outbox._settle_now`); a
key stays in flight until its delivered message is deleted, unless the next
message of the key is already known:

- a message added through :meth:`add_now` right behind one this outbox is
  attempting (or has delivered) is its *successor*: it is attempted as soon as
  that one is delivered, without reading the database, and both are deleted
  later, together with others.  Messages added at the pace of their
  deliveries (a requester answering each callback with its next request) cost
  no unit of the outbox's own.  (Rows written to the table directly, as the
  operations' callbacks are, are read back: they have no successors.);
- a message alone in its key is deleted within ``settle_linger`` seconds;
- any other is deleted at once, and the next of its key read in that unit.

A crash before the delete sends a delivered message again after the restart,
in order with the rest of its key: delivery is at least once.  A delete that
fails is tried again; the messages stay in flight meanwhile, so none is sent
twice by a running outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Row, func, select, update
from sqlalchemy.orm import Session

from gateway.db import Database, utcnow
from gateway.logs import get_logger
from gateway.outbox_store import (
    DUE_HEADS,
    EXPIRED,
    FORGET,
    HEAD_OF_KEY,
    INSERT,
    KEY_LOCK,
    PENDING,
    PREDECESSOR,
    REFUSED,
    Envelope,
    OutboxRow,
    Pending,
    outbox_table,
)

__all__ = [
    "EXPIRED",
    "PENDING",
    "REFUSED",
    "Added",
    "Deliver",
    "DeliveryError",
    "DeliveryRefused",
    "Envelope",
    "Outbox",
    "OutboxRow",
]

log = get_logger(__name__)
# Where a unit's session keeps what it added to the outbox.
_ADDED = "nsgw_outbox_added"


def _by_id(message: Pending) -> int:
    return message.id


def _delete(connection: Connection, ids: list[int]) -> None:
    """Delete delivered messages (one statement, run for each id)."""
    FORGET.execute_many(connection, [{"id": row_id} for row_id in ids])


class DeliveryError(Exception):
    """Delivery failed for now; the outbox retries later."""


class DeliveryRefused(Exception):
    """The receiver refused the message for good; retrying cannot help."""


class Deliver(Protocol):
    async def __call__(self, message: Envelope) -> None:
        """Deliver or raise DeliveryError (retry) / DeliveryRefused (give up now)."""


GiveUp = Callable[[Envelope, str], Awaitable[None]]


@dataclass
class Added:
    """What a unit of work added to the outbox (see :meth:`Outbox.add_now`)."""

    heads: list[Pending] = field(default_factory=list)  # first of their keys
    # messages that are not the first of their keys, each with the id right before it
    successors: list[tuple[int, Pending]] = field(default_factory=list)
    last: dict[tuple[str, str], int] = field(default_factory=dict)  # last id added, by key


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
        concurrency: int = 32,
        per_destination: int | None = None,
        base_delay: float = 0.5,
        max_delay: float = 60.0,
        give_up_after: float = 3600.0,
        poll_interval: float = 1.0,
        settle_linger: float = 0.05,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._settle_linger = settle_linger
        self._concurrency = concurrency
        self._base_delay, self._max_delay = base_delay, max_delay
        self._default_give_up = timedelta(seconds=give_up_after)
        self._poll_interval = poll_interval
        self._clock = clock
        self._channels: dict[str, _Channel] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._per_destination = per_destination or max(1, concurrency // 2)
        # key -> id of its message being attempted, or delivered and not yet deleted
        self._in_flight: dict[tuple[str, str], int] = {}
        self._busy: dict[str, int] = {}  # attempts running, by destination
        self._settling: list[tuple[int, tuple[str, str]]] = []  # delivered, not yet deleted
        self._delivered: set[int] = set()  # their ids
        self._next: dict[int, Pending] = {}  # id in flight -> the successor that goes after it
        self._chained: set[int] = set()  # successors waiting in _next (each may have its own)
        self._settle = asyncio.Event()
        self._linger: asyncio.TimerHandle | None = None  # a settle of lone messages is due
        self._lone: set[int] = set()  # messages attempted while alone in their key
        self._followed: set[tuple[str, str]] = set()  # keys with a message waiting behind
        self._running: set[asyncio.Task[None]] = set()
        # Heads that may go once a slot is free, oldest first; their keys are in flight
        # (so no read fetches them again), their destinations not yet busy with them.
        self._queued: deque[Pending] = deque()
        self._queue_limit = concurrency * 4
        self._delivering = False  # the background loop runs
        self._held_back = False  # the last read found more than the free slots could take
        self._reads = 0  # reads of due heads begun so far
        self._settled: dict[int, int] = {}  # message id -> reads begun when it was settled
        self._reading: set[int] = set()  # generations of the reads of due heads under way

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

    def add_now(
        self,
        session: Session,
        channel: str,
        ordering_key: str,
        *,
        destination: str,
        payload: bytes,
        attributes: dict[str, Any] | None = None,
        new_key: bool = False,
    ) -> None:
        """Add a message inside the caller's unit of work (on a database thread).

        Once the unit has committed, hand :meth:`added` of its session to
        :meth:`offer`: a message that is the first of its key is then attempted
        at once, without reading it back.  A message added by a unit that rolls
        back is never sent.  ``new_key`` says the unit made the key itself (a
        new connection's id, say): no message can be in front, so none is
        looked for.
        """
        now = self._clock()
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            # Several writer threads: messages of one key are added one at a time,
            # so their ids follow their commits and "oldest of its key" is exact.
            connection.execute(KEY_LOCK, {"key": f"{channel}/{ordering_key}"})
        attributes = attributes or {}
        values = {
            "channel": channel,
            "ordering_key": ordering_key,
            "destination": destination,
            "payload": payload,
            "attributes": attributes,
            "state": PENDING,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
            "last_error": None,
        }
        added = INSERT.first(connection, values)
        added_here: Added = session.info.setdefault(_ADDED, Added())
        key = (channel, ordering_key)
        message = Pending(
            Envelope(added.id, channel, ordering_key, destination, payload, attributes, 1, now), now
        )
        behind = added_here.last.get(key)  # right behind one this unit added: no need to look
        added_here.last[key] = added.id
        if behind is None and not new_key:
            params = {"channel": channel, "key": ordering_key, "id": added.id}
            behind = PREDECESSOR.first(connection, params)[0]
        if behind is None:
            added_here.heads.append(message)
        else:
            added_here.successors.append((behind, message))

    @staticmethod
    def added(session: Session) -> Added:
        """What this unit added (hand it to :meth:`offer` once the unit has committed)."""
        added: Added = session.info.pop(_ADDED, None) or Added()
        return added

    def offer(self, added: Added) -> None:
        """Messages a committed unit added: the first of their keys are attempted at once
        where the limits allow, else the deliverer is woken to read them; a message
        right behind one in flight here goes when that one is delivered."""
        started = True
        behind = {message.key for _, message in added.successors}
        for head in added.heads:
            if not self._start_or_queue(head):
                started = False
            elif head.key not in behind:
                self._lone.add(head.id)
        followed: set[tuple[str, str]] = set()
        for predecessor, message in added.successors:  # in the order they were added
            if not self._follow(predecessor, message):
                followed.add(message.key)  # read back once the one in front is settled
                if message.key not in self._in_flight:
                    started = False  # settled meanwhile: nothing here will start it
        if followed:
            self._followed |= followed
            if any(key in followed for _, key in self._settling):
                self._settle.set()  # a delivered message lingers in front of them: delete it
        if not started:
            self.wake()

    def _follow(self, predecessor: int, message: Pending) -> bool:
        """Let ``message`` go right after ``predecessor``, the message in front of it, if
        that is in flight here or waits to follow another: at once if it was delivered,
        else when it is.  False if it is neither."""
        key = message.key
        waiting = self._in_flight.get(key) == predecessor or predecessor in self._chained
        if not waiting:
            return False  # settled meanwhile, or not attempted here: the settle or a read finds it
        if predecessor not in self._delivered:
            self._next[predecessor] = message
            self._chained.add(message.id)
            return True
        return self._start_successor(predecessor, message)

    def _drop_successor(self, predecessor: int) -> Pending | None:
        """The successor waiting for ``predecessor``, no longer waiting."""
        successor = self._next.pop(predecessor, None)
        if successor is not None:
            self._chained.discard(successor.id)
        return successor

    def _start_successor(self, predecessor: int, message: Pending) -> bool:
        """Attempt ``message`` now that ``predecessor`` is delivered (it is deleted later)."""
        del self._in_flight[message.key]
        if not self._start_or_queue(message):
            self._in_flight[message.key] = predecessor  # the settle starts it
            return False
        self._lone.add(message.id)
        return True

    async def enqueue(
        self,
        channel: str,
        ordering_key: str,
        *,
        destination: str,
        payload: bytes,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        """Add a message in a transaction of its own and deliver it (one unit, one hop)."""

        def add(session: Session) -> Added:
            self.add_now(
                session,
                channel,
                ordering_key,
                destination=destination,
                payload=payload,
                attributes=attributes,
            )
            return self.added(session)

        self.offer(await self._db.threaded.write(add))

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
        """Deliver continuously: each due head is attempted as soon as a slot is free.

        Attempts are not grouped into passes that wait for their slowest
        member: a finished attempt frees its slot at once and wakes this loop,
        so a new message (or the next one of a key) does not wait for a slow
        receiver elsewhere.  Delivered messages are deleted in batches by
        :meth:`_settle_loop`; their keys stay in flight until then (order per key).
        """
        running = self._running
        self._delivering = True
        settler = asyncio.create_task(self._settle_loop(), name="outbox-settle")
        try:
            while True:
                # Cleared before reading, so a wake-up meanwhile is not lost.
                self._wake.clear()
                # Held back by the limits: a finished attempt wakes this loop.
                self._held_back = len(running) >= self._concurrency
                if not self._held_back and self._channels:
                    free = self._concurrency - len(running)
                    saturated = self._saturated()
                    try:
                        heads = await self._due_heads(saturated, free)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("outbox read failed; retrying")
                        heads = []
                    # Messages to a saturated destination were left out: the next
                    # attempt that ends must wake this loop to read them.
                    self._held_back = len(heads) >= free or bool(saturated)
                    for message in heads:
                        if not self._start_or_queue(message):
                            self._held_back = True
                await self._sleep()
        finally:
            self._delivering = False
            self._drop_queue()
            self._next.clear()  # successors not yet started stay pending for the next start
            self._chained.clear()
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            # The settler finishes the delete it may be in (cancelled, its unit could
            # commit after stop() returned), then stops; what is left is deleted here.
            self._settle.set()
            await asyncio.gather(settler, return_exceptions=True)
            await self._settle_now()

    async def _sleep(self) -> None:
        """Wait for a wake-up or the poll interval.

        Not ``asyncio.wait_for``: on Python 3.11 it can swallow a cancellation
        that arrives as the wake-up does, and :meth:`stop` would wait forever.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._poll_interval):
                await self._wake.wait()

    def _saturated(self) -> list[str]:
        """Destinations that already have as many attempts running as they may."""
        return [dest for dest, n in self._busy.items() if n >= self._per_destination]

    def _start(self, message: Pending) -> None:
        """Attempt ``message`` in a task of its own; its key is in flight until it is settled."""
        self._claim(message)
        task = asyncio.create_task(self._attempt_alone(message))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    def _start_or_queue(self, message: Pending) -> bool:
        """Start ``message`` now if its key is free and the limits allow, else queue it
        behind the messages already waiting for a slot.

        False when it is left for a later read: the loop does not run, its key
        is in flight, or the queue is full.
        """
        if not self._delivering or message.key in self._in_flight:
            return False
        destination = message.destination
        waiting = any(queued.destination == destination for queued in self._queued)
        if not waiting and self._has_slot(destination):
            self._start(message)
            return True
        if len(self._queued) >= self._queue_limit:
            return False
        self._in_flight[message.key] = message.id
        self._queued.append(message)
        return True

    def _has_slot(self, destination: str) -> bool:
        return (
            len(self._running) < self._concurrency
            and self._busy.get(destination, 0) < self._per_destination
        )

    def _start_queued(self) -> None:
        """Slots are free: start the oldest queued messages whose destinations have room."""
        kept: deque[Pending] = deque()
        while self._queued and len(self._running) < self._concurrency:
            message = self._queued.popleft()
            if self._has_slot(message.destination):
                self._start(message)
            else:
                kept.append(message)
        kept.extend(self._queued)
        self._queued = kept

    def _drop_queue(self) -> None:
        """Forget the queued messages (they stay pending in the database)."""
        for message in self._queued:
            if self._in_flight.get(message.key) == message.id:
                del self._in_flight[message.key]
        self._queued.clear()

    def _claim(self, message: Pending) -> None:
        self._in_flight[message.key] = message.id
        self._busy[message.destination] = self._busy.get(message.destination, 0) + 1

    def _release(self, message: Pending) -> None:
        """The attempt of ``message`` ended: its destination has a slot free again."""
        left = self._busy.get(message.destination, 0) - 1
        if left > 0:
            self._busy[message.destination] = left
        else:
            self._busy.pop(message.destination, None)

    def _unlock(self, row_id: int, key: tuple[str, str]) -> None:
        """``row_id`` is settled in the database: the next message of its key may go
        (unless it went already, as a successor)."""
        self._settled[row_id] = self._reads
        self._delivered.discard(row_id)
        if self._in_flight.get(key) == row_id:
            del self._in_flight[key]

    async def _attempt_alone(self, message: Pending) -> None:
        key = message.key
        delivered: list[int] = []
        try:
            await self._attempt(message, delivered)
        except asyncio.CancelledError:
            raise
        except Exception:  # a failed bookkeeping write: attempted again later
            log.exception("outbox attempt failed", channel=key[0], key=key[1])
        finally:
            self._release(message)
            current = asyncio.current_task()
            if current is not None:
                self._running.discard(current)  # its slot is free from now on
            self._start_queued()
            successor = self._drop_successor(message.id)
            if delivered:
                self._settling.append((message.id, key))  # the key stays in flight until deleted
                self._delivered.add(message.id)
                if successor is not None:
                    if self._start_successor(message.id, successor):
                        self._settle_later()
                    else:
                        self._settle.set()  # its settle starts the successor
                elif message.id in self._lone and key not in self._followed:
                    self._settle_later()
                else:
                    self._settle.set()
            else:  # its successor is read back after it, in its turn
                self._lone.discard(message.id)
                self._followed.discard(key)  # a retry is read back: settled at once anyway
                self._unlock(message.id, key)
            if self._held_back or not delivered:  # else the settle wakes the loop
                self.wake()

    def _settle_later(self) -> None:
        """Delete the delivered lone messages within ``settle_linger``, in one unit."""
        if self._linger is None:
            loop = asyncio.get_running_loop()
            self._linger = loop.call_later(self._settle_linger, self._settle_lingering)

    def _settle_lingering(self) -> None:
        self._linger = None
        self._settle.set()

    async def _settle_loop(self) -> None:
        """Delete delivered messages in batches, then let the next of their keys go."""
        while self._delivering:
            await self._settle.wait()
            self._settle.clear()
            try:
                if await self._settle_now():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # their keys stay in flight: tried again, none sent twice
                log.exception("outbox could not delete delivered messages; retrying")
                asyncio.get_running_loop().call_later(self._poll_interval, self._settle.set)
                continue
            self.wake()

    async def _settle_now(self) -> bool:
        """Delete the delivered messages; start the next of their keys if it may go now.

        The next message of each key is read in the same unit as the delete,
        on the writer's connection, so it is the key's head for certain.
        Returns whether every such head was started (else the loop is woken).
        """
        batch, self._settling = self._settling, []
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if not batch:
            return True
        for row_id, _ in batch:
            self._lone.discard(row_id)
        ids = [row_id for row_id, _ in batch]
        # Keys whose successor is under way are its to move on; only the others' next is read.
        keys = {key for row_id, key in batch if self._in_flight.get(key) == row_id}

        def forget(session: Session) -> list[Pending]:
            connection = session.connection()
            _delete(connection, ids)
            heads = [
                HEAD_OF_KEY.first(connection, {"channel": channel, "key": key})
                for channel, key in keys
            ]
            return sorted((Pending.of(row) for row in heads if row is not None), key=_by_id)

        try:
            heads = await self._db.threaded.write(forget)
        except BaseException:
            self._settling[:0] = batch  # deleted with the next batch; in flight until then
            raise
        for row_id, key in batch:
            self._unlock(row_id, key)
        # Nothing waits behind a key left empty; behind any other, the next may.
        self._followed -= keys - {message.key for message in heads}
        now = self._clock()
        started = True
        for message in heads:
            if self._in_flight.get(message.key) == message.id:
                continue  # under way already, as the successor of a deleted one
            if message.next_attempt_at <= now:
                started = self._start_or_queue(message) and started
        return started

    async def _due_heads(
        self, skip_destinations: list[str] | None = None, limit: int | None = None
    ) -> list[Pending]:
        """The oldest pending message of each key, where it is due and not in flight.

        One read-only unit on the database's own thread: on SQLite it reads a
        snapshot without taking the write lock, so it neither waits for nor
        delays the writers.  A head read here is attempted at most once at a
        time (its key is in flight until it is settled), and a later message
        of its key is not a head until it is deleted.  A read that began
        before a message was settled may still show it (a snapshot, or a
        statement that started earlier): messages settled since the read
        began are left out, so such a read cannot deliver one twice nor
        reorder a key.
        """
        params = {
            "now": self._clock(),
            "channels": list(self._channels),
            # in flight, or delivered and not yet deleted (their successors may have gone)
            "busy": [*self._in_flight.values(), *self._delivered],
            "skip": skip_destinations or [],
            "limit": limit or self._concurrency * 4,
        }

        def read(session: Session) -> list[Row[Any]]:
            return list(session.connection().execute(DUE_HEADS, params))

        generation = self._reads
        self._reads += 1
        self._reading.add(generation)
        try:
            rows = await self._db.threaded.read(read)
        finally:
            self._reading.discard(generation)
        # Settled after this read began (it may show them as they were before).
        since = {i for i, g in self._settled.items() if g > generation}
        # Forget what no read still running can show: reads may end out of order
        # (PostgreSQL runs them on several threads), so keep every message settled
        # after the oldest read still running began.
        oldest = min(self._reading, default=self._reads)
        self._settled = {i: g for i, g in self._settled.items() if g > oldest}
        return [
            Pending.of(row)
            for row in rows
            if (row.channel, row.ordering_key) not in self._in_flight and row.id not in since
        ]

    async def run_once(self) -> int:
        """Attempt every message that is due now, as one pass; return how many were settled.

        For tests and tools; the background loop delivers continuously.
        Delivered messages are deleted together at the end of the pass; their
        keys stay in flight until then.
        """
        if not self._channels:
            return 0
        heads = await self._due_heads()
        if not heads:
            return 0
        limit = asyncio.Semaphore(self._concurrency)
        self._in_flight.update((message.key, message.id) for message in heads)
        delivered: list[int] = []

        async def attempt(message: Pending) -> bool:
            async with limit:
                return await self._attempt(message, delivered)

        try:
            settled = await asyncio.gather(*(attempt(message) for message in heads))
            await self._forget(delivered)
        finally:
            for message in heads:
                self._drop_successor(message.id)  # found by the next pass instead
                self._unlock(message.id, message.key)
        return sum(settled)

    async def _forget(self, ids: list[int]) -> None:
        """Delete delivered messages, all in one statement."""
        if not ids:
            return

        def forget(session: Session) -> None:
            _delete(session.connection(), ids)

        await self._db.threaded.write(forget)

    async def _attempt(self, message: Pending, delivered: list[int]) -> bool:
        envelope = message.envelope
        channel = self._channels[envelope.channel]
        try:
            await channel.deliver(envelope)
        except DeliveryRefused as exc:
            await self._give_up(envelope, REFUSED, f"refused: {exc}", channel)
            return True
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            if self._clock() - envelope.created_at >= channel.give_up_after:
                await self._give_up(envelope, EXPIRED, f"expired: {reason}", channel)
                return True
            await self._reschedule(envelope, reason)
            return False
        delivered.append(message.id)
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
        await self._update(
            envelope.id,
            attempts=envelope.attempts,
            last_error=reason,
            next_attempt_at=self._clock() + timedelta(seconds=delay),
        )

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
        await self._update(envelope.id, state=state, attempts=envelope.attempts, last_error=reason)
        if channel.on_give_up is not None:
            try:
                await channel.on_give_up(envelope, reason)
            except Exception:
                log.exception("outbox give-up hook failed", channel=envelope.channel)

    async def _update(self, row_id: int, **values: Any) -> None:
        """Change one message's bookkeeping columns, in one unit on the database's thread."""
        table = outbox_table()

        def change(session: Session) -> None:
            session.execute(update(table).where(table.c.id == row_id).values(**values))

        await self._db.threaded.write(change)
