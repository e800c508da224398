"""The durable outbox on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from gateway.db import Database
from gateway.outbox import Added, DeliveryError, DeliveryRefused, Envelope, Outbox


class Recorder:
    """A receiver that can be told to fail, and records what it got."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.failing: set[bytes] = set()
        self.refusing: set[bytes] = set()
        self.attempts: list[bytes] = []

    async def __call__(self, message: Envelope) -> None:
        self.attempts.append(message.payload)
        if message.payload in self.refusing:
            raise DeliveryRefused("receiver said no")
        if message.payload in self.failing:
            raise DeliveryError("receiver down")
        self.received.append((message.ordering_key, message.payload))


async def drain(outbox: Outbox, rounds: int = 50) -> None:
    for _ in range(rounds):
        await outbox.run_once()
        if not await outbox.pending():
            return
        await asyncio.sleep(0.01)


async def test_messages_of_one_key_arrive_in_order(database: Database) -> None:
    outbox = Outbox(database)
    receiver = Recorder()
    outbox.register("cb", receiver)
    for i in range(5):
        await outbox.enqueue(
            "cb", "conn-a", destination="http://127.0.0.1:1/x", payload=f"a{i}".encode()
        )
        await outbox.enqueue(
            "cb", "conn-b", destination="http://127.0.0.1:1/x", payload=f"b{i}".encode()
        )
    await drain(outbox)
    assert [p for k, p in receiver.received if k == "conn-a"] == [
        f"a{i}".encode() for i in range(5)
    ]
    assert [p for k, p in receiver.received if k == "conn-b"] == [
        f"b{i}".encode() for i in range(5)
    ]
    assert await outbox.pending() == 0


async def test_a_failing_message_holds_back_later_ones_of_its_key_only(database: Database) -> None:
    outbox = Outbox(database, base_delay=0.01, max_delay=0.02)
    receiver = Recorder()
    receiver.failing.add(b"a1")
    outbox.register("cb", receiver)
    for payload, key in [(b"a1", "a"), (b"a2", "a"), (b"b1", "b")]:
        await outbox.enqueue("cb", key, destination="dest", payload=payload)
    for _ in range(5):
        await outbox.run_once()
        await asyncio.sleep(0.03)
    assert receiver.received == [("b", b"b1")]
    assert b"a2" not in receiver.attempts
    receiver.failing.clear()
    await drain(outbox)
    assert receiver.received == [("b", b"b1"), ("a", b"a1"), ("a", b"a2")]


async def test_an_expired_message_is_recorded_and_reported_then_the_key_moves_on(
    database: Database,
) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    clock = [now]
    outbox = Outbox(database, base_delay=0.0, max_delay=0.0, clock=lambda: clock[0])
    receiver = Recorder()
    receiver.failing.add(b"first")
    gave_up: list[tuple[bytes, str]] = []

    async def on_give_up(message: Envelope, reason: str) -> None:
        gave_up.append((message.payload, reason))

    outbox.register("cb", receiver, on_give_up=on_give_up, give_up_after=60)
    await outbox.enqueue("cb", "k", destination="dest", payload=b"first")
    await outbox.enqueue("cb", "k", destination="dest", payload=b"second")
    await outbox.run_once()
    assert gave_up == []
    clock[0] = now + timedelta(seconds=61)
    await outbox.run_once()
    assert gave_up == [(b"first", "expired: receiver down")]
    await outbox.run_once()
    assert receiver.received == [("k", b"second")]
    assert await outbox.counts() == {"expired": 1}


async def test_a_refused_message_is_given_up_at_once(database: Database) -> None:
    outbox = Outbox(database)
    receiver = Recorder()
    receiver.refusing.add(b"bad")
    reasons: list[str] = []

    async def on_give_up(message: Envelope, reason: str) -> None:
        reasons.append(reason)

    outbox.register("cb", receiver, on_give_up=on_give_up)
    await outbox.enqueue("cb", "k", destination="dest", payload=b"bad")
    await outbox.run_once()
    assert reasons == ["refused: receiver said no"]
    assert await outbox.counts() == {"refused": 1}


