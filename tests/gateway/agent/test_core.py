"""Backend calls from the store's thread: inline backends run there, others on the loop."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from gateway.agent.backends import BackendError
from gateway.agent.core import run_inline


async def _returns(value: int) -> int:
    return value


async def _refuses() -> None:
    raise BackendError("the network says no")


async def _suspends() -> None:
    await asyncio.sleep(0)


def test_a_call_that_never_suspends_runs_to_its_result() -> None:
    assert run_inline(_returns(7)) == 7


def test_a_backend_error_comes_out_as_itself() -> None:
    with pytest.raises(BackendError, match="the network says no"):
        run_inline(_refuses())


def test_a_call_that_suspends_is_refused_and_closed() -> None:
    call = _suspends()
    with pytest.raises(RuntimeError, match="inline backends must not await"):
        run_inline(call)
    assert inspect.getcoroutinestate(call) == inspect.CORO_CLOSED  # nothing left running
