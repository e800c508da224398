"""Fixtures: a simulator on a free loopback port and a client talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.nso_restconf import NsoClient, NsoConfig
from adapters.nso_restconf.simulator import SimulatorServer, run_simulator


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with run_simulator(queue_delay=1.0) as server:  # long enough to see it queued
        yield server


def client_for(sim: SimulatorServer, **options: Any) -> NsoClient:
    options.setdefault("password", "admin")
    options.setdefault("backoff", 0.01)
    return NsoClient(NsoConfig(url=sim.url, **options))


@pytest.fixture
async def nso(sim: SimulatorServer) -> AsyncIterator[NsoClient]:
    async with client_for(sim) as client:
        yield client


L2VLAN_C2: dict[str, Any] = {
    "l2vlan:l2vlan": [
        {
            "name": "c2",
            "vlan-id": 200,
            "capacity-mbps": 50,
            "endpoint": [
                {"device": "pe0", "interface": "GigabitEthernet0/0/0/2"},
                {"device": "ce0", "interface": "GigabitEthernet0/0/2"},
            ],
        }
    ]
}
C2_PATH = "l2vlan:l2vlan=c2"
