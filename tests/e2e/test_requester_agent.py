"""The requester against our own provider stack (SOAP proxy + agent), over real HTTP.

A remote domain is another ``nsgw serve`` process whose agent holds the
STPs; this gateway (in the test process) reserves there as an NSI requester
and gets its callbacks on its requester endpoint.  The same gateway also
reserves at its own agent, through its own SOAP provider endpoint: one path.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from gateway.assembly import build_components
from gateway.client import NsgwClient
from gateway.config import Settings
from gateway.process import Gateway
from gateway.requester.peer_settings import NsiPeer
from nsgw_proto.nsgw.v1 import connection_resources_pb2 as res_pb2
from nsgw_proto.nsgw.v1 import operations_pb2 as ops_pb2
from tests.conftest import REPO_ROOT
from tests.helpers import free_port, wait_until_serving

pytestmark = pytest.mark.slow

REMOTE_NSA = "urn:ogf:network:remote.example:2025:nsa"
REMOTE_NET = "remote.example:2025:topology"
LOCAL_NET = "example.net:2025:topology"
TOPOLOGY = """
[[stp]]
id = "port-1"
port = "Gi0/0/0/1"
vlans = "100-199"
capacity = 1000

[[stp]]
id = "port-2"
port = "Gi0/0/0/2"
vlans = "100-199"
capacity = 1000
"""


def stp(network: str, port: str, vlan: str = "100-199") -> str:
    return f"urn:ogf:network:{network}:{port}?vlan={vlan}"


@pytest.fixture
async def remote(tmp_path: Path) -> AsyncIterator[str]:
    """Another domain: ``nsgw serve`` with its agent; yields its provider URL."""
    (tmp_path / "remote").mkdir()
    topology = tmp_path / "remote" / "topology.toml"
    topology.write_text(TOPOLOGY)
    grpc_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "NSGW_GRPC_PORT": str(grpc_port),
        "NSGW_HTTP_PORT": str(http_port),
        "NSGW_NSO_SIM_PORT": str(free_port()),
        "NSGW_STATE_DIR": str(tmp_path / "remote"),
        "NSGW_NSA_ID": REMOTE_NSA,
        "NSGW_NETWORK_ID": REMOTE_NET,
        "NSGW_AGENT_TOPOLOGY_FILE": str(topology),
        "NSGW_RESERVE_HOLD_TIMEOUT": "2",
        "NSGW_LOG_LEVEL": "warning",
        "NSGW_SHUTDOWN_GRACE": "1",
    }
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "nsgw"), "serve",
        cwd=REPO_ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await wait_until_serving(f"127.0.0.1:{grpc_port}")
        yield f"http://127.0.0.1:{http_port}/nsi/v2/provider"
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@asynccontextmanager
async def local_gateway(tmp_path: Path, peers: list[NsiPeer]) -> AsyncIterator[NsgwClient]:
    """This domain: a gateway in the test process with its own agent and STPs."""
    topology = tmp_path / "topology.toml"
    topology.write_text(TOPOLOGY)
    settings = Settings(
        state_dir=tmp_path / "local",
        grpc_port=0,
        http_port=0,
        nso_sim_port=free_port(),
        agent_topology_file=topology,
        nsi_peers=peers,
        requester_confirm_timeout=15,
    )
    gateway = Gateway(settings, build_components(settings))
    await gateway.start()
    assert gateway.grpc is not None
    made = NsgwClient(f"127.0.0.1:{gateway.grpc.port}")
    try:
        yield made
    finally:
        await made.close()
        await gateway.stop()


@pytest.fixture
async def client(tmp_path: Path, remote: str) -> AsyncIterator[NsgwClient]:
    peer = NsiPeer(nsa_id=REMOTE_NSA, provider_url=remote, retries=0)
    async with local_gateway(tmp_path, [peer]) as made:
        yield made


@pytest.fixture
async def local_client(tmp_path: Path) -> AsyncIterator[NsgwClient]:
    async with local_gateway(tmp_path, []) as made:
        yield made


async def until_state(client: NsgwClient, name: str, wanted: int) -> res_pb2.ConnectionEvent:
    async for event in client.connections.watch(name):
        if event.connection.state == wanted:
            return event
    raise AssertionError("the watch ended first")


async def test_lifecycle_at_a_remote_agent(client: NsgwClient) -> None:
    connections, operations = client.connections, client.operations
    op = await connections.create(
        stp(REMOTE_NET, "port-1"), stp(REMOTE_NET, "port-2"), 100, provider_nsa=REMOTE_NSA,
        description="across",
    )  # fmt: skip
    done = await operations.wait(op.name)
    assert done.state == ops_pb2.OPERATION_STATE_SUCCEEDED, done.error
    name = done.connection.name
    assert done.connection.provider_nsa == REMOTE_NSA
    assert "?vlan=1" in done.connection.source_stp  # the VLAN the agent chose
    active = await asyncio.wait_for(until_state(client, name, res_pb2.CONNECTION_STATE_ACTIVE), 15)
    assert active.connection.nsi_states.data_plane_active

    modified = await operations.wait((await connections.modify(name, capacity_mbps=400)).name)
    assert modified.state == ops_pb2.OPERATION_STATE_SUCCEEDED, modified.error
    assert modified.connection.capacity_mbps == 400
    assert modified.connection.version == done.connection.version + 1

    released = await operations.wait((await connections.release(name)).name)
    assert released.state == ops_pb2.OPERATION_STATE_SUCCEEDED, released.error
    await asyncio.wait_for(until_state(client, name, res_pb2.CONNECTION_STATE_RELEASED), 15)

    ended = await operations.wait((await connections.terminate(name)).name)
    assert ended.state == ops_pb2.OPERATION_STATE_SUCCEEDED, ended.error
    assert ended.connection.state == res_pb2.CONNECTION_STATE_TERMINATED


async def test_refusal_and_reserve_timeout_at_a_remote_agent(client: NsgwClient) -> None:
    connections, operations = client.connections, client.operations
    refused = await operations.wait(
        (
            await connections.create(
                stp(REMOTE_NET, "port-9"),
                stp(REMOTE_NET, "port-2"),
                100,
                provider_nsa=REMOTE_NSA,
            )
        ).name
    )
    assert refused.state == ops_pb2.OPERATION_STATE_FAILED
    assert refused.error.reason == "PROVIDER_REFUSED"
    assert refused.error.metadata["nsi_error_id"] == "00701"

    held = await operations.wait(
        (
            await connections.create(
                stp(REMOTE_NET, "port-1"),
                stp(REMOTE_NET, "port-2"),
                100,
                provider_nsa=REMOTE_NSA,
                reserve_only=True,
            )
        ).name
    )
    assert held.state == ops_pb2.OPERATION_STATE_SUCCEEDED, held.error
    assert held.connection.nsi_states.reservation_state == "ReserveHeld"
    timed_out = await asyncio.wait_for(
        until_state(client, held.connection.name, res_pb2.CONNECTION_STATE_FAILED), 15
    )
    assert timed_out.connection.nsi_states.reservation_state == "ReserveTimeout"


async def test_a_connection_at_our_own_agent_takes_the_same_path(
    local_client: NsgwClient,
) -> None:
    client = local_client
    op = await client.connections.create(stp(LOCAL_NET, "port-1"), stp(LOCAL_NET, "port-2"), 10)
    done = await client.operations.wait(op.name)
    assert done.state == ops_pb2.OPERATION_STATE_SUCCEEDED, done.error
    assert done.connection.provider_nsa == "urn:ogf:network:example.net:2025:nsa:nsgw"
    await asyncio.wait_for(
        until_state(client, done.connection.name, res_pb2.CONNECTION_STATE_ACTIVE), 15
    )
    ended = await client.operations.wait(
        (await client.connections.terminate(done.connection.name)).name
    )
    assert ended.connection.state == res_pb2.CONNECTION_STATE_TERMINATED
