"""nsgw.v1.NsoServices over real gRPC: a gateway in process, the NSO simulator on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from gateway.client import ApiCallError
from nsgw_proto.nsgw.v1 import nso_resources_pb2 as res
from nsgw_proto.nsgw.v1 import operations_pb2 as ops
from tests.gateway.nso_api.harness import (
    L2VLAN_PATH,
    NsoGateway,
    change_on_device,
    diffs,
    l2vlan_payload,
    nso_gateway,
)

SUCCEEDED = ops.OPERATION_STATE_SUCCEEDED
FAILED = ops.OPERATION_STATE_FAILED


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[NsoGateway]:
    async with nso_gateway(tmp_path) as running:
        yield running


def device_vlans(gw: NsoGateway, device: str, interface: str) -> list[int]:
    actual = gw.sim.state.devices[device].actual
    for entry in actual.get("interface", []):
        if entry["name"] == interface:
            return [v["id"] for v in entry.get("vlan", [])]
    return []


async def test_native_dry_run_returns_per_device_diffs_and_changes_nothing(
    gw: NsoGateway,
) -> None:
    op = await gw.client.nso_services.apply(
        L2VLAN_PATH, l2vlan_payload(), commit=res.CommitParams(dry_run=True)
    )
    assert op.kind == "nso.ApplyService"
    assert op.target == L2VLAN_PATH
    done = await gw.client.operations.wait(op.name)
    assert done.state == SUCCEEDED
    assert done.WhichOneof("result") == "dry_run"
    assert done.dry_run.format == res.DIFF_FORMAT_NATIVE
    changes = diffs(done.dry_run)
    assert sorted(changes) == ["pe0", "pe1"]
    assert " vlan 200" in changes["pe0"]
    assert "peer pe1 GigabitEthernet0/0/0/2" in changes["pe0"]
    # Nothing changed: no instance in NSO, no VLAN on the devices.
    with pytest.raises(ApiCallError) as missing:
        await gw.client.nso_services.get(L2VLAN_PATH)
    assert missing.value.code == grpc.StatusCode.NOT_FOUND
    assert device_vlans(gw, "pe0", "GigabitEthernet0/0/0/2") == []


async def test_apply_for_real_commits_and_configures_the_devices(gw: NsoGateway) -> None:
    op = await gw.client.nso_services.apply(
        L2VLAN_PATH, l2vlan_payload(), commit=res.CommitParams(label="wf-1")
    )
    done = await gw.client.operations.wait(op.name)
    assert done.state == SUCCEEDED, done.error
    assert done.WhichOneof("result") == "commit"
    assert done.commit.rollback_id >= 10001
    assert done.commit.changed
    assert list(done.commit.devices) == ["pe0", "pe1"]
    assert device_vlans(gw, "pe0", "GigabitEthernet0/0/0/2") == [200]
    assert device_vlans(gw, "pe1", "GigabitEthernet0/0/0/2") == [200]
    instance = await gw.client.nso_services.get(L2VLAN_PATH, check_sync=True)
    assert instance.config["vlan-id"] == 200
    assert list(instance.devices) == ["pe0", "pe1"]
    assert instance.in_sync
    # The same apply again changes nothing.
    again = await gw.client.operations.wait(
        (await gw.client.nso_services.apply(L2VLAN_PATH, l2vlan_payload())).name
    )
    assert again.state == SUCCEEDED
    assert not again.commit.changed
    assert list(again.commit.devices) == []


async def test_list_services_pages_through_instances(gw: NsoGateway) -> None:
    for name, vlan in (("c1", 201), ("c2", 202)):
        op = await gw.client.nso_services.apply(
            f"/l2vlan:l2vlan={name}", l2vlan_payload(name, vlan)
        )
        assert (await gw.client.operations.wait(op.name)).state == SUCCEEDED
    first = await gw.client.nso_services.list("/l2vlan:l2vlan", page_size=2)
    second = await gw.client.nso_services.list(
        "/l2vlan:l2vlan", page_size=2, page_token=first.next_page_token
    )
    paths = [s.path for s in [*first.services, *second.services]]
    assert paths == ["/l2vlan:l2vlan=demo-circuit", "/l2vlan:l2vlan=c1", "/l2vlan:l2vlan=c2"]
    assert second.next_page_token == ""
    with pytest.raises(ApiCallError) as bad:
        await gw.client.nso_services.list("/l2vlan:l2vlan", page_token="garbage")
    assert bad.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert bad.value.field_violations[0][0] == "page_token"


async def test_delete_dry_run_then_for_real(gw: NsoGateway) -> None:
    path = "/l2vlan:l2vlan=demo-circuit"
    preview = await gw.client.operations.wait(
        (
            await gw.client.nso_services.delete(
                path, commit=res.CommitParams(dry_run=True, dry_run_format=res.DIFF_FORMAT_CLI)
            )
        ).name
    )
    assert preview.state == SUCCEEDED
    assert preview.dry_run.format == res.DIFF_FORMAT_CLI
    assert sorted(diffs(preview.dry_run)) == ["pe0", "pe1"]
    assert "-l2vlan demo-circuit" in preview.dry_run.service_diff
    assert device_vlans(gw, "pe0", "GigabitEthernet0/0/0/1") == [100]
    done = await gw.client.operations.wait((await gw.client.nso_services.delete(path)).name)
    assert done.state == SUCCEEDED
    assert list(done.commit.devices) == ["pe0", "pe1"]
    assert device_vlans(gw, "pe0", "GigabitEthernet0/0/0/1") == []


async def test_drift_shows_in_check_sync_redeploy_dry_run_and_modifications(
    gw: NsoGateway,
) -> None:
    path = "/l2vlan:l2vlan=demo-circuit"
    in_sync = await gw.client.operations.wait((await gw.client.nso_services.check_sync(path)).name)
    assert in_sync.service_sync.in_sync
    # NSO's copy loses the VLAN (no-networking leaves the devices alone).
    await gw.client.operations.wait(
        (
            await gw.client.nso_services.apply(
                "/l2vlan:l2vlan=other",
                l2vlan_payload("other", 300),
                commit=res.CommitParams(no_networking=True),
            )
        ).name
    )
    modifications = await gw.client.operations.wait(
        (await gw.client.nso_services.modifications(path)).name
    )
    assert modifications.state == SUCCEEDED
    assert sorted(diffs(modifications.service_sync)) == ["pe0", "pe1"]
    assert "vlan 100" in diffs(modifications.service_sync)["pe0"]
    redeploy = await gw.client.operations.wait(
        (await gw.client.nso_services.redeploy(path, dry_run=True)).name
    )
    assert redeploy.state == SUCCEEDED
    assert redeploy.WhichOneof("result") == "dry_run"
    real = await gw.client.operations.wait((await gw.client.nso_services.redeploy(path)).name)
    assert real.state == SUCCEEDED
    assert real.WhichOneof("result") == "commit"


async def test_a_device_changed_by_hand_fails_the_commit_as_out_of_sync(gw: NsoGateway) -> None:
    await change_on_device(gw.sim, "pe0", hostname="changed-by-hand")
    done = await gw.client.operations.wait(
        (await gw.client.nso_services.apply(L2VLAN_PATH, l2vlan_payload())).name
    )
    assert done.state == FAILED
    assert done.error.code == grpc.StatusCode.FAILED_PRECONDITION.value[0]
    assert done.error.reason == "DEVICE_OUT_OF_SYNC"
    assert done.error.domain == "nsgw.nso"
    assert done.error.metadata["failed_device"] == "pe0"
    assert device_vlans(gw, "pe1", "GigabitEthernet0/0/0/2") == []


async def test_through_the_commit_queue_the_operation_ends_with_the_queue_item(
    gw: NsoGateway,
) -> None:
    op = await gw.client.nso_services.apply(
        L2VLAN_PATH,
        l2vlan_payload(),
        commit=res.CommitParams(commit_queue=res.CommitParams.COMMIT_QUEUE_ASYNC),
    )
    done = await gw.client.operations.wait(op.name)
    assert done.state == SUCCEEDED, done.error
    assert done.commit.commit_queue_id != ""
    assert done.commit.commit_queue_status == res.COMMIT_QUEUE_STATUS_COMPLETED
    assert any("commit-queue item" in p.message for p in done.progress)
    assert device_vlans(gw, "pe1", "GigabitEthernet0/0/0/2") == [200]
