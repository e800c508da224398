"""STPs from device interfaces marked ``nsi-stp`` in NSO."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.agent import store
from gateway.agent.backends.nso_topology import (
    TopologyMarkError,
    stp_from_interface,
    stps_from_devices,
)
from gateway.agent.component import AgentComponent
from gateway.db import Database
from tests.gateway.agent.backends.conftest import Nso, nso_settings
from tests.gateway.agent.conftest import fast_outbox


def test_a_marked_interface_is_an_stp() -> None:
    port = stp_from_interface(
        "pe0",
        {
            "name": "GigabitEthernet0/0/0/2",
            "description": "customer 2 [nsi-stp id=pe0-2 vlans=200-299,400 capacity=1000 "
            "alias=urn:ogf:network:peer:p1]",
        },
    )
    assert port is not None
    assert port.id == "pe0-2"
    assert port.port == "pe0:GigabitEthernet0/0/0/2"
    assert str(port.vlans) == "200-299,400"
    assert port.capacity == 1000
    assert port.alias == "urn:ogf:network:peer:p1"
    assert port.description == "customer 2"


def test_unmarked_interfaces_are_not_stps_and_ids_default_from_the_name() -> None:
    assert stp_from_interface("pe0", {"name": "Gi0/1", "description": "uplink"}) is None
    port = stp_from_interface(
        "pe1", {"name": "Gi0/0/1", "description": "nsi-stp vlans=5 capacity=10"}
    )
    assert port is not None
    assert port.id == "pe1-Gi0_0_1"


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ("nsi-stp capacity=10", "without vlans="),
        ("nsi-stp vlans=5", "without capacity="),
        ("nsi-stp vlans=5 capacity=lots", "not a number"),
        ("nsi-stp vlans=9000 capacity=10", "pe0 Gi0/1"),
    ],
)
def test_bad_marks_name_the_interface(description: str, message: str) -> None:
    with pytest.raises(TopologyMarkError, match=message):
        stp_from_interface("pe0", {"name": "Gi0/1", "description": description})


def test_devices_give_their_marked_interfaces_in_order() -> None:
    configs: dict[str, dict[str, Any]] = {
        "pe1": {"interface": [{"name": "A", "description": "nsi-stp id=b vlans=1 capacity=1"}]},
        "pe0": {
            "interface": [
                {"name": "A", "description": "nsi-stp id=a vlans=1 capacity=1"},
                {"name": "B", "description": "plain"},
            ]
        },
        "ce0": {"hostname": "ce0"},
    }
    assert [p.id for p in stps_from_devices(configs)] == ["a", "b"]


async def test_the_agent_takes_its_stps_from_the_simulators_demo_devices(
    tmp_path: Path, nso: Nso
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'agent.db'}")
    await db.migrate()
    settings = nso_settings(tmp_path, "127.0.0.1:1", nso, nso_backend_topology=True)
    component = AgentComponent(settings, db, fast_outbox(db))
    try:
        await component.start()
        async with db.sessions() as session:
            ports = await session.run_sync(store.list_ports)
        assert {p.id: p.port for p in ports} == {
            "pe0-2": "pe0:GigabitEthernet0/0/0/2",
            "pe0-3": "pe0:GigabitEthernet0/0/0/3",
            "pe1-2": "pe1:GigabitEthernet0/0/0/2",
            "pe1-3": "pe1:GigabitEthernet0/0/0/3",
        }
        assert {str(p.vlans) for p in ports} == {"200-299", "300-399"}
    finally:
        await component.stop()
        await db.dispose()
