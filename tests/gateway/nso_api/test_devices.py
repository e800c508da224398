"""nsgw.v1.NsoDevices over real gRPC: the device test sequence a workflow runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from gateway.client import ApiCallError, NsgwClient
from nsgw_proto.nsgw.v1 import nso_resources_pb2 as res
from nsgw_proto.nsgw.v1 import operations_pb2 as ops
from tests.gateway.nso_api.harness import NsoGateway, change_on_device, nso_gateway, set_faults
from tests.gateway.operations.receiver import Receiver

SUCCEEDED = ops.OPERATION_STATE_SUCCEEDED
Sync = res.DeviceSyncState


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[NsoGateway]:
    async with nso_gateway(tmp_path) as running:
        yield running


async def finished(client: NsgwClient, op: ops.Operation) -> ops.Operation:
    done = await client.operations.wait(op.name)
    assert done.state == SUCCEEDED, done.error
    return done


async def test_the_device_test_sequence(gw: NsoGateway) -> None:
    devices = gw.client.nso_devices
    connect = await finished(gw.client, await devices.connect("pe0"))
    assert connect.kind == "devices.Connect"
    assert connect.target == "pe0"
    assert connect.device_test.success
    assert "Connected to pe0" in connect.device_test.output

    keys = await finished(gw.client, await devices.fetch_host_keys("pe0"))
    assert keys.device_test.success
    assert list(keys.device_test.host_keys) == ["ssh-ed25519"]

    sync_from = await finished(gw.client, await devices.sync_from("pe0"))
    assert sync_from.device_test.action == "sync-from"
    assert sync_from.device_test.success

    checked = await finished(gw.client, await devices.check_sync(["pe0"]))
    assert [(d.device, d.result) for d in checked.check_sync.devices] == [
        ("pe0", Sync.RESULT_IN_SYNC)
    ]

    # Someone changes the device by hand: compare-config shows it.
    await change_on_device(gw.sim, "pe0", hostname="changed-by-hand")
    compared = await finished(gw.client, await devices.compare_config("pe0"))
    assert not compared.compare_config.in_sync
    assert "changed-by-hand" in compared.compare_config.diff

    preview = await finished(gw.client, await devices.sync_to("pe0", dry_run=True))
    assert preview.device_test.action == "sync-to"
    assert [d.device for d in preview.device_test.dry_run.devices] == ["pe0"]
    assert "hostname pe0" in preview.device_test.dry_run.devices[0].diff
    assert gw.sim.state.devices["pe0"].actual["hostname"] == "changed-by-hand"  # dry-run only

    pushed = await finished(gw.client, await devices.sync_to("pe0"))
    assert pushed.device_test.success
    assert gw.sim.state.devices["pe0"].actual["hostname"] == "pe0"
    again = await finished(gw.client, await devices.compare_config("pe0"))
    assert again.compare_config.in_sync

    ping = await finished(gw.client, await devices.ping("pe0"))
    assert ping.device_test.success
    assert "0% packet loss" in ping.device_test.output

    shown = await finished(gw.client, await devices.exec("pe0", "show version"))
    assert shown.device_test.success
    assert "7.9.2" in shown.device_test.output


async def test_an_unreachable_device_is_a_test_that_says_no(gw: NsoGateway) -> None:
    await set_faults(gw.sim, unreachable=["ce1"])
    connect = await finished(gw.client, await gw.client.nso_devices.connect("ce1"))
    assert not connect.device_test.success
    assert "Failed to connect to device ce1" in connect.device_test.output
    ping = await finished(gw.client, await gw.client.nso_devices.ping("ce1"))
    assert not ping.device_test.success


async def test_check_sync_of_many_reports_progress_per_device(gw: NsoGateway) -> None:
    await change_on_device(gw.sim, "ce0", hostname="by-hand")
    op = await gw.client.nso_devices.check_sync(["pe0", "ce0", "nosuch"])
    assert op.target == "pe0,ce0,nosuch"
    done = await finished(gw.client, op)
    results = {d.device: d for d in done.check_sync.devices}
    assert [d.device for d in done.check_sync.devices] == ["pe0", "ce0", "nosuch"]
    assert results["pe0"].result == Sync.RESULT_IN_SYNC
    assert results["ce0"].result == Sync.RESULT_OUT_OF_SYNC
    assert results["nosuch"].result == Sync.RESULT_ERROR
    assert "does not exist" in results["nosuch"].info
    messages = [p.message for p in done.progress]
    assert "checking 3 devices" in messages
    assert any(m.startswith("ce0: out-of-sync") for m in messages)
    assert sum(m.endswith("/3)") for m in messages) == 3


async def test_check_sync_of_all_devices(gw: NsoGateway) -> None:
    op = await gw.client.nso_devices.check_sync(all_devices=True)
    assert op.target == "*"
    done = await finished(gw.client, op)
    assert sorted(d.device for d in done.check_sync.devices) == ["ce0", "ce1", "pe0", "pe1"]


async def test_list_and_get_devices(gw: NsoGateway) -> None:
    page = await gw.client.nso_devices.list(page_size=3, check_sync=True)
    assert [d.name for d in page.devices] == ["pe0", "pe1", "ce0"]
    assert all(d.HasField("in_sync") and d.in_sync for d in page.devices)
    rest = await gw.client.nso_devices.list(page_size=3, page_token=page.next_page_token)
    assert [d.name for d in rest.devices] == ["ce1"]
    assert not rest.devices[0].HasField("in_sync")
    device = await gw.client.nso_devices.get("pe1")
    assert device.ned_id == "cisco-iosxr-cli-7.52"
    assert device.admin_state == "unlocked"
    assert device.port == 10023


async def test_cancelling_a_long_check_sync_of_many_devices(gw: NsoGateway) -> None:
    # Each device answers after 4 s; the cancel lands long before (the simulator
    # still finishes the requests it holds when the test ends).
    await set_faults(gw.sim, device_latency_ms=4_000)
    op = await gw.client.nso_devices.check_sync(all_devices=True)
    assert op.cancellable
    async for update in gw.client.operations.watch(op.name):
        if update.HasField("progress") and update.progress.message == "checking 4 devices":
            break
    await gw.client.operations.cancel(op.name)
    done = await gw.client.operations.wait(op.name)
    assert done.state == ops.OPERATION_STATE_CANCELLED
    assert done.error.reason == "CANCELLED_BY_CALLER"
    assert not done.HasField("check_sync")


async def test_a_retried_request_id_runs_once(gw: NsoGateway) -> None:
    first = await gw.client.nso_devices.sync_from("pe1", request_id="wf-9-step-2")
    retried = await gw.client.nso_devices.sync_from("pe1", request_id="wf-9-step-2")
    assert retried.name == first.name
    await finished(gw.client, first)
    listed = await gw.client.operations.list(kinds=["devices.SyncFrom"])
    assert [o.name for o in listed.operations] == [first.name]
    with pytest.raises(ApiCallError) as reused:
        await gw.client.nso_devices.sync_from("pe0", request_id="wf-9-step-2")
    assert reused.value.code == grpc.StatusCode.ALREADY_EXISTS
    assert reused.value.reason == "REQUEST_ID_REUSED"
    assert reused.value.metadata["operation"] == first.name


async def test_the_result_is_posted_to_the_callback_url(gw: NsoGateway) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        op = await gw.client.nso_devices.check_sync(
            ["pe0", "pe1"],
            callback_url=receiver.url("/done"),
            progress_url=receiver.url("/progress"),
        )
        [called] = await receiver.wait_for("/done")
        progress = await receiver.wait_for("/progress", count=5)
    finally:
        await receiver.stop()
    assert called.body["name"] == op.name
    assert called.body["state"] == "OPERATION_STATE_SUCCEEDED"
    assert [d["device"] for d in called.body["checkSync"]["devices"]] == ["pe0", "pe1"]
    assert called.headers["X-Nsgw-Event"] == "end"
    assert any("pe1: in-sync" in p.body["progress"]["message"] for p in progress)
