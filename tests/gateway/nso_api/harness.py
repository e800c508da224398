"""An in-process gateway (production components) talking to an in-process NSO simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from adapters.nso_restconf.simulator import SimulatorServer, run_simulator
from gateway.assembly import build_components
from gateway.client import NsgwClient
from gateway.config import Settings
from gateway.operations.component import OperationsComponent
from gateway.process import Gateway
from nsgw_proto.nsgw.v1 import nso_resources_pb2 as res

SIM_USERS = {"admin": "admin"}

L2VLAN_PATH = "/l2vlan:l2vlan=c1"


def l2vlan_payload(
    name: str = "c1", vlan: int = 200, interface: str = "GigabitEthernet0/0/0/2"
) -> dict[str, Any]:
    return {
        "l2vlan:l2vlan": [
            {
                "name": name,
                "vlan-id": vlan,
                "capacity-mbps": 100,
                "endpoint": [
                    {"device": "pe0", "interface": interface},
                    {"device": "pe1", "interface": interface},
                ],
            }
        ]
    }


@dataclass
class NsoGateway:
    gateway: Gateway
    operations: OperationsComponent
    sim: SimulatorServer
    target: str
    client: NsgwClient


def settings_for(state_dir: Path, nso_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "grpc_port": 0,
        "http_port": 0,
        "state_dir": state_dir,
        "log_level": "warning",
        "shutdown_grace": 1.0,
        "nso_url": nso_url,
        "nso_username": "admin",
        "nso_password": "admin",
        "nso_retries": 0,
        "nso_timeout": 10,
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def nso_gateway(state_dir: Path, **overrides: Any) -> AsyncIterator[NsoGateway]:
    """A simulator on a free port and a gateway (all production components) using it."""
    async with run_simulator(users=SIM_USERS, queue_delay=0.1) as sim:
        settings = settings_for(state_dir, sim.url, **overrides)
        components = build_components(settings)
        operations = next(c for c in components if isinstance(c, OperationsComponent))
        gateway = Gateway(settings, components)
        await gateway.start()
        assert gateway.grpc is not None
        target = f"127.0.0.1:{gateway.grpc.port}"
        try:
            async with NsgwClient(target) as client:
                yield NsoGateway(gateway, operations, sim, target, client)
        finally:
            await gateway.stop()


def diffs(result: res.DryRunResult | res.ServiceSyncResult) -> dict[str, str]:
    return {d.device: d.diff for d in result.devices}


async def change_on_device(sim: SimulatorServer, device: str, **changes: Any) -> None:
    """Change a device's own configuration by hand (the simulator's admin endpoint)."""
    async with httpx.AsyncClient(base_url=sim.url, auth=("admin", "admin")) as http:
        current = (await http.get(f"/sim/devices/{device}/config")).json()
        reply = await http.put(f"/sim/devices/{device}/config", json={**current, **changes})
        reply.raise_for_status()


async def set_faults(sim: SimulatorServer, **faults: Any) -> None:
    async with httpx.AsyncClient(base_url=sim.url, auth=("admin", "admin")) as http:
        (await http.put("/sim/faults", json=faults)).raise_for_status()
