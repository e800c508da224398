"""The client's data operations against the simulator over real sockets."""

from __future__ import annotations

import asyncio
import copy

import httpx
import pytest

from adapters.nso_restconf import (
    AlreadyExists,
    BadRequest,
    CommitParams,
    CommitQueueMode,
    CommitQueueTimeout,
    DeviceOutOfSync,
    DryRunFormat,
    InvalidResponse,
    NotFound,
    NsoClient,
    NsoConfig,
    PatchEdit,
    PreconditionFailed,
    QueueItemStatus,
    SyncNsoClient,
    Unauthorized,
    data_path,
    device_path,
)
from adapters.nso_restconf.simulator import SimulatorServer, run_simulator
from tests.adapters.nso_restconf.conftest import C2_PATH, L2VLAN_C2, client_for


async def test_get_wraps_the_node_in_its_qualified_name(nso: NsoClient) -> None:
    reply = await nso.get(device_path("pe0"))
    assert list(reply.body) == ["tailf-ncs:device"]
    assert reply.value["name"] == "pe0"
    assert reply.value["platform"]["model"] == "ASR9K"
    assert reply.etag
    assert reply.last_modified


async def test_get_query_parameters(nso: NsoClient) -> None:
    fields = await nso.get(device_path("pe0"), fields="name;platform(version)")
    assert fields.value == {"name": "pe0", "platform": {"version": "7.9.2"}}
    shallow = await nso.get(device_path("pe0"), depth=1)
    assert "config" not in shallow.value
    assert shallow.value["address"] == "127.0.0.1"
    config_only = await nso.get(device_path("pe0"), content="config")
    assert "platform" not in config_only.value
    assert "config" in config_only.value
    oper = await nso.get(device_path("pe0"), content="nonconfig")
    assert set(oper.value) == {"name", "platform"}
    excluded = await nso.get(device_path("pe0"), exclude="config;platform/serial-number")
    assert "config" not in excluded.value
    assert excluded.value["platform"] == {"name": "ios-xr", "version": "7.9.2", "model": "ASR9K"}
    with pytest.raises(ValueError, match="together"):
        await nso.get(device_path("pe0"), fields="name", exclude="config")
    trimmed = await nso.get(device_path("pe0"), with_defaults="trim")
    assert "port" in trimmed.value  # 10022 is not the default
    assert "authgroup" not in trimmed.value  # "default" is


async def test_missing_instance_is_not_found_with_the_nso_message(nso: NsoClient) -> None:
    with pytest.raises(NotFound) as caught:
        await nso.get(device_path("nope"))
    assert caught.value.status == 404
    assert caught.value.error_tag == "invalid-value"
    assert "uri keypath not found" in str(caught.value)
    assert await nso.exists(device_path("pe0"))
    assert not await nso.exists(device_path("nope"))


async def test_keys_are_percent_encoded(nso: NsoClient) -> None:
    body = {"tailf-ncs:interface": [{"name": "Gi0/0/9", "description": "slash key"}]}
    path = device_path("ce1", "config", ("interface", "Gi0/0/9"))
    assert "interface=Gi0%2F0%2F9" in path
    created = await nso.put(path, body)
    assert created.status == 201
    assert (await nso.get(path)).value["description"] == "slash key"
    replaced = await nso.put(path, body)
    assert replaced.status == 204


async def test_create_merge_delete_round_trip(nso: NsoClient) -> None:
    created = await nso.create("", L2VLAN_C2)
    assert created.status == 201
    assert created.location is not None
    assert created.location.endswith("/l2vlan:l2vlan=c2")
    with pytest.raises(AlreadyExists) as caught:
        await nso.create("", L2VLAN_C2)
    assert "object already exists" in caught.value.message
    await nso.merge(C2_PATH, {"l2vlan:l2vlan": [{"name": "c2", "capacity-mbps": 75}]})
    assert (await nso.get(C2_PATH)).value["capacity-mbps"] == 75
    pe0 = await nso.get(device_path("pe0", "config", ("interface", "GigabitEthernet0/0/0/2")))
    assert pe0.value["vlan"][0]["bandwidth-mbps"] == 75  # the service re-rendered
    deleted = await nso.delete(C2_PATH)
    assert deleted.status == 204
    with pytest.raises(NotFound):
        await nso.delete(C2_PATH)
    pe0 = await nso.get(device_path("pe0", "config", ("interface", "GigabitEthernet0/0/0/2")))
    assert "vlan" not in pe0.value


async def test_merge_of_a_missing_node_is_not_found(nso: NsoClient) -> None:
    with pytest.raises(NotFound):
        await nso.merge("l2vlan:l2vlan=ghost", {"l2vlan:l2vlan": [{"name": "ghost"}]})


async def test_service_validation_errors_are_bad_requests_and_change_nothing(
    nso: NsoClient,
) -> None:
    bad = copy.deepcopy(L2VLAN_C2)
    bad["l2vlan:l2vlan"][0]["endpoint"][1]["interface"] = "Gi9/9"
    before = (await nso.get(device_path("ce0", "config"))).body
    with pytest.raises(BadRequest) as caught:
        await nso.put(C2_PATH, bad)
    assert "has no interface" in caught.value.message
    assert (await nso.get(device_path("ce0", "config"))).body == before
    assert not await nso.exists(C2_PATH)


