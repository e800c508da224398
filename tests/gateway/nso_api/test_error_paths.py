"""Every error path of the NSO calls, with its status and google.rpc details."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from gateway.assembly import build_components
from gateway.client import ApiCallError, NsgwClient
from gateway.process import Gateway
from nsgw_proto.nsgw.v1 import nso_resources_pb2 as res
from nsgw_proto.nsgw.v1 import operations_pb2 as ops
from tests.gateway.nso_api.harness import (
    L2VLAN_PATH,
    NsoGateway,
    l2vlan_payload,
    nso_gateway,
    set_faults,
    settings_for,
)
from tests.gateway.operations.receiver import free_port

FAILED = ops.OPERATION_STATE_FAILED


def code(status: grpc.StatusCode) -> int:
    number: int = status.value[0]
    return number


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[NsoGateway]:
    async with nso_gateway(tmp_path) as running:
        yield running


async def failed(client: NsgwClient, op: ops.Operation) -> ops.OperationError:
    done = await client.operations.wait(op.name)
    assert done.state == FAILED
    return done.error


async def test_a_missing_device_is_not_found(gw: NsoGateway) -> None:
    with pytest.raises(ApiCallError) as direct:
        await gw.client.nso_devices.get("nosuch")
    assert direct.value.code == grpc.StatusCode.NOT_FOUND
    assert direct.value.reason == "DEVICE_NOT_FOUND"
    assert direct.value.metadata["device"] == "nosuch"
    for start in (
        gw.client.nso_devices.connect,
        gw.client.nso_devices.compare_config,
        gw.client.nso_devices.sync_from,
    ):
        error = await failed(gw.client, await start("nosuch"))
        assert error.code == code(grpc.StatusCode.NOT_FOUND)
        assert error.reason == "DEVICE_NOT_FOUND"
        assert error.metadata["device"] == "nosuch"
    error = await failed(gw.client, await gw.client.nso_devices.check_sync(["nosuch"]))
    assert error.reason == "DEVICE_NOT_FOUND"


async def test_a_missing_service_is_not_found(gw: NsoGateway) -> None:
    with pytest.raises(ApiCallError) as direct:
        await gw.client.nso_services.get("/l2vlan:l2vlan=nosuch")
    assert direct.value.code == grpc.StatusCode.NOT_FOUND
    assert direct.value.reason == "SERVICE_NOT_FOUND"
    error = await failed(gw.client, await gw.client.nso_services.delete("/l2vlan:l2vlan=nosuch"))
    assert error.code == code(grpc.StatusCode.NOT_FOUND)
    assert error.reason == "SERVICE_NOT_FOUND"
    assert error.metadata["service"] == "/l2vlan:l2vlan=nosuch"


async def test_malformed_requests_are_refused_before_anything_starts(gw: NsoGateway) -> None:
    cases = [
        (gw.client.nso_services.apply("", {"x": 1}), "path"),
        (gw.client.nso_services.apply("l2vlan=c1", l2vlan_payload()), "path"),
        (gw.client.nso_services.apply("/tailf-ncs:devices/device=pe0", {"x": 1}), "path"),
        (gw.client.nso_services.apply(L2VLAN_PATH, {}), "payload"),
        (
            gw.client.nso_services.apply(
                L2VLAN_PATH,
                l2vlan_payload(),
                commit=res.CommitParams(
                    dry_run=True, commit_queue=res.CommitParams.COMMIT_QUEUE_ASYNC
                ),
            ),
            "commit",
        ),
        (
            gw.client.nso_services.apply(L2VLAN_PATH, l2vlan_payload(), request_id="x" * 200),
            "request_id",
        ),
        (gw.client.nso_services.redeploy("/l2vlan:l2vlan", dry_run=True), "path"),
        (gw.client.nso_devices.connect(""), "device"),
        (gw.client.nso_devices.check_sync([]), "devices"),
        (gw.client.nso_devices.check_sync(["pe0", "pe0"]), "devices"),
        (gw.client.nso_devices.exec("pe0", "  "), "command"),
        (gw.client.nso_devices.ping("pe0", callback_url="ftp://127.0.0.1/x"), "callback_url"),
    ]
    for call, field in cases:
        with pytest.raises(ApiCallError) as refused:
            await call
        assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT, field
        assert refused.value.reason == "INVALID_REQUEST"
        assert [f for f, _ in refused.value.field_violations] == [field]
    assert (await gw.client.operations.list()).operations == []


async def test_a_payload_nso_refuses_is_invalid_argument(gw: NsoGateway) -> None:
    error = await failed(
        gw.client, await gw.client.nso_services.apply(L2VLAN_PATH, l2vlan_payload(vlan=5000))
    )
    assert error.code == code(grpc.StatusCode.INVALID_ARGUMENT)
    assert error.reason == "NSO_INVALID_VALUE"
    assert error.domain == "nsgw.nso"
    assert error.metadata["field"] == "payload"
    assert error.metadata["nso_status"] == "400"
    assert "vlan-id" in error.message


async def test_nso_busy_or_in_use_is_unavailable_with_retry_info(gw: NsoGateway) -> None:
    await set_faults(gw.sim, busy=1)
    with pytest.raises(ApiCallError) as busy:
        await gw.client.nso_devices.get("pe0")
    assert busy.value.code == grpc.StatusCode.UNAVAILABLE
    assert busy.value.reason == "NSO_BUSY"
    assert busy.value.retry_delay is not None
    assert busy.value.retry_delay > 0
    await set_faults(gw.sim, in_use=1)
    error = await failed(gw.client, await gw.client.nso_devices.sync_from("pe0"))
    assert error.code == code(grpc.StatusCode.UNAVAILABLE)
    assert error.reason == "NSO_IN_USE"
    assert error.retry_delay.ToNanoseconds() > 0


async def test_nso_down_is_unavailable_with_retry_info(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, f"http://127.0.0.1:{free_port()}")
    gateway = Gateway(settings, build_components(settings))
    await gateway.start()
    assert gateway.grpc is not None
    try:
        async with NsgwClient(f"127.0.0.1:{gateway.grpc.port}") as client:
            op = await client.nso_devices.check_sync(["pe0", "pe1"])
            error = await failed(client, op)
            assert error.code == code(grpc.StatusCode.UNAVAILABLE)
            assert error.reason == "NSO_UNREACHABLE"
            assert error.domain == "nsgw.nso"
            assert error.retry_delay.ToNanoseconds() > 0
            with pytest.raises(ApiCallError) as direct:
                await client.nso_devices.list()
            assert direct.value.code == grpc.StatusCode.UNAVAILABLE
            assert direct.value.reason == "NSO_UNREACHABLE"
            assert direct.value.retry_delay
    finally:
        await gateway.stop()


async def test_a_running_apply_cannot_be_cancelled(gw: NsoGateway) -> None:
    await set_faults(gw.sim, latency_ms=500)
    op = await gw.client.nso_services.apply(L2VLAN_PATH, l2vlan_payload())
    async for update in gw.client.operations.watch(op.name):
        if update.HasField("operation") and update.operation.state == ops.OPERATION_STATE_RUNNING:
            break
    with pytest.raises(ApiCallError) as refused:
        await gw.client.operations.cancel(op.name)
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.value.reason == "NOT_CANCELLABLE"
    done = await gw.client.operations.wait(op.name)
    assert done.state == ops.OPERATION_STATE_SUCCEEDED