async def test_messages_survive_a_restart(database_url: str) -> None:
    first = Database(database_url)
    await first.migrate()
    await Outbox(first).enqueue("cb", "k", destination="dest", payload=b"kept")
    await first.dispose()

    second = Database(database_url)
    outbox = Outbox(second)
    receiver = Recorder()
    outbox.register("cb", receiver)
    await drain(outbox)
    assert receiver.received == [("k", b"kept")]
    await second.dispose()


async def test_a_message_added_in_a_rolled_back_transaction_is_never_sent(
    database: Database,
) -> None:
    outbox = Outbox(database)
    receiver = Recorder()
    outbox.register("cb", receiver)

    def failed_state_change(session: Session) -> None:
        outbox.add_now(session, "cb", "k", destination="dest", payload=b"ghost")
        raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        await database.threaded.write(failed_state_change)
    await outbox.run_once()
    assert receiver.received == []
    assert await outbox.pending() == 0


async def test_the_background_loop_delivers_without_being_polled(database: Database) -> None:
    outbox = Outbox(database, poll_interval=5)
    receiver = Recorder()
    outbox.register("cb", receiver)
    await outbox.start()
    try:
        await outbox.enqueue("cb", "k", destination="dest", payload=b"now")
        for _ in range(200):
            if receiver.received:
                break
            await asyncio.sleep(0.01)
    finally:
        await outbox.stop()
    assert receiver.received == [("k", b"now")]


async def wait_until(condition: Callable[[], bool], rounds: int = 1000) -> None:
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.01)


class Jittery:
    """Takes up to ``max_delay`` seconds for each message; records (key, number)."""

    def __init__(self, max_delay: float) -> None:
        self.max_delay = max_delay
        self.received: list[tuple[str, int]] = []

    async def __call__(self, message: Envelope) -> None:
        await asyncio.sleep(random.uniform(0, self.max_delay))
        self.received.append((message.ordering_key, int(message.payload)))


async def produce_then_stop(
    outbox: Outbox, producing: Awaitable[Any], arrived: Callable[[], bool]
) -> None:
    """Add the messages, wait until they arrived and a little more (room for a
    duplicate to show up), then stop the outbox, also if adding failed."""
    try:
        await producing
        await wait_until(arrived)
        await asyncio.sleep(0.1)
    finally:
        await outbox.stop()


def by_key(received: list[tuple[str, int]]) -> dict[str, list[int]]:
    """What each key received, in the order it arrived."""
    arrived: dict[str, list[int]] = {}
    for key, n in received:
        arrived.setdefault(key, []).append(n)
    return arrived