async def test_etag_preconditions(nso: NsoClient) -> None:
    first = await nso.get(C2_PATH.replace("c2", "demo-circuit"))
    again = await nso.get(device_path("pe0"), if_none_match=first.etag)
    assert again.not_modified
    assert again.body is None
    await nso.put(C2_PATH, L2VLAN_C2, if_match=first.etag)
    with pytest.raises(PreconditionFailed) as caught:
        await nso.delete(C2_PATH, if_match=first.etag)
    assert caught.value.status == 412
    assert await nso.exists(C2_PATH)
    current = await nso.get(C2_PATH)
    assert current.etag != first.etag
    await nso.delete(C2_PATH, if_match=current.etag)
    assert not await nso.exists(C2_PATH)


@pytest.mark.parametrize("version", ["6.4", "6.7"])
async def test_dry_run_in_every_format_changes_nothing(version: str) -> None:
    async with (
        run_simulator(nso_version=version) as sim,
        client_for(sim, nso_version=version) as nso,
    ):
        native = await nso.put(C2_PATH, L2VLAN_C2, params=CommitParams(dry_run=DryRunFormat.NATIVE))
        assert native.dry_run is not None
        assert native.dry_run.changed_devices == ["ce0", "pe0"]  # only the changed devices
        assert "vlan 200" in native.dry_run.native["pe0"]
        assert "description l2vlan c2" in native.dry_run.native["ce0"]
        cli = await nso.put(C2_PATH, L2VLAN_C2, params=CommitParams(dry_run=DryRunFormat.CLI))
        assert cli.dry_run is not None
        assert "+l2vlan c2 {" in cli.dry_run.cli
        xml = await nso.put(C2_PATH, L2VLAN_C2, params=CommitParams(dry_run=DryRunFormat.XML))
        assert xml.dry_run is not None
        assert "<vlan-id>200</vlan-id>" in xml.dry_run.xml
        assert not await nso.exists(C2_PATH)


async def test_dry_run_reverse_shows_the_undo(nso: NsoClient) -> None:
    await nso.put(C2_PATH, L2VLAN_C2)
    forward = await nso.delete(C2_PATH, params=CommitParams(dry_run=DryRunFormat.NATIVE))
    reverse = await nso.delete(
        C2_PATH, params=CommitParams(dry_run=DryRunFormat.NATIVE, dry_run_reverse=True)
    )
    assert forward.dry_run is not None
    assert reverse.dry_run is not None
    assert "no vlan 200" in forward.dry_run.native["pe0"]
    assert "no vlan" not in reverse.dry_run.native["pe0"]
    assert " vlan 200" in reverse.dry_run.native["pe0"]
    assert await nso.exists(C2_PATH)


async def test_header_encoding_is_ignored_by_an_older_nso(sim: SimulatorServer) -> None:
    # A 6.7 client against a 6.4 NSO: the header is not understood, so the write
    # commits; the client says so instead of returning an empty dry-run.
    async with client_for(sim, nso_version="6.7") as nso:
        with pytest.raises(InvalidResponse, match="nso_version"):
            await nso.put(C2_PATH, L2VLAN_C2, params=CommitParams(dry_run=DryRunFormat.CLI))
        assert await nso.exists(C2_PATH)


async def test_rollback_id_and_label(nso: NsoClient) -> None:
    first = await nso.put(C2_PATH, L2VLAN_C2, params=CommitParams(rollback_id=True, label="t1"))
    second = await nso.delete(C2_PATH, params=CommitParams(rollback_id=True))
    assert first.rollback_id is not None
    assert second.rollback_id == first.rollback_id + 1


@pytest.mark.parametrize("version", ["6.4", "6.7"])
async def test_no_networking_leaves_devices_out_of_sync(version: str) -> None:
    async with (
        run_simulator(nso_version=version) as sim,
        client_for(sim, nso_version=version) as nso,
    ):
        await nso.put(C2_PATH, L2VLAN_C2, params=CommitParams(no_networking=True))
        assert (await nso.devices.check_sync("pe0")).result == "out-of-sync"
        assert (await nso.devices.check_sync("pe1")).in_sync
        change = copy.deepcopy(L2VLAN_C2)
        change["l2vlan:l2vlan"][0]["capacity-mbps"] = 60
        with pytest.raises(DeviceOutOfSync) as caught:
            await nso.put(C2_PATH, change)
        assert "out of sync" in caught.value.message
        assert (await nso.get(C2_PATH)).value["capacity-mbps"] == 50
        await nso.put(C2_PATH, change, params=CommitParams(no_out_of_sync_check=True))
        assert (await nso.get(C2_PATH)).value["capacity-mbps"] == 60
        assert (await nso.devices.check_sync("pe0")).in_sync


