"""The service model is pluggable: a model of one's own renders device configuration."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.nso_restconf import BadRequest, CommitParams, DryRunFormat, NsoClient, NsoConfig
from adapters.nso_restconf.simulator import L2VlanService, SimState, SimulatorServer
from adapters.nso_restconf.simulator.server import load
from adapters.nso_restconf.simulator.services import apply_fragment, remove_fragment
from adapters.nso_restconf.simulator.tree import TreeError


class NtpService:
    """A toy model: ``ntp:ntp=<name>`` sets an NTP server on every listed device."""

    top = "ntp:ntp"

    def validate(self, instance: dict[str, Any], configs: dict[str, Any]) -> None:
        for device in instance.get("device", []):
            if device not in configs:
                raise TreeError(400, "invalid-value", f"no device {device!r}")

    def render(self, instance: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {d: {"ntp": {"server": instance["server"]}} for d in instance.get("device", [])}


async def test_a_plugged_in_model_drives_dry_run_and_commit() -> None:
    state = SimState(models=[L2VlanService(), NtpService()])
    load(state, {"devices": [{"name": "r1", "ned-id": "cisco-ios-cli-6.1"}]})
    server = SimulatorServer(state)
    await server.start()
    try:
        async with NsoClient(NsoConfig(url=server.url, password="admin")) as nso:
            body = {"ntp:ntp": [{"name": "n", "server": "192.0.2.1", "device": ["r1"]}]}
            preview = await nso.put(
                "ntp:ntp=n", body, params=CommitParams(dry_run=DryRunFormat.NATIVE)
            )
            assert preview.dry_run is not None
            assert preview.dry_run.native == {"r1": "ntp\n server 192.0.2.1\n"}
            await nso.put("ntp:ntp=n", body)
            config = await nso.get("tailf-ncs:devices/device=r1/config")
            assert config.value == {"ntp": {"server": "192.0.2.1"}}
            assert state.devices["r1"].actual == {"ntp": {"server": "192.0.2.1"}}
            with pytest.raises(BadRequest, match="no device 'r9'"):
                await nso.put(
                    "ntp:ntp=m", {"ntp:ntp": [{"name": "m", "server": "x", "device": ["r9"]}]}
                )
            await nso.delete("ntp:ntp=n")
            assert (await nso.get("tailf-ncs:devices/device=r1/config")).body is None  # 204
    finally:
        await server.stop()


def test_fragments_come_out_as_they_went_in() -> None:
    config: dict[str, Any] = {"interface": [{"name": "e0", "mtu": 1500}]}
    model = L2VlanService()
    instance = {
        "name": "c",
        "vlan-id": 7,
        "capacity-mbps": 5,
        "endpoint": [{"device": "a", "interface": "e0"}, {"device": "b", "interface": "e1"}],
    }
    fragment = model.render(instance)["a"]
    apply_fragment(config, fragment)
    assert config["interface"][0]["vlan"][0]["id"] == 7
    remove_fragment(config, fragment)
    assert config == {"interface": [{"name": "e0", "mtu": 1500}]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"vlan-id": 0}, "vlan-id must be 1..4094"),
        ({"capacity-mbps": -1}, "capacity-mbps"),
        ({"endpoint": []}, "exactly two endpoints"),
    ],
)
def test_l2vlan_validation(change: dict[str, Any], message: str) -> None:
    instance = {
        "name": "c",
        "vlan-id": 7,
        "capacity-mbps": 5,
        "endpoint": [{"device": "a", "interface": "e0"}, {"device": "a", "interface": "e1"}],
    }
    configs = {"a": {"interface": [{"name": "e0"}, {"name": "e1"}]}}
    L2VlanService().validate(instance, configs)  # the unchanged instance is fine
    with pytest.raises(TreeError, match=message):
        L2VlanService().validate({**instance, **change}, configs)