class SlowReceiver:
    """Holds every delivery to the destination ``slow`` until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.received: list[tuple[str, str, bytes]] = []
        self.waiting = 0

    async def __call__(self, message: Envelope) -> None:
        if message.destination == "slow":
            self.waiting += 1
            await self.release.wait()
        self.received.append((message.destination, message.ordering_key, message.payload))


async def test_a_slow_receiver_does_not_hold_up_deliveries_to_another(database: Database) -> None:
    outbox = Outbox(database, concurrency=4, per_destination=2, poll_interval=5)
    receiver = SlowReceiver()
    outbox.register("cb", receiver)
    # More messages for the slow receiver (each its own key) than there are slots.
    for i in range(6):
        await outbox.enqueue("cb", f"slow-{i}", destination="slow", payload=b"s")
    await outbox.start()
    try:
        await wait_until(lambda: receiver.waiting == 2)
        # Queued while the slow receiver holds its attempts: delivered meanwhile,
        # the second of a key after the first.
        await outbox.enqueue("cb", "fast", destination="fast", payload=b"f1")
        await outbox.enqueue("cb", "fast", destination="fast", payload=b"f2")
        await outbox.enqueue("cb", "other", destination="fast", payload=b"o1")
        await wait_until(lambda: len(receiver.received) == 3)
        assert sorted(receiver.received) == [
            ("fast", "fast", b"f1"),
            ("fast", "fast", b"f2"),
            ("fast", "other", b"o1"),
        ]
        assert receiver.received.index(("fast", "fast", b"f1")) < receiver.received.index(
            ("fast", "fast", b"f2")
        )
        assert receiver.waiting == 2  # never more than its share of the slots at once
        receiver.release.set()
        await wait_until(lambda: len(receiver.received) == 9)
    finally:
        await outbox.stop()
    assert sorted(key for dest, key, _ in receiver.received if dest == "slow") == [
        f"slow-{i}" for i in range(6)
    ]
    assert await outbox.pending() == 0


async def test_messages_left_out_for_a_busy_destination_go_as_soon_as_it_has_room(
    database: Database,
) -> None:
    """Not at the next poll: every message waits only for the attempts ahead of it."""
    outbox = Outbox(database, concurrency=4, per_destination=2, poll_interval=60)
    received: list[str] = []

    async def steady(message: Envelope) -> None:
        await asyncio.sleep(0.02)
        received.append(message.ordering_key)

    outbox.register("cb", steady)
    await outbox.start()
    try:
        await wait_until(lambda: outbox._delivering)
        for i in range(10):  # each its own key, all to one destination
            await outbox.enqueue("cb", f"k{i}", destination="busy", payload=b"x")
        await wait_until(lambda: len(received) == 10, rounds=500)  # 5 s, not 60
    finally:
        await outbox.stop()
    assert sorted(received) == sorted(f"k{i}" for i in range(10))


async def test_a_newcomer_never_overtakes_a_message_waiting_for_the_same_destination(
    database: Database,
) -> None:
    """The slot a delivery frees goes to the message that waited longest."""
    outbox = Outbox(database, concurrency=4, per_destination=1, poll_interval=60)
    started: list[str] = []
    gate = asyncio.Event()
    newcomers: list[asyncio.Task[None]] = []

    async def newcomer() -> None:
        await outbox.enqueue("cb", "new", destination="busy", payload=b"x")

    async def gated(message: Envelope) -> None:
        started.append(message.ordering_key)
        if message.ordering_key == "first":
            await gate.wait()
            # A message added the moment this delivery ends and its slot is free.
            asyncio.get_running_loop().call_soon(
                lambda: newcomers.append(asyncio.ensure_future(newcomer()))
            )

    outbox.register("cb", gated)
    await outbox.start()
    try:
        await wait_until(lambda: outbox._delivering)
        await outbox.enqueue("cb", "first", destination="busy", payload=b"x")
        await wait_until(lambda: started == ["first"])
        await outbox.enqueue("cb", "waiting", destination="busy", payload=b"x")
        gate.set()
        await wait_until(lambda: len(started) == 3)
        await asyncio.gather(*newcomers)
    finally:
        await outbox.stop()
    assert started == ["first", "waiting", "new"]


async def test_more_messages_waiting_than_the_queue_holds_all_go_in_order(
    database: Database,
) -> None:
    outbox = Outbox(database, concurrency=1, poll_interval=60)  # queues 4 in memory
    started: list[str] = []
    gate = asyncio.Event()

    async def gated(message: Envelope) -> None:
        started.append(message.ordering_key)
        await gate.wait()

    outbox.register("cb", gated)
    await outbox.start()
    try:
        await wait_until(lambda: outbox._delivering)
        for i in range(10):
            await outbox.enqueue("cb", f"k{i}", destination="busy", payload=b"x")
        await wait_until(lambda: started == ["k0"])
        gate.set()
        await wait_until(lambda: len(started) == 10, rounds=500)  # 5 s, not 60
    finally:
        await outbox.stop()
    assert started == [f"k{i}" for i in range(10)]
    assert await outbox.pending() == 0


async def test_the_background_loop_delivers_each_message_once_in_order_per_key(
    database: Database,
) -> None:
    outbox = Outbox(database, concurrency=8, poll_interval=5)
    receiver = Jittery(0.003)
    received = receiver.received
    outbox.register("cb", receiver)
    await outbox.start()

    async def produce() -> None:
        for i in range(20):
            await asyncio.gather(
                *(
                    outbox.enqueue("cb", f"k{k}", destination=f"d{k % 3}", payload=f"{i}".encode())
                    for k in range(6)
                )
            )

    await produce_then_stop(outbox, produce(), lambda: len(received) >= 120)
    assert by_key(received) == {f"k{k}": list(range(20)) for k in range(6)}  # once, in order
    assert await outbox.pending() == 0


async def test_stop_ends_the_loop_even_when_a_wake_up_arrives_with_it(database: Database) -> None:
    outbox = Outbox(database, poll_interval=3600)
    outbox.register("cb", Recorder())
    for _ in range(10):
        await outbox.start()
        await asyncio.sleep(0.05)  # the loop found nothing to do and waits
        outbox.wake()
        await outbox.stop()  # hangs (until the test times out) if the cancellation is lost
    await outbox.enqueue("cb", "k", destination="dest", payload=b"left")
    assert await outbox.pending() == 1


async def test_a_retry_is_attempted_again_by_the_background_loop(database: Database) -> None:
    outbox = Outbox(database, base_delay=0.01, max_delay=0.02, poll_interval=0.05)
    receiver = Recorder()
    receiver.failing.add(b"a1")
    outbox.register("cb", receiver)
    await outbox.start()
    try:
        await outbox.enqueue("cb", "a", destination="dest", payload=b"a1")
        await outbox.enqueue("cb", "a", destination="dest", payload=b"a2")
        await wait_until(lambda: receiver.attempts.count(b"a1") >= 2)
        assert receiver.received == []  # a2 waits for a1
        receiver.failing.clear()
        await wait_until(lambda: len(receiver.received) == 2)
    finally:
        await outbox.stop()
    assert receiver.received == [("a", b"a1"), ("a", b"a2")]
    assert await outbox.pending() == 0


async def test_messages_added_in_a_unit_go_out_when_offered_without_being_read(
    database: Database,
) -> None:
    """A part that queues callbacks in its own units offers the first of each key."""
    outbox = Outbox(database, poll_interval=60)  # the loop would not read them in time
    receiver = SlowReceiver()
    outbox.register("cb", receiver)
    await outbox.start()

    def state_change(payloads: list[bytes]) -> Callable[[Session], Added]:
        def unit(session: Session) -> Added:
            for payload in payloads:
                outbox.add_now(session, "cb", "k", destination="slow", payload=payload)
            return outbox.added(session)

        return unit

    try:
        await wait_until(lambda: outbox._delivering)
        first = await database.threaded.write(state_change([b"first", b"second"]))
        assert len(first.heads) == 1  # "second" waits for "first"
        outbox.offer(first)
        await wait_until(lambda: receiver.waiting == 1)
        later = await database.threaded.write(state_change([b"third"]))
        assert later.heads == []  # not the first of its key
        outbox.offer(later)
        receiver.release.set()
        await wait_until(lambda: len(receiver.received) == 3)
    finally:
        await outbox.stop()
    assert [payload for _, _, payload in receiver.received] == [b"first", b"second", b"third"]


async def test_a_key_made_by_the_unit_is_offered_as_added_and_keeps_its_order(
    database: Database,
) -> None:
    """``new_key``: nothing is looked up, and what is delivered is what was added."""
    outbox = Outbox(database, poll_interval=60)
    envelopes: list[Envelope] = []

    async def deliver(message: Envelope) -> None:
        envelopes.append(message)

    outbox.register("cb", deliver)
    await outbox.start()

    def unit(session: Session) -> Added:
        attributes = {"method": "ReserveConfirmed"}
        outbox.add_now(
            session, "cb", "new", destination="d", payload=b"1", attributes=attributes, new_key=True
        )
        outbox.add_now(session, "cb", "new", destination="d", payload=b"2")
        return outbox.added(session)

    try:
        await wait_until(lambda: outbox._delivering)
        added = await database.threaded.write(unit)
        assert [message.envelope.payload for message in added.heads] == [b"1"]  # "2" waits
        outbox.offer(added)
        await wait_until(lambda: len(envelopes) == 2)
    finally:
        await outbox.stop()
    first, second = envelopes
    assert (first.payload, first.destination, first.attributes) == (
        b"1",
        "d",
        {"method": "ReserveConfirmed"},
    )
    assert (first.attempts, second.payload, second.attempts) == (1, b"2", 1)
    assert first.created_at.tzinfo is not None
    assert await outbox.pending() == 0


async def test_a_lone_delivered_message_lingers_until_another_is_added_behind_it(
    database: Database,
) -> None:
    outbox = Outbox(database, poll_interval=60, settle_linger=60)
    receiver = Recorder()
    outbox.register("cb", receiver)
    await outbox.start()

    def add(payload: bytes) -> Callable[[Session], Added]:
        def unit(session: Session) -> Added:
            outbox.add_now(session, "cb", "k", destination="d", payload=payload)
            return outbox.added(session)

        return unit

    try:
        await wait_until(lambda: outbox._delivering)
        outbox.offer(await database.threaded.write(add(b"first")))
        await wait_until(lambda: len(receiver.received) == 1)
        assert await outbox.pending() == 1  # delivered; deleted later, with others
        outbox.offer(await database.threaded.write(add(b"second")))
        await wait_until(lambda: len(receiver.received) == 2)  # not after the linger
        assert [payload for _, payload in receiver.received] == [b"first", b"second"]
    finally:
        await outbox.stop()
    assert await outbox.pending() == 0  # stopping deletes what was delivered


async def test_an_enqueued_message_waits_for_an_older_one_of_its_key_added_elsewhere(
    database: Database,
) -> None:
    """Queued in another part's transaction (add) and not yet read: still delivered first."""
    outbox = Outbox(database, poll_interval=5)
    receiver = SlowReceiver()
    outbox.register("cb", receiver)
    await outbox.start()
    try:
        await database.threaded.write(
            lambda session: outbox.add_now(session, "cb", "k", destination="slow", payload=b"first")
        )
        # not offered: the loop has not read "first" when "second" is queued
        await outbox.enqueue("cb", "k", destination="slow", payload=b"second")
        await wait_until(lambda: receiver.waiting == 1)
        assert receiver.received == []  # "second" is not attempted beside "first"
        receiver.release.set()
        await wait_until(lambda: len(receiver.received) == 2)
    finally:
        await outbox.stop()
    assert [payload for _, _, payload in receiver.received] == [b"first", b"second"]


