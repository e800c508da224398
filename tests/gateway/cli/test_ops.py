"""``nsgw ops`` against a running gateway over real gRPC."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner, Result

from gateway.cli import app
from gateway.client import NsgwClient
from tests.gateway.cli.conftest import AUTH, TOKEN
from tests.gateway.operations.harness import Gates, Running, at_the_gate, start_job


async def nsgw(running: Running, *args: str, token: str = TOKEN) -> Result:
    """Run the CLI in a thread (it runs its own event loop) against the gateway."""
    env = {"NSGW_API_SERVER": running.target, "NSGW_API_TOKEN": token, "COLUMNS": "200"}
    return await asyncio.to_thread(CliRunner().invoke, app, ["ops", *args], env=env)


async def test_list_and_show(running: Running) -> None:
    async with NsgwClient(running.target, token=TOKEN) as client:
        ok = await start_job(client.channel, AUTH, target="pe1", request_id="cli-1", steps=1)
        bad = await start_job(client.channel, AUTH, target="pe2", request_id="cli-2", fail=True)
        await client.operations.wait(ok.name)
        await client.operations.wait(bad.name)

    listed = await nsgw(running, "list")
    assert listed.exit_code == 0, listed.output
    assert ok.name in listed.output
    assert bad.name in listed.output

    failed = await nsgw(running, "list", "--state", "failed", "--json")
    assert failed.exit_code == 0, failed.output
    # The in-process gateway's own log lines share the captured stdout: skip them.
    rows = [json.loads(line) for line in failed.output.splitlines() if line.startswith("{")]
    assert [r["name"] for r in rows] == [bad.name]

    shown = await nsgw(running, "show", ok.id)
    assert shown.exit_code == 0, shown.output
    assert "succeeded" in shown.output
    assert "step 1 of 1 on pe1" in shown.output

    shown_failed = await nsgw(running, "show", bad.name)
    assert "[TEST_REFUSED] pe2 refused the change" in shown_failed.output

    as_json = await nsgw(running, "show", "--json", ok.name)
    body = as_json.output[as_json.output.index("{\n") :]
    assert json.loads(body[: body.index("\n}") + 2])["state"] == "OPERATION_STATE_SUCCEEDED"


async def test_watch_follows_to_the_end_and_exits_by_the_outcome(
    running: Running, gates: Gates
) -> None:
    async with NsgwClient(running.target, token=TOKEN) as client:
        op = await start_job(
            client.channel, AUTH, target="pe1", request_id="cli-w", steps=2, wait=True
        )
        watching = asyncio.create_task(nsgw(running, "watch", op.name))
        await at_the_gate(client, op.name)
        gates.open("pe1")
        watched = await asyncio.wait_for(watching, 30)
        assert watched.exit_code == 0, watched.output
        assert "waiting for the gate" in watched.output
        assert "succeeded" in watched.output

        failing = await start_job(client.channel, AUTH, target="pe3", request_id="cli-f", fail=True)
        await client.operations.wait(failing.name)
    watched_failure = await nsgw(running, "watch", failing.name)
    assert watched_failure.exit_code == 1
    assert "TEST_REFUSED" in watched_failure.output


async def test_cancel_and_the_errors_people_see(running: Running) -> None:
    async with NsgwClient(running.target, token=TOKEN) as client:
        op = await start_job(client.channel, AUTH, target="pe1", request_id="cli-c", wait=True)
        cancelled = await nsgw(running, "cancel", op.name)
        assert cancelled.exit_code == 0, cancelled.output
        assert "cancel requested" in cancelled.output
        done = await client.operations.wait(op.name)
        assert done.error.reason == "CANCELLED_BY_CALLER"

    again = await nsgw(running, "cancel", op.name)
    assert again.exit_code == 1
    assert "FAILED_PRECONDITION [OPERATION_ENDED]" in again.output

    unknown = await nsgw(running, "show", "operations/0123456789abcdef")
    assert unknown.exit_code == 1
    assert "NOT_FOUND" in unknown.output

    no_token = await nsgw(running, "list", token="")
    assert no_token.exit_code == 1
    assert "UNAUTHENTICATED" in no_token.output

    bad_state = await nsgw(running, "list", "--state", "sleeping")
    assert bad_state.exit_code == 2
    assert "unknown state 'sleeping'" in bad_state.output
