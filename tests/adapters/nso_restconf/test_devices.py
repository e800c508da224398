"""Device actions through the client, against the simulator."""

from __future__ import annotations

import httpx
import pytest

from adapters.nso_restconf import (
    DryRunFormat,
    NotFound,
    NsoClient,
    NsoError,
    ServerError,
    SyncStatus,
)
from adapters.nso_restconf.devices import stats_module_for_ned
from adapters.nso_restconf.simulator import SimulatorServer
from tests.adapters.nso_restconf.conftest import client_for


async def _change_on_device(sim: SimulatorServer, device: str) -> None:
    """Change the device's own configuration behind NSO's back (admin endpoint)."""
    async with httpx.AsyncClient(auth=("admin", "admin")) as http:
        config = (await http.get(f"{sim.url}/sim/devices/{device}/config")).json()
        config["hostname"] = f"{device}-changed-by-hand"
        reply = await http.put(f"{sim.url}/sim/devices/{device}/config", json=config)
        assert reply.status_code == 200


async def test_list_and_platform(nso: NsoClient) -> None:
    devices = await nso.devices.all()
    assert [d.name for d in devices] == ["pe0", "pe1", "ce0", "ce1"]
    assert devices[0].ned_id == "cisco-iosxr-cli-7.52"
    assert devices[2].platform.model == "C8300"
    assert (await nso.devices.platform("pe1")).serial_number == "FOC2231R1PE"


async def test_connect_and_unreachable(sim: SimulatorServer, nso: NsoClient) -> None:
    ok = await nso.devices.connect("pe0")
    assert ok.result
    assert "Connected to pe0" in ok.info
    sim.state.faults.faults.unreachable.append("pe0")
    failed = await nso.devices.connect("pe0")
    assert not failed.result
    assert "connection refused" in failed.info


async def test_check_sync_one_and_all(sim: SimulatorServer, nso: NsoClient) -> None:
    assert (await nso.devices.check_sync("ce0")).result is SyncStatus.IN_SYNC
    await _change_on_device(sim, "ce0")
    sim.state.faults.faults.unreachable.append("ce1")
    assert (await nso.devices.check_sync("ce0")).result is SyncStatus.OUT_OF_SYNC
    everything = {r.device: r.result for r in await nso.devices.check_sync_all()}
    assert everything == {
        "pe0": SyncStatus.IN_SYNC,
        "pe1": SyncStatus.IN_SYNC,
        "ce0": SyncStatus.OUT_OF_SYNC,
        "ce1": SyncStatus.ERROR,
    }


async def test_check_sync_many_reports_each_device(nso: NsoClient) -> None:
    seen: list[str] = []
    results = await nso.devices.check_sync_many(
        ["pe0", "ce1", "missing"], on_result=lambda r: seen.append(r.device)
    )
    assert [r.result for r in results] == [SyncStatus.IN_SYNC, SyncStatus.IN_SYNC, SyncStatus.ERROR]
    assert "uri keypath not found" in results[2].info
    assert sorted(seen) == ["ce1", "missing", "pe0"]


async def test_compare_config_sync_from_and_sync_to(sim: SimulatorServer, nso: NsoClient) -> None:
    assert await nso.devices.compare_config("pe1") == ""
    await _change_on_device(sim, "pe1")
    diff = await nso.devices.compare_config("pe1")
    assert "-    hostname pe1;" in diff
    assert "+    hostname pe1-changed-by-hand;" in diff
    preview = await nso.devices.sync_to_dry_run("pe1")
    assert "hostname pe1" in preview.native["pe1"]
    assert (await nso.devices.check_sync("pe1")).result is SyncStatus.OUT_OF_SYNC  # dry-run only
    assert (await nso.devices.sync_to("pe1")).result
    assert (await nso.devices.check_sync("pe1")).in_sync
    await _change_on_device(sim, "pe1")
    assert (await nso.devices.sync_from("pe1")).result
    hostname = await nso.get("tailf-ncs:devices/device=pe1/config/hostname")
    assert hostname.value == "pe1-changed-by-hand"
    assert (await nso.devices.check_sync("pe1")).in_sync


async def test_sync_to_dry_run_cli(sim: SimulatorServer, nso: NsoClient) -> None:
    await _change_on_device(sim, "ce0")
    preview = await nso.devices.sync_to_dry_run("ce0", DryRunFormat.CLI)
    assert "+    hostname ce0;" in preview.cli


async def test_ping_and_host_keys(sim: SimulatorServer, nso: NsoClient) -> None:
    assert "0% packet loss" in (await nso.devices.ping("ce0")).result
    keys = await nso.devices.fetch_host_keys("ce0")
    assert keys.fingerprints[0].algorithm == "ssh-ed25519"
    assert len(keys.fingerprints[0].value.split(":")) == 16
    sim.state.faults.faults.unreachable.append("ce0")
    assert "100% packet loss" in (await nso.devices.ping("ce0")).result


async def test_exec_derives_the_stats_module_from_the_ned(nso: NsoClient) -> None:
    assert "ios-xr Software, Version 7.9.2" in await nso.devices.exec("pe0", "show version")
    brief = await nso.devices.exec("ce0", "show ip interface brief")
    assert "GigabitEthernet0/0/3" in brief
    assert await nso.devices.stats_module("pe0") == "tailf-ned-cisco-ios-xr-stats"
    assert await nso.devices.stats_module("ce0") == "tailf-ned-cisco-ios-stats"


async def test_exec_with_a_configured_module(sim: SimulatorServer) -> None:
    async with client_for(sim, stats_modules={"ce0": "tailf-ned-cisco-nx-stats"}) as nso:
        with pytest.raises(NotFound):  # the wrong module for this NED
            await nso.devices.exec("ce0", "show version")
        out = await nso.devices.exec(
            "ce0", "show version", stats_module="tailf-ned-cisco-ios-stats"
        )
        assert "17.9.4" in out


async def test_exec_on_an_unreachable_device_fails(sim: SimulatorServer, nso: NsoClient) -> None:
    sim.state.faults.faults.unreachable.append("pe1")
    with pytest.raises(ServerError, match="connection refused"):
        await nso.devices.exec("pe1", "show version")


@pytest.mark.parametrize(
    ("ned", "module"),
    [
        ("cisco-ios-cli-6.100", "tailf-ned-cisco-ios-stats"),
        ("cisco-iosxr-cli-7.52:cisco-iosxr-cli-7.52", "tailf-ned-cisco-ios-xr-stats"),
        ("cisco-nx-cli-5.25", "tailf-ned-cisco-nx-stats"),
        ("arista-dcs-cli-5.40", "tailf-ned-arista-dcs-stats"),
    ],
)
def test_stats_module_for_ned(ned: str, module: str) -> None:
    assert stats_module_for_ned(ned) == module


def test_stats_module_for_a_netconf_ned_needs_configuration() -> None:
    with pytest.raises(NsoError, match="stats_modules"):
        stats_module_for_ned("juniper-junos-nc-4.14")


async def test_a_locked_device_reads_locked(nso: NsoClient) -> None:
    await nso.merge(
        "tailf-ncs:devices/device=ce1/state", {"tailf-ncs:state": {"admin-state": "locked"}}
    )
    assert (await nso.devices.check_sync("ce1")).result is SyncStatus.LOCKED
    assert (await nso.devices.get("ce1")).admin_state == "locked"
