"""``nsgw connections`` against a gateway reserving at its own provider (the loop set-up)."""

from __future__ import annotations

import asyncio
import re

from typer.testing import CliRunner

from gateway.cli import app
from tests.e2e.test_requester_loop import DEST, SOURCE, Loop, loop

__all__ = ["loop"]


async def nsgw(target: Loop, *args: str) -> tuple[int, str]:
    """Run the command in a worker thread (its own event loop) against the gateway."""
    assert target.gateway.grpc is not None
    argv = ["connections", "--server", f"127.0.0.1:{target.gateway.grpc.port}", *args]
    result = await asyncio.to_thread(CliRunner().invoke, app, argv, env={"COLUMNS": "250"})
    return result.exit_code, result.output


async def test_create_list_show_watch_terminate(loop: Loop) -> None:
    code, out = await nsgw(loop, "create", SOURCE, DEST, "--capacity", "50")
    assert code == 0, out
    assert "reserveConfirmed from" in out  # live progress
    found = re.search(r"name +(connections/[0-9a-f]{32})", out)
    assert found is not None, out
    name = found.group(1)
    code, out = await nsgw(loop, "watch", name, "--until", "active")
    assert code == 0, out
    assert "active" in out
    code, out = await nsgw(loop, "list", "--state", "active")
    assert name in out
    code, out = await nsgw(loop, "show", name)
    assert "Provisioned" in out
    code, out = await nsgw(loop, "terminate", name)
    assert code == 0, out
    assert "terminated" in out
    code, out = await nsgw(loop, "show", "connections/ffff0000")
    assert code == 1
    assert "NOT_FOUND" in out
