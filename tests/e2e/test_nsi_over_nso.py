"""The first-hour demo end to end: ``nsgw serve --config examples/demo.toml`` (embedded
NSO simulator, NSO backend, demo topology); an NSI reservation over gRPC becomes
configuration on the simulated routers while provisioned, and nothing after."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import httpx

from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc
from tests.gateway.agent.conftest import (
    NET,
    NSA,
    Recorder,
    generic,
    later,
    recorder_server,
    reserve_request,
)

ROOT = Path(__file__).resolve().parents[2]
DEMO_NET = "example.net:2025:topology"
PE_IF = "GigabitEthernet0/0/0/2"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_stp(local: str) -> str:
    return f"urn:ogf:network:{DEMO_NET}:{local}"


async def vlans_on(sim: httpx.AsyncClient, device: str) -> list[int]:
    config = (await sim.get(f"/sim/devices/{device}/config")).json()
    for entry in config.get("interface", []):
        if entry.get("name") == PE_IF:
            return [v["id"] for v in entry.get("vlan", [])]
    return []


async def wait_until_serving(serve: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(600):
        if "nsgw serving" in log.read_text(errors="replace"):
            return
        assert serve.poll() is None, "nsgw serve exited: " + log.read_text(errors="replace")
        await asyncio.sleep(0.05)
    raise AssertionError("nsgw serve did not come up")


async def test_demo_reservation_lifecycle_provisions_through_nso(tmp_path: Path) -> None:
    assert NET == DEMO_NET  # the agent tests' helpers build the demo's network ids
    rec = Recorder()
    requester = recorder_server(rec)
    requester_port = requester.add_insecure_port("127.0.0.1:0")
    await requester.start()
    grpc_port, http_port, sim_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "NSGW_GRPC_PORT": str(grpc_port),
        "NSGW_HTTP_PORT": str(http_port),
        "NSGW_STATE_DIR": str(tmp_path),
        "NSGW_NSO_SIM_PORT": str(sim_port),
        "NSGW_NSO_URL": "",
        "NSGW_AGENT_REQUESTER_TARGET": f"127.0.0.1:{requester_port}",
        "NSGW_NSA_ID": NSA,
        "COLUMNS": "200",
    }
    nsgw = str(Path(sys.executable).parent / "nsgw")
    log = tmp_path / "serve.log"
    serve = subprocess.Popen(
        [nsgw, "serve", "--config", "examples/demo.toml"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}")
    sim = httpx.AsyncClient(base_url=f"http://127.0.0.1:{sim_port}", auth=("admin", "admin"))
    try:
        await wait_until_serving(serve, log)
        stub = provider_grpc.ConnectionProviderStub(channel)
        request = reserve_request(demo_stp("pe0-2"), demo_stp("pe1-2"), end=later(3600))
        ack = await stub.Reserve(request)
        assert not ack.HasField("service_exception"), ack.service_exception
        cid = ack.connection_id
        confirmed: Any = await rec.wait("ReserveConfirmed", cid, timeout=30)
        assert confirmed.criteria.ptps.source_stp.endswith("vlan=200")
        await stub.ReserveCommit(generic(cid))
        await rec.wait("ReserveCommitConfirmed", cid, timeout=30)
        assert await vlans_on(sim, "pe0") == []
        await stub.Provision(generic(cid))
        up = await rec.wait("DataPlaneStateChange", cid, timeout=30)
        assert up.data_plane_status.active
        assert await vlans_on(sim, "pe0") == [200]
        assert await vlans_on(sim, "pe1") == [200]

        shown = await asyncio.to_thread(
            subprocess.run,
            [nsgw, "reservations", "show", cid, "--config", "examples/demo.toml"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert shown.returncode == 0, shown.stderr
        assert f"l2vlan:l2vlan={cid}" in shown.stdout
        assert "vlan 200" in shown.stdout  # the dry-run diff of the reserve check

        await stub.Release(generic(cid))
        down = await rec.wait("DataPlaneStateChange", cid, timeout=30)
        assert not down.data_plane_status.active
        await stub.Terminate(generic(cid))
        await rec.wait("TerminateConfirmed", cid, timeout=30)
        assert await vlans_on(sim, "pe0") == []
        assert await vlans_on(sim, "pe1") == []
        gone = await sim.get(f"/restconf/data/l2vlan:l2vlan={cid}")
        assert gone.status_code == 404
    finally:
        await sim.aclose()
        await channel.close(None)
        serve.send_signal(signal.SIGTERM)
        await asyncio.to_thread(serve.wait, 30)
        await requester.stop(None)
    assert serve.returncode == 0, log.read_text(errors="replace")[-2000:]
