"""The NSO calls end to end: ``nsgw serve`` (with its embedded NSO simulator) as a child process.

A workflow's view: apply a service with a dry-run, then for real; run device
tests; be called back when an operation ends, also when nsgw restarted while
the operation ran.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from gateway.client import NsgwClient
from nsgw_proto.nsgw.v1 import nso_resources_pb2 as res
from nsgw_proto.nsgw.v1 import operations_pb2 as ops
from tests.gateway.nso_api.harness import diffs, l2vlan_payload
from tests.gateway.operations.receiver import Receiver, free_port

pytestmark = pytest.mark.slow
SUCCEEDED = ops.OPERATION_STATE_SUCCEEDED


@asynccontextmanager
async def serve(state_dir: Path, grpc_port: int, sim_port: int) -> AsyncIterator[str]:
    """``nsgw serve`` until the block ends (SIGTERM); yields the gRPC target."""
    env = {
        **os.environ,
        "NSGW_GRPC_PORT": str(grpc_port),
        "NSGW_HTTP_PORT": "0",
        "NSGW_STATE_DIR": str(state_dir),
        "NSGW_NSO_URL": "",
        "NSGW_NSO_SIM_PORT": str(sim_port),
        "NSGW_CONFIG": "",
        "NSGW_LOG_LEVEL": "warning",
    }
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("nsgw")),
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    target = f"127.0.0.1:{grpc_port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(400):
                assert proc.returncode is None, "nsgw serve exited"
                try:
                    await http.get(f"http://127.0.0.1:{sim_port}/.well-known/host-meta")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
        yield target
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)
    assert proc.returncode == 0


async def test_apply_a_service_and_test_the_devices(tmp_path: Path) -> None:
    sim_port = free_port()
    async with serve(tmp_path, free_port(), sim_port) as target, NsgwClient(target) as client:
        path = "/l2vlan:l2vlan=c1"
        preview = await client.operations.wait(
            (
                await client.nso_services.apply(
                    path, l2vlan_payload(), commit=res.CommitParams(dry_run=True)
                )
            ).name
        )
        assert preview.state == SUCCEEDED
        assert sorted(diffs(preview.dry_run)) == ["pe0", "pe1"]
        listed = await client.nso_services.list("/l2vlan:l2vlan")
        assert [s.path for s in listed.services] == ["/l2vlan:l2vlan=demo-circuit"]

        applied = await client.operations.wait(
            (await client.nso_services.apply(path, l2vlan_payload(), request_id="wf-1")).name
        )
        assert applied.state == SUCCEEDED
        assert list(applied.commit.devices) == ["pe0", "pe1"]
        instance = await client.nso_services.get(path, check_sync=True)
        assert instance.in_sync

        # An engineer changes pe1 by hand; the workflow's device tests see it.
        async with httpx.AsyncClient(auth=("admin", "admin")) as http:
            url = f"http://127.0.0.1:{sim_port}/sim/devices/pe1/config"
            config = (await http.get(url)).json()
            (await http.put(url, json={**config, "hostname": "by-hand"})).raise_for_status()
        checked = await client.operations.wait(
            (await client.nso_devices.check_sync(all_devices=True)).name
        )
        states = {d.device: d.result for d in checked.check_sync.devices}
        assert states["pe1"] == res.DeviceSyncState.RESULT_OUT_OF_SYNC
        assert states["pe0"] == res.DeviceSyncState.RESULT_IN_SYNC
        compared = await client.operations.wait(
            (await client.nso_devices.compare_config("pe1")).name
        )
        assert "by-hand" in compared.compare_config.diff
        pushed = await client.operations.wait((await client.nso_devices.sync_to("pe1")).name)
        assert pushed.device_test.success
        shown = await client.operations.wait(
            (await client.nso_devices.exec("pe1", "show version")).name
        )
        assert "ios-xr" in shown.device_test.output.lower()


async def test_a_callback_arrives_when_nsgw_restarted_during_the_operation(
    tmp_path: Path,
) -> None:
    receiver = Receiver()
    await receiver.start()
    grpc_port, sim_port = free_port(), free_port()
    try:
        async with serve(tmp_path, grpc_port, sim_port) as target:
            async with httpx.AsyncClient(auth=("admin", "admin")) as http:
                faults = {"device_latency_ms": 2000}
                url = f"http://127.0.0.1:{sim_port}/sim/faults"
                (await http.put(url, json=faults)).raise_for_status()
            async with NsgwClient(target) as client:
                op = await client.nso_devices.check_sync(
                    all_devices=True, callback_url=receiver.url("/done")
                )
                async for update in client.operations.watch(op.name):
                    if update.HasField("progress") and update.progress.message.startswith(
                        "checking"
                    ):
                        break
        # Stopped while the check ran: it resumes after the restart and calls back.
        assert receiver.received == []
        async with serve(tmp_path, grpc_port, sim_port) as target:
            [called] = await receiver.wait_for("/done", timeout=60)
            async with NsgwClient(target) as client:
                done = await client.operations.get(op.name)
    finally:
        await receiver.stop()
    assert done.state == SUCCEEDED
    assert "resumed after a restart" in [p.message for p in done.progress]
    assert called.body["name"] == op.name
    assert called.body["state"] == "OPERATION_STATE_SUCCEEDED"
    assert len(called.body["checkSync"]["devices"]) == 4