async def test_commit_queue_async_item_completes(nso: NsoClient) -> None:
    result = await nso.put(
        C2_PATH, L2VLAN_C2, params=CommitParams(commit_queue=CommitQueueMode.ASYNC)
    )
    assert result.commit_queue_id is not None
    assert result.commit_queue_status == "async"
    first = await nso.queue_item(result.commit_queue_id)
    assert first.status in (QueueItemStatus.WAITING, QueueItemStatus.EXECUTING)
    assert sorted(first.devices) == ["ce0", "pe0"]
    assert (await nso.devices.check_sync("pe0")).result == "out-of-sync"
    done = await nso.wait_for_queue_item(result.commit_queue_id, timeout=10, interval=0.05)
    assert done.status is QueueItemStatus.COMPLETED
    assert (await nso.devices.check_sync("pe0")).in_sync


async def test_commit_queue_item_fails_when_a_device_is_unreachable(
    sim: SimulatorServer, nso: NsoClient
) -> None:
    result = await nso.put(
        C2_PATH, L2VLAN_C2, params=CommitParams(commit_queue=CommitQueueMode.ASYNC)
    )
    sim.state.faults.faults.unreachable.append("ce0")
    assert result.commit_queue_id is not None
    done = await nso.wait_for_queue_item(result.commit_queue_id, timeout=10, interval=0.05)
    assert done.status is QueueItemStatus.FAILED


async def test_wait_for_queue_item_times_out(nso: NsoClient) -> None:
    result = await nso.put(
        C2_PATH, L2VLAN_C2, params=CommitParams(commit_queue=CommitQueueMode.ASYNC)
    )
    assert result.commit_queue_id is not None
    with pytest.raises(CommitQueueTimeout):
        await nso.wait_for_queue_item(result.commit_queue_id, timeout=0, interval=0.01)


async def test_yang_patch_is_all_or_nothing(nso: NsoClient) -> None:
    c3 = copy.deepcopy(L2VLAN_C2["l2vlan:l2vlan"][0])
    c3.update(name="c3", **{"vlan-id": 300})
    ok = await nso.yang_patch(
        "",
        [
            PatchEdit(edit_id="1", operation="create", target="/l2vlan:l2vlan=c2", value=L2VLAN_C2),
            PatchEdit(
                edit_id="2",
                operation="merge",
                target="/tailf-ncs:devices/device=ce1/config/hostname",
                value={"hostname": "ce1-renamed"},
            ),
        ],
        patch_id="p1",
    )
    assert ok.ok
    assert ok.patch_id == "p1"
    assert (await nso.get(device_path("ce1", "config", "hostname"))).value == "ce1-renamed"
    with pytest.raises(AlreadyExists):
        await nso.yang_patch(
            "",
            [
                PatchEdit(
                    edit_id="a",
                    operation="create",
                    target="/l2vlan:l2vlan=c3",
                    value={"l2vlan:l2vlan": [c3]},
                ),
                PatchEdit(
                    edit_id="b", operation="create", target="/l2vlan:l2vlan=c2", value=L2VLAN_C2
                ),
            ],
        )
    assert not await nso.exists("l2vlan:l2vlan=c3")


async def test_yang_patch_failure_reports_the_edit(sim: SimulatorServer) -> None:
    async with httpx.AsyncClient(auth=("admin", "admin")) as http:
        response = await http.patch(
            f"{sim.url}/restconf/data",
            content=b'{"ietf-yang-patch:yang-patch":{"patch-id":"p","edit":[{"edit-id":"e1",'
            b'"operation":"delete","target":"/l2vlan:l2vlan=none"}]}}',
            headers={"Content-Type": "application/yang-patch+json"},
        )
    assert response.status_code == 400
    status = response.json()["ietf-yang-patch:yang-patch-status"]
    assert status["patch-id"] == "p"
    assert status["edit-status"]["edit"][0]["edit-id"] == "e1"


async def test_wrong_password_is_unauthorized(sim: SimulatorServer) -> None:
    async with client_for(sim, password="wrong") as nso:
        with pytest.raises(Unauthorized) as caught:
            await nso.get(device_path("pe0"))
    assert "wrong" not in str(caught.value)
    assert "wrong" not in repr(caught.value)


def test_secrets_stay_out_of_reprs() -> None:
    config = NsoConfig(url="http://127.0.0.1:1", password="s3cret-pw", token="tok-123")
    client = NsoClient(config)
    for text in (repr(config), str(config), repr(client), repr(client.transport)):
        assert "s3cret-pw" not in text
        assert "tok-123" not in text


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(ValueError, match="credentials"):
        NsoConfig(url="http://admin:pw@127.0.0.1:8080")


def test_data_path_requires_a_qualified_top() -> None:
    with pytest.raises(ValueError, match="module-qualified"):
        data_path("devices", ("device", "pe0"))


async def test_sync_facade(sim: SimulatorServer) -> None:
    def work() -> tuple[list[str], str, bool]:
        with SyncNsoClient(NsoConfig(url=sim.url, password="admin")) as nso:
            names = [d.name for d in nso.devices()]
            return names, nso.exec("ce0", "show version"), nso.check_sync("ce0").in_sync

    names, version, in_sync = await asyncio.to_thread(work)
    assert names == ["pe0", "pe1", "ce0", "ce1"]
    assert "17.9.4" in version
    assert in_sync
