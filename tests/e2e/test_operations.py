"""Operations across real restarts of a gateway process, with callbacks to a real receiver."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from gateway.client import NsgwClient
from nsgw_proto.nsgw.v1 import operations_pb2 as ops_pb2
from tests.conftest import REPO_ROOT
from tests.gateway.operations.harness import at_the_gate, start_job
from tests.gateway.operations.receiver import Receiver, free_port
from tests.helpers import wait_until_serving

pytestmark = pytest.mark.slow


@asynccontextmanager
async def gateway_process(state: Path, port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {
        **os.environ,
        "NSGW_GRPC_PORT": str(port),
        "NSGW_HTTP_PORT": str(free_port()),
        "NSGW_STATE_DIR": str(state),
        "NSGW_LOG_LEVEL": "warning",
        "NSGW_SHUTDOWN_GRACE": "1",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.e2e.jobs_gateway",
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await wait_until_serving(f"127.0.0.1:{port}")
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_an_operation_running_at_shutdown_fails_and_is_called_back_after_restart(
    tmp_path: Path,
) -> None:
    port, receiver = free_port(), Receiver()
    async with gateway_process(tmp_path, port) as first:
        async with NsgwClient(f"127.0.0.1:{port}") as client:
            op = await start_job(
                client.channel,
                target="pe1",
                request_id="restart-1",
                wait=True,
                callback_url=receiver.url("/done"),
            )
            await at_the_gate(client, op.name)
        first.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(first.wait(), 20) == 0

    await receiver.start()  # the receiver only comes up now
    try:
        async with gateway_process(tmp_path, port), NsgwClient(f"127.0.0.1:{port}") as client:
            [done] = await receiver.wait_for("/done")
            listed = await client.operations.list(target="pe1")
    finally:
        await receiver.stop()
    assert done.body["name"] == op.name
    assert done.body["state"] == "OPERATION_STATE_FAILED"
    assert done.body["error"]["reason"] == "INTERRUPTED_BY_RESTART"
    assert "interrupted by restart" in done.body["error"]["message"]
    assert [o.name for o in listed.operations] == [op.name]
    assert listed.operations[0].state == ops_pb2.OPERATION_STATE_FAILED


async def test_a_resumable_operation_survives_a_killed_process(tmp_path: Path) -> None:
    port, receiver = free_port(), Receiver()
    await receiver.start()
    # One client for the whole test: its wait() rides over the restart.
    client = NsgwClient(f"127.0.0.1:{port}")
    try:
        async with gateway_process(tmp_path, port) as first:
            op = await start_job(
                client.channel,
                kind="test.ResumableJob",
                target="pe2",
                request_id="resume-1",
                wait_unless_resumed=True,
                callback_url=receiver.url("/done"),
            )
            await at_the_gate(client, op.name)
            waiting = asyncio.create_task(client.operations.wait(op.name, reconnect_for=60))
            await asyncio.sleep(0.2)
            first.kill()  # no shutdown at all
            await first.wait()

        async with gateway_process(tmp_path, port):
            final = await asyncio.wait_for(waiting, 60)
            [done] = await receiver.wait_for("/done")
            # A retry of the original request after the restart still finds it.
            again = await start_job(
                client.channel,
                kind="test.ResumableJob",
                target="pe2",
                request_id="resume-1",
                wait_unless_resumed=True,
                callback_url=receiver.url("/done"),
            )
    finally:
        await client.close()
        await receiver.stop()
    assert final.state == ops_pb2.OPERATION_STATE_SUCCEEDED
    assert final.other["resumed"] is True
    assert "resumed after a restart" in [p.message for p in final.progress]
    assert done.body["state"] == "OPERATION_STATE_SUCCEEDED"
    assert again.name == op.name
