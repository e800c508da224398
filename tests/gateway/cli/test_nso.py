"""``nsgw nso ...`` and ``nsgw nso-sim`` against a simulator on a free loopback port."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from adapters.nso_restconf.simulator import SimulatorServer, build_state
from gateway.cli import app

runner = CliRunner()


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    """The simulator on its own event loop in a thread (the CLI runs asyncio.run itself)."""
    loop = asyncio.new_event_loop()
    server = SimulatorServer(build_state(queue_delay=0.1))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def nsgw(sim: SimulatorServer | None, *args: str, password: str = "admin", url: str = ""):
    target = url or (sim.url if sim else "")
    argv = [*args, "--url", target, "--password", password]
    return runner.invoke(app, argv, env={"COLUMNS": "200", "NSGW_CONFIG": ""})


def change_on_device(sim: SimulatorServer, device: str) -> None:
    sim.state.devices[device].actual["hostname"] = f"{device}-by-hand"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_devices(sim: SimulatorServer) -> None:
    result = nsgw(sim, "nso", "devices")
    assert result.exit_code == 0, result.output
    for name in ("pe0", "pe1", "ce0", "ce1", "cisco-iosxr-cli-7.52", "FDO2319A1CE"):
        assert name in result.output


def test_check_sync_all_and_named(sim: SimulatorServer) -> None:
    ok = nsgw(sim, "nso", "check-sync", "--all")
    assert ok.exit_code == 0, ok.output
    assert ok.output.count("in-sync") == 4
    change_on_device(sim, "ce1")
    drift = nsgw(sim, "nso", "check-sync")
    assert drift.exit_code == 1
    assert "out-of-sync" in drift.output
    assert "1 of 4 device(s) not in sync" in drift.output
    named = nsgw(sim, "nso", "check-sync", "pe0", "pe1")
    assert named.exit_code == 0
    assert "ce1" not in named.output
    both = nsgw(sim, "nso", "check-sync", "pe0", "--all")
    assert both.exit_code == 2
    assert "not both" in both.output


def test_check_sync_of_a_missing_device_is_an_error_row(sim: SimulatorServer) -> None:
    result = nsgw(sim, "nso", "check-sync", "pe0", "nope")
    assert result.exit_code == 1
    assert "error" in result.output


def test_compare_config(sim: SimulatorServer) -> None:
    same = nsgw(sim, "nso", "compare-config", "pe0")
    assert same.exit_code == 0
    assert "pe0: in sync" in same.output
    change_on_device(sim, "pe0")
    diff = nsgw(sim, "nso", "compare-config", "pe0")
    assert diff.exit_code == 1
    assert "+    hostname pe0-by-hand;" in diff.output


def test_sync_from_and_sync_to(sim: SimulatorServer) -> None:
    change_on_device(sim, "ce0")
    preview = nsgw(sim, "nso", "sync-to", "ce0", "--dry-run")
    assert preview.exit_code == 0
    assert "hostname ce0" in preview.output
    assert nsgw(sim, "nso", "sync-to", "ce0").exit_code == 0
    assert sim.state.devices["ce0"].actual["hostname"] == "ce0"
    change_on_device(sim, "ce0")
    look = nsgw(sim, "nso", "sync-from", "ce0", "--dry-run")
    assert "hostname ce0-by-hand" in look.output
    done = nsgw(sim, "nso", "sync-from", "ce0")
    assert done.exit_code == 0
    assert "sync-from done" in done.output
    assert nsgw(sim, "nso", "check-sync", "ce0").exit_code == 0


def test_sync_to_an_unreachable_device(sim: SimulatorServer) -> None:
    sim.state.faults.faults.unreachable.append("pe1")
    result = nsgw(sim, "nso", "sync-from", "pe1")
    assert result.exit_code == 1
    assert "connection refused" in result.output


def test_exec(sim: SimulatorServer) -> None:
    result = nsgw(sim, "nso", "exec", "ce1", "show version")
    assert result.exit_code == 0
    assert "ios Software, Version 17.9.4" in result.output


def test_service_apply_and_delete(sim: SimulatorServer, tmp_path: Path) -> None:
    body = {
        "l2vlan:l2vlan": [
            {
                "name": "cli1",
                "vlan-id": 42,
                "capacity-mbps": 10,
                "endpoint": [
                    {"device": "ce0", "interface": "GigabitEthernet0/0/1"},
                    {"device": "ce1", "interface": "GigabitEthernet0/0/1"},
                ],
            }
        ]
    }
    file = tmp_path / "cli1.json"
    file.write_text(json.dumps(body))
    path = "l2vlan:l2vlan=cli1"
    native = nsgw(sim, "nso", "service", "apply", path, "--file", str(file), "--dry-run", "native")
    assert native.exit_code == 0, native.output
    assert "device ce0" in native.output
    assert "vlan 42" in native.output
    cli = nsgw(sim, "nso", "service", "apply", path, "-f", str(file), "--dry-run", "cli")
    assert "+l2vlan cli1 {" in cli.output
    applied = nsgw(sim, "nso", "service", "apply", path, "--file", str(file))
    assert applied.exit_code == 0
    assert f"{path}: created" in applied.output
    preview = nsgw(sim, "nso", "service", "delete", path, "--dry-run", "native")
    assert "no vlan 42" in preview.output
    deleted = nsgw(sim, "nso", "service", "delete", path)
    assert deleted.exit_code == 0
    assert "deleted" in deleted.output
    again = nsgw(sim, "nso", "service", "delete", path)
    assert again.exit_code == 2
    assert "uri keypath not found" in again.output


def test_service_apply_bad_files(sim: SimulatorServer, tmp_path: Path) -> None:
    missing = nsgw(sim, "nso", "service", "apply", "l2vlan:l2vlan=x", "--file", "/nonexistent")
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    broken = tmp_path / "b.json"
    broken.write_text("{")
    bad = nsgw(sim, "nso", "service", "apply", "l2vlan:l2vlan=x", "--file", str(broken))
    assert "not valid JSON" in bad.output
    invalid = tmp_path / "i.json"
    invalid.write_text(json.dumps({"l2vlan:l2vlan": [{"name": "x", "vlan-id": 0}]}))
    refused = nsgw(sim, "nso", "service", "apply", "l2vlan:l2vlan=x", "--file", str(invalid))
    assert refused.exit_code == 2
    assert "vlan-id must be 1..4094" in refused.output


def test_bad_password(sim: SimulatorServer) -> None:
    result = nsgw(sim, "nso", "devices", password="hunter2-wrong")
    assert result.exit_code == 2
    assert "refused the credentials of user 'admin'" in result.output
    assert "hunter2-wrong" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unreachable_nso() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = nsgw(None, "nso", "check-sync", "--all", url=url)
    assert result.exit_code == 2
    assert f"cannot reach NSO at {url}" in result.output


def test_missing_device(sim: SimulatorServer) -> None:
    for args in (("exec", "zz", "show version"), ("compare-config", "zz"), ("sync-to", "zz")):
        result = nsgw(sim, "nso", *args)
        assert result.exit_code == 2, args
        assert "no device 'zz'" in result.output


def test_nso_sim_command_serves_until_terminated(tmp_path: Path) -> None:
    port = free_port()
    nsgw_bin = Path(sys.executable).with_name("nsgw")
    proc = subprocess.Popen(
        [str(nsgw_bin), "nso-sim", "--port", str(port), "--nso-version", "5.8"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "NSGW_CONFIG": ""},
    )
    try:
        reply = None
        for _ in range(200):
            try:
                reply = httpx.get(
                    f"http://127.0.0.1:{port}/restconf/data/tailf-ncs:devices/device=zz",
                    auth=("admin", "admin"),
                )
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert reply is not None
        assert reply.status_code == 404
        assert "errors" in reply.json()  # the 5.x error format
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert f"http://127.0.0.1:{port}/restconf" in out.decode()


def test_nso_sim_refuses_a_bad_data_file(tmp_path: Path) -> None:
    bad = tmp_path / "d.json"
    bad.write_text("[]")
    result = runner.invoke(app, ["nso-sim", "--data", str(bad)])
    assert result.exit_code == 2
    assert "must hold a JSON object" in result.output


def test_check_sync_of_named_devices_on_an_unreachable_nso() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = nsgw(None, "nso", "check-sync", "pe0", "ce0", url=url)
    assert result.exit_code == 2
    assert (
        result.output.strip() == f"error: cannot reach NSO at {url} (is it running? check nso_url)"
    )


def test_nso_sim_refuses_bad_fault_settings() -> None:
    result = runner.invoke(app, ["nso-sim", "--error-rate", "2"])
    assert result.exit_code == 2
    assert "invalid fault setting: error_rate" in result.output


def test_connect_ping_and_host_keys(sim: SimulatorServer) -> None:
    connected = nsgw(sim, "nso", "connect", "pe0")
    assert connected.exit_code == 0
    assert "Connected to pe0" in connected.output
    pinged = nsgw(sim, "nso", "ping", "pe0")
    assert "0% packet loss" in pinged.output
    keys = nsgw(sim, "nso", "fetch-host-keys", "pe0")
    assert keys.exit_code == 0
    assert "pe0: ssh-ed25519 " in keys.output
    sim.state.faults.faults.unreachable.append("pe0")
    refused = nsgw(sim, "nso", "connect", "pe0")
    assert refused.exit_code == 1
    assert "connection refused" in refused.output
    assert nsgw(sim, "nso", "fetch-host-keys", "pe0").exit_code == 1
    assert "no device 'zz'" in nsgw(sim, "nso", "ping", "zz").output
