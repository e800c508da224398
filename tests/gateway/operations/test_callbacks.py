"""Callbacks POSTed to a real HTTP receiver when operations end, and on progress."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.client import NsgwClient
from gateway.operations.callbacks import CHANNEL
from tests.gateway.operations.harness import (
    Gates,
    Running,
    gateway_settings,
    running_gateway,
    start_job,
)
from tests.gateway.operations.receiver import Receiver


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with running_gateway(gateway_settings(tmp_path), Gates()) as run:
        yield run


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


async def test_success_is_called_back_with_the_operation_as_json(
    running: Running, receiver: Receiver
) -> None:
    async with NsgwClient(running.target) as client:
        op = await start_job(
            client.channel,
            target="pe1",
            request_id="cb-ok",
            steps=2,
            callback_url=receiver.url("/done"),
            progress_url=receiver.url("/progress"),
        )
        [done] = await receiver.wait_for("/done")
        assert done.body["name"] == op.name
        assert done.body["state"] == "OPERATION_STATE_SUCCEEDED"
        assert done.body["other"] == {"target": "pe1", "resumed": False}
        assert done.body["requestId"] == "cb-ok"
        assert done.headers["X-Nsgw-Event"] == "end"
        assert done.headers["Content-Type"] == "application/json"

        progress = await receiver.wait_for("/progress", count=4)
        assert [p.body["progress"]["message"] for p in progress] == [
            "started",
            "step 1 of 2 on pe1",
            "step 2 of 2 on pe1",
            "succeeded",
        ]
        assert all(p.body["name"] == op.name for p in progress)


async def test_failure_is_called_back_too(running: Running, receiver: Receiver) -> None:
    async with NsgwClient(running.target) as client:
        op = await start_job(
            client.channel,
            target="pe2",
            request_id="cb-fail",
            fail=True,
            callback_url=receiver.url("/done"),
        )
        [done] = await receiver.wait_for("/done")
    assert done.body["name"] == op.name
    assert done.body["state"] == "OPERATION_STATE_FAILED"
    assert done.body["error"]["code"] == "FAILED_PRECONDITION"
    assert done.body["error"]["reason"] == "TEST_REFUSED"
    assert done.body["error"]["message"] == "pe2 refused the change"


async def test_a_callback_receiver_down_at_first_gets_the_result_later(running: Running) -> None:
    late = Receiver()  # a port nobody listens on yet
    async with NsgwClient(running.target) as client:
        op = await start_job(
            client.channel, target="pe3", request_id="cb-late", callback_url=late.url("/done")
        )
        await client.operations.wait(op.name)
    # The callback is queued in the outbox, not lost.
    assert await _pending_callbacks(running) == 1
    await asyncio.sleep(0.3)  # at least one failed attempt
    await late.start()
    try:
        [done] = await late.wait_for("/done")
    finally:
        await late.stop()
    assert done.body["name"] == op.name
    assert done.body["state"] == "OPERATION_STATE_SUCCEEDED"


async def test_a_receiver_answering_503_is_retried_until_it_accepts(
    running: Running, receiver: Receiver
) -> None:
    receiver.status = 503
    async with NsgwClient(running.target) as client:
        op = await start_job(
            client.channel, target="pe4", request_id="cb-503", callback_url=receiver.url("/done")
        )
        await receiver.wait_for("/done", count=1)
        receiver.status = 200
        attempts = await receiver.wait_for("/done", count=2)
    assert {a.body["name"] for a in attempts} == {op.name}
    # Every attempt carries the same idempotency key, so the receiver can drop repeats.
    assert len({a.headers["Idempotency-Key"] for a in attempts}) == 1


async def test_callbacks_of_operations_one_after_another_carry_different_keys(
    running: Running, receiver: Receiver
) -> None:
    """A receiver that drops repeats by key must not drop a later operation's result,
    also when every earlier callback was delivered and nothing is left queued."""
    async with NsgwClient(running.target) as client:
        for n in range(3):
            await start_job(
                client.channel,
                target="pe5",
                request_id=f"cb-seq-{n}",
                callback_url=receiver.url("/done"),
            )
            await receiver.wait_for("/done", count=n + 1)
            for _ in range(200):  # the delivered callback is deleted
                if not await _pending_callbacks(running):
                    break
                await asyncio.sleep(0.01)
        done = await receiver.wait_for("/done", count=3)
    assert [d.body["requestId"] for d in done] == ["cb-seq-0", "cb-seq-1", "cb-seq-2"]
    assert len({d.headers["Idempotency-Key"] for d in done}) == 3


async def _pending_callbacks(running: Running) -> int:
    from gateway.outbox import Outbox  # noqa: PLC0415
    from gateway.state import OutboxComponent  # noqa: PLC0415

    outbox: Outbox = next(
        c.outbox for c in running.gateway.components if isinstance(c, OutboxComponent)
    )
    return await outbox.pending(CHANNEL)
