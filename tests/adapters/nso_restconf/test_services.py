"""Service actions through the client: re-deploy, check-sync, get-modifications, un-deploy."""

from __future__ import annotations

import pytest

from adapters.nso_restconf import BadRequest, CommitParams, DryRunFormat, NotFound, NsoClient
from adapters.nso_restconf.simulator import SimulatorServer
from tests.adapters.nso_restconf.conftest import C2_PATH, L2VLAN_C2

DEMO = "l2vlan:l2vlan=demo-circuit"
PE0_GI1 = "tailf-ncs:devices/device=pe0/config/interface=GigabitEthernet0%2F0%2F0%2F1"


async def _drift(nso: NsoClient) -> None:
    """Remove the service's VLAN from NSO's copy of pe0 as if someone deleted it."""
    await nso.delete(f"{PE0_GI1}/vlan=100")


async def test_apply_and_delete(nso: NsoClient) -> None:
    applied = await nso.services.apply(C2_PATH, L2VLAN_C2)
    assert applied.status == 201
    assert (await nso.devices.check_sync("ce0")).in_sync  # pushed to the device
    await nso.services.delete(C2_PATH)
    assert not await nso.exists(C2_PATH)


async def test_check_sync_and_re_deploy_repair_drift(nso: NsoClient) -> None:
    assert (await nso.services.check_sync(DEMO)).in_sync
    await _drift(nso)
    assert not (await nso.services.check_sync(DEMO)).in_sync
    preview = await nso.services.re_deploy_dry_run(DEMO)
    assert preview.changed_devices == ["pe0"]
    assert "vlan 100" in preview.native["pe0"]
    cli = await nso.services.re_deploy_dry_run(DEMO, DryRunFormat.CLI)
    assert "+" in cli.cli
    assert "vlan 100" in cli.cli
    assert not (await nso.services.check_sync(DEMO)).in_sync  # dry-run changed nothing
    await nso.services.re_deploy(DEMO)
    assert (await nso.services.check_sync(DEMO)).in_sync
    assert (await nso.devices.check_sync("pe0")).in_sync


async def test_get_modifications(nso: NsoClient) -> None:
    text = await nso.services.get_modifications(DEMO)
    assert "device pe0" in text
    assert "device pe1" in text
    assert "vlan 100" in text


async def test_un_deploy_keeps_the_instance(nso: NsoClient) -> None:
    await nso.services.un_deploy(DEMO)
    assert await nso.exists(DEMO)
    gi1 = await nso.get(PE0_GI1)
    assert "vlan" not in gi1.value
    assert (await nso.devices.check_sync("pe0")).in_sync


async def test_actions_on_a_missing_service(nso: NsoClient) -> None:
    with pytest.raises(NotFound):
        await nso.services.check_sync("l2vlan:l2vlan=nope")


async def test_vlan_clash_is_refused(sim: SimulatorServer, nso: NsoClient) -> None:
    clash = {"l2vlan:l2vlan": [{**L2VLAN_C2["l2vlan:l2vlan"][0], "vlan-id": 100}]}
    clash["l2vlan:l2vlan"][0]["endpoint"] = [
        {"device": "pe0", "interface": "GigabitEthernet0/0/0/1"},
        {"device": "ce0", "interface": "GigabitEthernet0/0/2"},
    ]
    with pytest.raises(BadRequest, match="already used"):
        await nso.services.apply(C2_PATH, clash)


async def test_no_deploy_stores_the_instance_and_re_deploy_renders_it(nso: NsoClient) -> None:
    await nso.services.apply(C2_PATH, L2VLAN_C2, params=CommitParams(no_deploy=True))
    assert await nso.exists(C2_PATH)
    gi2 = "tailf-ncs:devices/device=ce0/config/interface=GigabitEthernet0%2F0%2F2"
    assert "vlan" not in (await nso.get(gi2)).value
    assert not (await nso.services.check_sync(C2_PATH)).in_sync
    await nso.services.re_deploy(C2_PATH)
    assert (await nso.get(gi2)).value["vlan"][0]["id"] == 200
    assert (await nso.devices.check_sync("ce0")).in_sync
