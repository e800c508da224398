"""The first-hour demo end to end: ``nsgw serve --config examples/demo.toml`` (embedded
NSO simulator, NSO backend, demo topology); an NSI reservation over gRPC becomes
configuration on the simulated routers while provisioned, and nothing after."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import grpc
import httpx

from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc
from tests.e2e.demo import NSGW, ROOT, demo_serve
from tests.gateway.agent.conftest import (
    NET,
    NSA,
    Recorder,
    generic,
    later,
    recorder_server,
    reserve_request,
)

DEMO_NET = "example.net:2025:topology"
PE_IF = "GigabitEthernet0/0/0/2"


def demo_stp(local: str) -> str:
    return f"urn:ogf:network:{DEMO_NET}:{local}"


async def vlans_on(sim: httpx.AsyncClient, device: str) -> list[int]:
    config = (await sim.get(f"/sim/devices/{device}/config")).json()
    for entry in config.get("interface", []):
        if entry.get("name") == PE_IF:
            return [v["id"] for v in entry.get("vlan", [])]
    return []


async def test_demo_reservation_lifecycle_provisions_through_nso(tmp_path: Path) -> None:
    assert NET == DEMO_NET  # the agent tests' helpers build the demo's network ids
    rec = Recorder()
    requester = recorder_server(rec)
    requester_port = requester.add_insecure_port("127.0.0.1:0")
    await requester.start()
    try:
        extra = {"NSGW_AGENT_REQUESTER_TARGET": f"127.0.0.1:{requester_port}", "NSGW_NSA_ID": NSA}
        async with (
            demo_serve(tmp_path, **extra) as demo,
            grpc.aio.insecure_channel(f"127.0.0.1:{demo.grpc_port}") as channel,
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{demo.sim_port}", auth=("admin", "admin")
            ) as sim,
        ):
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
                [NSGW, "reservations", "show", cid, "--config", "examples/demo.toml"],
                cwd=ROOT,
                env=demo.env,
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
        await requester.stop(None)