async def test_messages_of_one_key_queued_at_once_are_delivered_in_id_order(
    database: Database,
) -> None:
    """On PostgreSQL several writer threads queue them at the same time."""
    outbox = Outbox(database, poll_interval=5)
    ids: list[int] = []

    async def record(message: Envelope) -> None:
        ids.append(message.id)

    outbox.register("cb", record)
    await outbox.start()
    try:
        await asyncio.gather(
            *(
                outbox.enqueue("cb", "k", destination="dest", payload=f"{n}".encode())
                for n in range(40)
            )
        )
        await wait_until(lambda: len(ids) >= 40)
    finally:
        await outbox.stop()
    assert ids == sorted(ids)
    assert len(set(ids)) == 40


async def test_a_message_id_is_never_given_twice_even_once_the_outbox_is_empty(
    database: Database,
) -> None:
    """Receivers may use the id to spot a message sent again (a callback's
    Idempotency-Key): a later message must not take a delivered one's id."""
    outbox = Outbox(database)
    ids: list[int] = []

    async def record(message: Envelope) -> None:
        ids.append(message.id)

    outbox.register("cb", record)
    for n in range(3):
        await outbox.enqueue("cb", f"k{n}", destination="dest", payload=b"x")
        await drain(outbox)
        assert await outbox.counts() == {}  # delivered and deleted: the table is empty
    assert len(ids) == 3
    assert ids == sorted(set(ids))


