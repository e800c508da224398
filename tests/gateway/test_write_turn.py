"""The write turn: the event loop waits for it without blocking, threads by blocking."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gateway.write_turn import WriteTurn


async def started(*tasks: asyncio.Task[None]) -> None:
    """Let each task run up to its first wait."""
    for _ in tasks:
        await asyncio.sleep(0)


async def test_a_free_turn_is_taken_at_once_and_held_until_given_back() -> None:
    turn = WriteTurn()
    await turn.taken()
    assert not turn.take_now()
    assert not await asyncio.to_thread(turn.take, 0.05)  # a thread cannot have it either
    turn.give_back()
    assert turn.take_now()


async def test_units_wait_on_the_loop_while_a_thread_writes_and_go_in_order() -> None:
    turn = WriteTurn()
    inside, leave = threading.Event(), threading.Event()

    def thread_writes() -> None:
        turn.take()
        inside.set()
        leave.wait(10)
        turn.give_back()

    writer = asyncio.create_task(asyncio.to_thread(thread_writes))
    await asyncio.to_thread(inside.wait, 10)
    order: list[str] = []

    async def unit(name: str) -> None:
        await turn.taken()
        order.append(name)
        turn.give_back()

    units = [asyncio.create_task(unit(name)) for name in ("first", "second", "third")]
    ticks = 0
    for _ in range(5):  # the loop runs on while they wait
        await asyncio.sleep(0.01)
        ticks += 1
    assert ticks == 5
    assert order == []
    leave.set()
    await asyncio.wait_for(asyncio.gather(writer, *units), 5)
    assert order == ["first", "second", "third"]
    assert turn.take_now()  # given back by every one of them


async def test_a_thread_waiting_for_the_turn_gets_it_when_the_loop_gives_it_back() -> None:
    turn = WriteTurn()
    await turn.taken()
    waiting = asyncio.create_task(asyncio.to_thread(turn.take, 5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    turn.give_back()
    assert await waiting


@pytest.mark.parametrize("wake_ran", [False, True], ids=["before-its-wake", "after-its-wake"])
async def test_a_cancelled_waiter_passes_its_wake_on(wake_ran: bool) -> None:
    turn = WriteTurn()
    await turn.taken()
    first = asyncio.create_task(turn.taken())
    second = asyncio.create_task(turn.taken())
    await started(first, second)
    turn.give_back()  # wakes the first (its wake is scheduled, not run yet) ...
    if wake_ran:
        await asyncio.sleep(0)  # ... or has run: woken, but not resumed
    first.cancel()  # ... and it leaves before it resumes
    await asyncio.wait_for(second, 5)  # the wake went to the next one
    assert first.cancelled()
    assert not turn.take_now()  # the second holds it


async def test_a_thread_waiting_for_the_turn_goes_before_the_loops_next_unit() -> None:
    """The loop gives the turn back between units and would take it again before a
    blocked thread wakes: a checkpoint would wait for ever under writes that never pause."""
    turn = WriteTurn()
    await turn.taken()
    inside, leave = threading.Event(), threading.Event()

    def thread_writes() -> None:
        assert turn.take(5)
        inside.set()
        leave.wait(5)
        turn.give_back()

    writer = asyncio.create_task(asyncio.to_thread(thread_writes))
    await asyncio.sleep(0.05)  # the thread blocks in take()
    turn.give_back()
    next_unit = asyncio.create_task(turn.taken())
    await asyncio.sleep(0)
    assert await asyncio.to_thread(inside.wait, 5)
    assert not next_unit.done()
    leave.set()
    await asyncio.wait_for(asyncio.gather(writer, next_unit), 5)
    assert not turn.take_now()  # the unit holds it
