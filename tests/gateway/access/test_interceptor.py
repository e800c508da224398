"""Access to nsgw.v1 over real gRPC: tokens, open health, the audit log, loopback only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.access.interceptor import check_exposure, is_mutating
from gateway.access.tokens import ApiToken, hash_token
from gateway.client import ApiCallError, NsgwClient
from gateway.config import ConfigError, Settings
from tests.gateway.operations.harness import (
    Gates,
    Running,
    gateway_settings,
    running_gateway,
    start_job,
)

TOKEN = "wf-token-0123456789abcdef"


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    settings = gateway_settings(
        tmp_path, api_tokens=[ApiToken(name="workflow-engine", sha256=hash_token(TOKEN))]
    )
    async with running_gateway(settings, Gates()) as run:
        yield run


async def test_missing_or_wrong_tokens_are_unauthenticated(running: Running) -> None:
    for token in (None, "wrong-token-value-000"):
        async with NsgwClient(running.target, token=token) as client:
            with pytest.raises(ApiCallError) as refused:
                await client.operations.list()
            assert refused.value.code == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(ApiCallError) as refused_stream:
                async for _ in client.operations.watch("operations/abc"):
                    pass
            assert refused_stream.value.code == grpc.StatusCode.UNAUTHENTICATED
    async with NsgwClient(running.target, token=TOKEN) as client:
        assert list((await client.operations.list()).operations) == []


async def test_health_stays_open_without_a_token(running: Running) -> None:
    async with grpc.aio.insecure_channel(running.target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="nsgw.v1.Operations")
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_mutating_calls_are_audited_with_the_callers_identity(running: Running) -> None:
    async with NsgwClient(running.target, token=TOKEN) as client:
        auth = (("authorization", f"Bearer {TOKEN}"),)
        op = await start_job(client.channel, auth, target="pe1", request_id="audit-1")
        assert op.caller == "workflow-engine"
        await client.operations.wait(op.name)
        with pytest.raises(ApiCallError):
            await client.operations.cancel(op.name)  # ended: FAILED_PRECONDITION
        await client.operations.get(op.name)  # a read: not audited
    with pytest.raises(grpc.aio.AioRpcError):
        async with grpc.aio.insecure_channel(running.target) as channel:
            await start_job(channel, target="pe1", request_id="audit-2")

    # A refused call's audit row may be written just after its status was sent.
    for _ in range(100):
        rows = list(reversed(await running.component.audit.recent()))
        if len(rows) >= 3:
            break
        await asyncio.sleep(0.05)
    # Rows of calls that overlap may land in either order; each must be there once.
    assert sorted((r.caller, r.method.rsplit("/", 1)[-1], r.code) for r in rows) == [
        ("unauthenticated", "Start", "UNAUTHENTICATED"),
        ("workflow-engine", "CancelOperation", "FAILED_PRECONDITION"),
        ("workflow-engine", "Start", "OK"),
    ]
    started = next(r for r in rows if r.code == "OK")
    cancelled = next(r for r in rows if r.code == "FAILED_PRECONDITION")
    assert started.operation == op.name
    assert started.request_id == ""  # the test method's request has no request_id field
    assert cancelled.operation == op.name
    assert started.peer.startswith("ipv4:127.0.0.1:")


def test_an_open_api_is_refused_beyond_loopback(tmp_path: Path) -> None:
    check_exposure(Settings(grpc_host="127.0.0.1"))
    check_exposure(Settings(grpc_host="::1"))
    with pytest.raises(ConfigError, match="api_tokens or grpc_tls_client_ca"):
        check_exposure(Settings(grpc_host="0.0.0.0"))
    token = ApiToken(name="x", sha256=hash_token("y" * 20))
    check_exposure(Settings(grpc_host="0.0.0.0", api_tokens=[token]))


def test_which_calls_are_audited() -> None:
    assert is_mutating("/nsgw.v1.NsoServices/ApplyService")
    assert is_mutating("/nsgw.v1.NsoServices/GetServiceModifications")  # starts an operation
    assert is_mutating("/nsgw.v1.Operations/CancelOperation")
    assert not is_mutating("/nsgw.v1.Operations/GetOperation")
    assert not is_mutating("/nsgw.v1.Operations/WaitOperation")
    assert not is_mutating("/nsgw.v1.NsoDevices/ListDevices")
    assert not is_mutating("/nsgw.v1.Connections/WatchConnection")