async def test_messages_added_at_the_pace_of_their_deliveries_go_once_in_order(
    database: Database,
) -> None:
    """Units adding behind delivered messages race the settles of other keys, and of
    their own (a short linger); each message still goes once, in order."""
    outbox = Outbox(database, concurrency=8, poll_interval=0.2, settle_linger=0.002)
    receiver = Jittery(0.002)
    received = receiver.received
    outbox.register("cb", receiver)
    await outbox.start()

    async def produce(key: str) -> None:
        for n in range(25):
            await outbox.enqueue("cb", key, destination=f"d-{key}", payload=f"{n}".encode())
            await asyncio.sleep(random.uniform(0, 0.004))

    produced = asyncio.gather(*(produce(f"k{k}") for k in range(8)))
    await produce_then_stop(outbox, produced, lambda: len(received) >= 200)
    assert by_key(received) == {f"k{k}": list(range(25)) for k in range(8)}  # once, in order
    assert await outbox.pending() == 0


class Gated:
    """Holds each delivery until let through, and notes how many messages the
    outbox still kept (delivered or not) when each one arrived."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.gate = asyncio.Event()
        self.failing: set[bytes] = set()
        self.received: list[tuple[bytes, int]] = []

    async def __call__(self, message: Envelope) -> None:
        await self.gate.wait()
        if message.payload in self.failing:
            self.failing.discard(message.payload)
            raise DeliveryError("receiver down")
        self.received.append((message.payload, await self.outbox.pending()))


def adding(outbox: Outbox, *payloads: bytes) -> Callable[[Session], Added]:
    def unit(session: Session) -> Added:
        for payload in payloads:
            outbox.add_now(session, "cb", "k", destination="d", payload=payload)
        return outbox.added(session)

    return unit


async def add_and_offer(outbox: Outbox, database: Database, *payloads: bytes) -> None:
    """One unit adds the messages (key "k"); its outcome is offered once it has committed."""
    outbox.offer(await database.threaded.write(adding(outbox, *payloads)))


async def test_a_message_added_behind_one_under_way_goes_as_soon_as_that_is_delivered(
    database: Database,
) -> None:
    """Its successor is known: it goes without the delivered one being deleted first."""
    outbox = Outbox(database, poll_interval=60, settle_linger=60)  # neither comes in time
    receiver = Gated(outbox)
    outbox.register("cb", receiver)
    await outbox.start()
    try:
        await wait_until(lambda: outbox._delivering)
        for payloads in ([b"first"], [b"second"], [b"third", b"fourth"]):
            await add_and_offer(outbox, database, *payloads)
        receiver.gate.set()
        await wait_until(lambda: len(receiver.received) == 4)
    finally:
        await outbox.stop()
    # each went while every one before it was still kept (deleted later, together)
    assert receiver.received == [(b"first", 4), (b"second", 4), (b"third", 4), (b"fourth", 4)]
    assert await outbox.pending() == 0


async def test_a_successor_waits_while_the_message_in_front_is_retried(database: Database) -> None:
    outbox = Outbox(database, poll_interval=0.05, base_delay=0.05, settle_linger=60)
    receiver = Gated(outbox)
    receiver.failing.add(b"first")
    outbox.register("cb", receiver)
    await outbox.start()
    try:
        await wait_until(lambda: outbox._delivering)
        await add_and_offer(outbox, database, b"first")
        await add_and_offer(outbox, database, b"second", b"third")
        receiver.gate.set()
        await wait_until(lambda: len(receiver.received) == 3)
    finally:
        await outbox.stop()
    assert [payload for payload, _ in receiver.received] == [b"first", b"second", b"third"]


async def test_a_failed_delete_is_tried_again_and_sends_nothing_twice(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gateway.outbox as outbox_module  # noqa: PLC0415

    outbox = Outbox(database, poll_interval=0.05, settle_linger=0.01)
    receiver = Recorder()
    outbox.register("cb", receiver)
    real_delete = outbox_module._delete
    failures = [RuntimeError("database away"), RuntimeError("still away")]

    def flaky_delete(connection: Any, ids: list[int]) -> None:
        if failures:
            raise failures.pop()
        real_delete(connection, ids)

    monkeypatch.setattr(outbox_module, "_delete", flaky_delete)
    await outbox.start()
    try:
        for n in range(3):
            await outbox.enqueue("cb", "k", destination="d", payload=f"{n}".encode())
        await wait_until(lambda: not failures and len(receiver.received) >= 3)
        for _ in range(100):
            if not await outbox.pending():
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # room for a message to be sent again
    finally:
        await outbox.stop()
    assert [payload for _, payload in receiver.received] == [b"0", b"1", b"2"]
    assert await outbox.pending() == 0
