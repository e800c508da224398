"""The simulator's replies have the shapes and status codes of the NSO facts."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from adapters.nso_restconf.simulator import SimulatorServer, build_state, run_simulator

YANG = {"Content-Type": "application/yang-data+json", "Accept": "application/yang-data+json"}
C1 = {
    "l2vlan:l2vlan": [
        {
            "name": "c1",
            "vlan-id": 300,
            "capacity-mbps": 10,
            "endpoint": [
                {"device": "ce0", "interface": "GigabitEthernet0/0/3"},
                {"device": "ce1", "interface": "GigabitEthernet0/0/3"},
            ],
        }
    ]
}


@pytest.fixture
async def http(sim: SimulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, auth=("admin", "admin"), headers=YANG) as c:
        yield c


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with run_simulator(queue_delay=1.0) as server:
        yield server


async def test_host_meta(http: httpx.AsyncClient) -> None:
    reply = await http.get("/.well-known/host-meta")
    assert reply.status_code == 200
    assert "<Link rel='restconf' href='/restconf'/>" in reply.text


async def test_basic_auth_required(sim: SimulatorServer) -> None:
    async with httpx.AsyncClient(base_url=sim.url, auth=("admin", "nope")) as bad:
        reply = await bad.get("/restconf/data/tailf-ncs:devices")
    assert reply.status_code == 401
    assert reply.json()["ietf-restconf:errors"]["error"][0]["error-tag"] == "access-denied"


async def test_other_media_types_get_415(http: httpx.AsyncClient) -> None:
    reply = await http.post(
        "/restconf/data", content=json.dumps(C1), headers={"Content-Type": "application/json"}
    )
    assert reply.status_code == 415
    assert reply.json()["ietf-restconf:errors"]["error"][0]["error-tag"] == "malformed-message"


async def test_get_shapes(http: httpx.AsyncClient) -> None:
    device = await http.get("/restconf/data/tailf-ncs:devices/device=ce0")
    assert device.status_code == 200
    assert device.headers["Content-Type"].startswith("application/yang-data+json")
    entry = device.json()["tailf-ncs:device"][0]
    assert entry["device-type"] == {"cli": {"ned-id": "cisco-ios-cli-6.100"}}
    assert entry["state"]["admin-state"] == "unlocked"
    assert set(entry["platform"]) == {"name", "version", "model", "serial-number"}
    missing = await http.get("/restconf/data/tailf-ncs:devices/device=zz")
    assert missing.status_code == 404
    error = missing.json()["ietf-restconf:errors"]["error"][0]
    assert error["error-tag"] == "invalid-value"
    assert error["error-message"] == "uri keypath not found"
    empty = await http.get("/restconf/data/tailf-ncs:devices/commit-queue")
    assert empty.status_code == 204


async def test_post_put_patch_delete_codes(http: httpx.AsyncClient) -> None:
    created = await http.post("/restconf/data", content=json.dumps(C1))
    assert created.status_code == 201
    assert created.content == b""
    assert created.headers["Location"].endswith("/restconf/data/l2vlan:l2vlan=c1")
    assert created.headers["Etag"]
    assert created.headers["Last-Modified"]
    again = await http.post("/restconf/data", content=json.dumps(C1))
    assert again.status_code == 409
    error = again.json()["ietf-restconf:errors"]["error"][0]
    assert error["error-tag"] == "data-exists"
    assert error["error-message"].startswith("object already exists: ")
    replaced = await http.put("/restconf/data/l2vlan:l2vlan=c1", content=json.dumps(C1))
    assert replaced.status_code == 204
    patch = {"l2vlan:l2vlan": [{"name": "c1", "capacity-mbps": 20}]}
    merged = await http.patch("/restconf/data/l2vlan:l2vlan=c1", content=json.dumps(patch))
    assert merged.status_code == 204
    gone = await http.delete("/restconf/data/l2vlan:l2vlan=c1")
    assert gone.status_code == 204
    assert (await http.delete("/restconf/data/l2vlan:l2vlan=c1")).status_code == 404
    missing = await http.patch("/restconf/data/l2vlan:l2vlan=c1", content=json.dumps(patch))
    assert missing.status_code == 404


async def test_etag_changes_and_preconditions(http: httpx.AsyncClient) -> None:
    first = await http.get("/restconf/data/tailf-ncs:devices/device=ce0/config/hostname")
    etag = first.headers["Etag"]
    same = await http.get(
        "/restconf/data/tailf-ncs:devices/device=ce0", headers={"If-None-Match": etag}
    )
    assert same.status_code == 304
    await http.post("/restconf/data", content=json.dumps(C1))
    stale = await http.delete("/restconf/data/l2vlan:l2vlan=c1", headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.content == b""
    since = await http.delete(
        "/restconf/data/l2vlan:l2vlan=c1",
        headers={"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
    )
    assert since.status_code == 412
    newer = await http.get("/restconf/data/l2vlan:l2vlan=c1")
    assert newer.headers["Etag"] != etag


async def test_query_parameter_rules(http: httpx.AsyncClient) -> None:
    twice = await http.get("/restconf/data/tailf-ncs:devices?depth=1&depth=2")
    assert twice.status_code == 400
    unknown = await http.get("/restconf/data/tailf-ncs:devices?frobnicate=1")
    assert unknown.status_code == 400
    both = await http.get("/restconf/data/tailf-ncs:devices?fields=device&exclude=x")
    assert both.status_code == 400
    on_action = await http.post("/restconf/data/tailf-ncs:devices/device=ce0/check-sync?depth=1")
    assert on_action.status_code == 400
    assert on_action.json()["ietf-restconf:errors"]["error"][0]["error-tag"] == "invalid-value"
    unhide = await http.post("/restconf/data/tailf-ncs:devices/device=ce0/check-sync?unhide=x")
    assert unhide.status_code == 200
    combo = await http.put(
        "/restconf/data/l2vlan:l2vlan=c1?dry-run=cli&commit-queue=async", content=json.dumps(C1)
    )
    assert combo.status_code == 400


async def test_action_output_shapes(http: httpx.AsyncClient) -> None:
    base = "/restconf/data/tailf-ncs:devices/device=pe0"
    assert (await http.post(f"{base}/connect")).json()["tailf-ncs:output"]["result"] is True
    sync = (await http.post(f"{base}/check-sync")).json()
    assert sync == {"tailf-ncs:output": {"result": "in-sync"}}
    everything = (await http.post("/restconf/data/tailf-ncs:devices/check-sync")).json()
    assert {"device": "pe0", "result": "in-sync"} in everything["tailf-ncs:output"]["sync-result"]
    assert (await http.post(f"{base}/compare-config")).status_code == 204
    via_operations = await http.post("/restconf/operations/tailf-ncs:devices/device=pe0/ping")
    assert "packet loss" in via_operations.json()["tailf-ncs:output"]["result"]
    exec_path = f"{base}/live-status/tailf-ned-cisco-ios-xr-stats:exec/any"
    out = await http.post(exec_path, content=json.dumps({"input": {"args": "show version"}}))
    assert "7.9.2" in out.json()["tailf-ned-cisco-ios-xr-stats:output"]["result"]
    wrong = f"{base}/live-status/tailf-ned-cisco-ios-stats:exec/any"
    assert (await http.post(wrong, content=b'{"input":{"args":"x"}}')).status_code == 404
    service = await http.post("/restconf/data/l2vlan:l2vlan=demo-circuit/check-sync")
    assert service.json() == {"l2vlan:output": {"in-sync": True}}


@pytest.mark.parametrize(("version", "key"), [("5.8", "errors"), ("6.4", "ietf-restconf:errors")])
async def test_error_format_by_version(version: str, key: str) -> None:
    async with (
        run_simulator(nso_version=version) as sim,
        httpx.AsyncClient(base_url=sim.url, auth=("admin", "admin")) as http,
    ):
        reply = await http.get("/restconf/data/tailf-ncs:devices/device=zz")
    assert list(reply.json()) == [key]


async def test_commit_params_header_and_params_query_on_6_7() -> None:
    doc = base64.b64encode(json.dumps({"dry-run": {"outformat": "native"}}).encode()).decode()
    async with (
        run_simulator(nso_version="6.7") as sim,
        httpx.AsyncClient(base_url=sim.url, auth=("admin", "admin"), headers=YANG) as h,
    ):
        header = await h.put(
            "/restconf/data/l2vlan:l2vlan=c1",
            content=json.dumps(C1),
            headers={"X-Cisco-NSO-Commit-Params": doc},
        )
        query = await h.put(
            "/restconf/data/l2vlan:l2vlan=c1", content=json.dumps(C1), params={"params": doc}
        )
        garbage = await h.put(
            "/restconf/data/l2vlan:l2vlan=c1",
            content=json.dumps(C1),
            headers={"X-Cisco-NSO-Commit-Params": "!!"},
        )
    for reply in (header, query):
        assert reply.status_code == 200
        devices = reply.json()["dry-run-result"]["native"]["device"]
        assert sorted(d["name"] for d in devices) == ["ce0", "ce1"]
    assert garbage.status_code == 400


async def test_fault_injection_at_run_time(http: httpx.AsyncClient) -> None:
    faults = await http.put("/sim/faults", json={"busy": 1, "in_use": 1})
    assert faults.status_code == 200
    assert (await http.get("/restconf/data/tailf-ncs:devices/device=ce0")).status_code == 503
    assert (await http.get("/restconf/data/tailf-ncs:devices/device=ce0")).status_code == 200
    in_use = await http.post("/restconf/data", content=json.dumps(C1))
    assert in_use.status_code == 409
    assert in_use.json()["ietf-restconf:errors"]["error"][0]["error-tag"] == "in-use"
    assert (await http.post("/restconf/data", content=json.dumps(C1))).status_code == 201
    await http.put("/sim/faults", json={"error_rate": 1.0})
    assert (await http.get("/restconf/data/tailf-ncs:devices")).status_code == 500
    await http.put("/sim/faults", json={"unreachable": ["ce0"]})
    connect = await http.post("/restconf/data/tailf-ncs:devices/device=ce0/connect")
    assert connect.json()["tailf-ncs:output"]["result"] is False
    assert (await http.put("/sim/faults", json={"busy": -1})).status_code == 400
    assert (await http.get("/sim/faults")).json()["unreachable"] == ["ce0"]


async def test_unreachable_device_fails_a_commit(http: httpx.AsyncClient) -> None:
    await http.put("/sim/faults", json={"unreachable": ["ce1"]})
    reply = await http.post("/restconf/data", content=json.dumps(C1))
    assert reply.status_code == 500
    assert "Failed to connect to device ce1" in reply.text
    assert (await http.get("/restconf/data/l2vlan:l2vlan=c1")).status_code == 404
    offline = await http.post("/restconf/data?no-networking", content=json.dumps(C1))
    assert offline.status_code == 201


async def test_commit_queue_item_status_moves_on(http: httpx.AsyncClient) -> None:
    reply = await http.post("/restconf/data?commit-queue=async", content=json.dumps(C1))
    assert reply.status_code == 201
    queue = reply.json()["tailf-restconf:result"]["commit-queue"]
    assert queue["status"] == "async"
    item = f"/restconf/data/tailf-ncs:devices/commit-queue/queue-item={queue['id']}"
    first = (await http.get(item)).json()["tailf-ncs:queue-item"][0]
    assert first["status"] in ("waiting", "executing")
    for _ in range(200):
        status = (await http.get(item)).json()["tailf-ncs:queue-item"][0]["status"]
        if status == "completed":
            break
        await asyncio.sleep(0.02)
    assert status == "completed"


def test_data_file_and_bad_data(tmp_path: Path) -> None:
    data = {
        "devices": [
            {
                "name": "r1",
                "ned-id": "cisco-ios-cli-6.1",
                "config": {"interface": [{"name": "e0"}]},
            },
            {
                "name": "r2",
                "ned-id": "cisco-ios-cli-6.1",
                "config": {"interface": [{"name": "e0"}]},
                "device-only-config": {"hostname": "drifted"},
            },
        ],
        "services": {
            "l2vlan:l2vlan": [
                {
                    "name": "x",
                    "vlan-id": 5,
                    "capacity-mbps": 1,
                    "endpoint": [
                        {"device": "r1", "interface": "e0"},
                        {"device": "r2", "interface": "e0"},
                    ],
                }
            ]
        },
    }
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data))
    state = build_state(path)
    assert state.devices["r1"].actual["interface"][0]["vlan"][0]["id"] == 5
    assert state.devices["r2"].actual["hostname"] == "drifted"
    path.write_text("{broken")
    with pytest.raises(ValueError, match="not valid JSON"):
        build_state(path)
    data["services"]["l2vlan:l2vlan"][0]["vlan-id"] = 9999  # type: ignore[index]
    with pytest.raises(ValueError, match="vlan-id"):
        build_state(data)
    with pytest.raises(ValueError, match="loopback"):
        SimulatorServer(build_state(None), host="0.0.0.0")
