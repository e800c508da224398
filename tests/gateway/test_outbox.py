"""The durable outbox on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from gateway.db import Database
from gateway.outbox import DeliveryError, DeliveryRefused, Envelope, Outbox


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

    async def failed_state_change() -> None:
        async with database.transaction() as session:
            outbox.add(session, "cb", "k", destination="dest", payload=b"ghost")
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        await failed_state_change()
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


async def test_a_slow_key_does_not_hold_back_the_others(database: Database) -> None:
    """The background loop attempts heads as slots free up: one key's slow receiver
    delays only that key; every key still arrives in order, each message once."""
    outbox = Outbox(database, poll_interval=5)
    release = asyncio.Event()
    received: list[tuple[str, bytes]] = []
    others_done = asyncio.Event()

    async def deliver(message: Envelope) -> None:
        if message.ordering_key == "slow":
            await release.wait()
        received.append((message.ordering_key, message.payload))
        if sum(1 for key, _ in received if key != "slow") == 6:
            others_done.set()

    outbox.register("cb", deliver)
    for n in range(3):
        for key in ("slow", "fast-1", "fast-2"):
            await outbox.enqueue("cb", key, destination="d", payload=f"{key}-{n}".encode())
    await outbox.start()
    try:
        await asyncio.wait_for(others_done.wait(), 30)
        assert all(key != "slow" for key, _ in received)  # the others went ahead
        release.set()
        for _ in range(500):  # delivered, and deleted (a moment after the delivery)
            if len(received) == 9 and not await outbox.pending():
                break
            await asyncio.sleep(0.01)
    finally:
        await outbox.stop()
    for key in ("slow", "fast-1", "fast-2"):
        assert [p for k, p in received if k == key] == [f"{key}-{n}".encode() for n in range(3)]
    assert len(received) == 9
    assert await outbox.pending() == 0
