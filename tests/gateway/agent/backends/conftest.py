"""The agent with the NSO backend against the NSO simulator over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.nso_restconf.simulator import run_simulator
from adapters.nso_restconf.simulator.server import SimulatorServer
from gateway.agent.backends.nso_records import NsoServiceRecord, load_record
from gateway.agent.component import load_ports
from gateway.agent.domain.topology import make_port
from gateway.db import Database
from tests.gateway.agent.conftest import Agent, Recorder, agent_settings, fast_outbox

# STPs on the simulator's demo devices (pe0/pe1 Gi0/0/0/1 carry the demo circuit, VLAN 100)
NSO_PORTS = [
    make_port("pe0-1", port="pe0:GigabitEthernet0/0/0/1", vlans="100-199", capacity=1000),
    make_port("pe1-1", port="pe1:GigabitEthernet0/0/0/1", vlans="100-199", capacity=1000),
    make_port("pe0-2", port="pe0:GigabitEthernet0/0/0/2", vlans="200-299", capacity=1000),
    make_port("pe1-2", port="pe1:GigabitEthernet0/0/0/2", vlans="200-299", capacity=1000),
]


class Nso:
    """The simulator, seen from outside: its RESTCONF data and its devices, over HTTP."""

    def __init__(self, server: SimulatorServer) -> None:
        self.server = server
        self.http = httpx.AsyncClient(base_url=server.url, auth=("admin", "admin"))

    async def service(self, cid: str) -> dict[str, Any] | None:
        reply = await self.http.get(
            f"/restconf/data/l2vlan:l2vlan={cid}",
            headers={"Accept": "application/yang-data+json"},
        )
        if reply.status_code == 404:
            return None
        reply.raise_for_status()
        body: dict[str, Any] = reply.json()["l2vlan:l2vlan"][0]
        return body

    async def device_config(self, device: str) -> dict[str, Any]:
        reply = await self.http.get(f"/sim/devices/{device}/config")
        reply.raise_for_status()
        config: dict[str, Any] = reply.json()
        return config

    async def put_device_config(self, device: str, config: dict[str, Any]) -> None:
        (await self.http.put(f"/sim/devices/{device}/config", json=config)).raise_for_status()

    async def vlans_on(self, device: str, interface: str) -> dict[int, dict[str, Any]]:
        """VLANs configured on the device's interface (id -> entry)."""
        for entry in (await self.device_config(device)).get("interface", []):
            if entry.get("name") == interface:
                return {v["id"]: v for v in entry.get("vlan", [])}
        return {}

    async def faults(self, **values: Any) -> None:
        (await self.http.put("/sim/faults", json=values)).raise_for_status()


@pytest.fixture
async def nso() -> AsyncIterator[Nso]:
    async with run_simulator(users={"admin": "admin"}) as server:
        outside = Nso(server)
        yield outside
        await outside.http.aclose()


def nso_settings(tmp_path: Path, target: str, nso: Nso, **kw: Any) -> Any:
    values: dict[str, Any] = {
        "agent_backend": "nso",
        "nso_url": nso.server.url,
        "nso_password": "admin",
        "nso_retries": 0,
        "nso_timeout": 5.0,
        "nso_backend_retries": 3,
        "nso_backend_retry_delay": 0.05,
        "agent_health_interval": 3600.0,
        "reserve_hold_timeout": 60.0,
    }
    values.update(kw)
    return agent_settings(tmp_path, target, **values)


@pytest.fixture
async def nso_db(database: Database) -> Database:
    """The state database (SQLite and PostgreSQL) with the STPs on the demo devices."""
    await load_ports(database, NSO_PORTS)
    return database


@pytest.fixture
async def nso_agent(
    tmp_path: Path, nso_db: Database, recorder: tuple[Recorder, str], nso: Nso
) -> AsyncIterator[Agent]:
    running = Agent(nso_settings(tmp_path, recorder[1], nso), nso_db, fast_outbox(nso_db))
    await running.start()
    yield running
    await running.stop()


async def record_of(db: Database, cid: str) -> NsoServiceRecord | None:
    async with db.sessions() as session:
        return await session.run_sync(load_record, cid)
