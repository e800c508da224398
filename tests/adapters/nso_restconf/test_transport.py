"""Transport faults a real server cannot easily produce, with respx."""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import httpx
import pytest
import respx

from adapters.nso_restconf import (
    CommitParams,
    CommitQueueMode,
    InUse,
    InvalidResponse,
    NsoClient,
    NsoConfig,
    NsoConnectionError,
    NsoTimeout,
    ServiceUnavailable,
    device_path,
)

URL = "http://127.0.0.1:9"
DEVICE = f"{URL}/restconf/data/tailf-ncs:devices/device=pe0"
CHECK_SYNC = f"{DEVICE}/check-sync"
SYNC_FROM = f"{DEVICE}/sync-from"
OK = {"tailf-ncs:output": {"result": "in-sync"}}


def client(**options: object) -> NsoClient:
    config = NsoConfig(url=URL, password="pw-secret", backoff=0.001, **options)  # type: ignore[arg-type,unused-ignore]
    return NsoClient(config)


@respx.mock
async def test_read_timeout_is_typed() -> None:
    respx.get(DEVICE).mock(side_effect=httpx.ReadTimeout("mid-body"))
    async with client(retries=0) as nso:
        with pytest.raises(NsoTimeout, match="did not answer in time"):
            await nso.get(device_path("pe0"))


@respx.mock
async def test_connection_reset_on_an_idempotent_call_is_retried() -> None:
    route = respx.post(CHECK_SYNC).mock(
        side_effect=[httpx.RemoteProtocolError("connection reset"), httpx.Response(200, json=OK)]
    )
    async with client() as nso:
        assert (await nso.devices.check_sync("pe0")).in_sync
    assert route.call_count == 2


@respx.mock
async def test_connection_reset_on_a_non_idempotent_call_is_not_retried() -> None:
    route = respx.post(SYNC_FROM).mock(side_effect=httpx.RemoteProtocolError("reset"))
    async with client() as nso:
        with pytest.raises(NsoConnectionError):
            await nso.devices.sync_from("pe0")
    assert route.call_count == 1


@respx.mock
async def test_connect_errors_are_retried_then_reported() -> None:
    route = respx.post(SYNC_FROM).mock(side_effect=httpx.ConnectError("refused"))
    async with client(retries=2) as nso:
        with pytest.raises(NsoConnectionError, match="cannot connect"):
            await nso.devices.sync_from("pe0")
    assert route.call_count == 3


@respx.mock
async def test_503_is_retried_with_backoff() -> None:
    busy = {"ietf-restconf:errors": {"error": [{"error-tag": "resource-denied"}]}}
    route = respx.post(SYNC_FROM).mock(
        side_effect=[
            httpx.Response(503, json=busy),
            httpx.Response(200, json={"tailf-ncs:output": {"result": True}}),
        ]
    )
    async with client() as nso:
        assert (await nso.devices.sync_from("pe0")).result
    assert route.call_count == 2


@respx.mock
async def test_503_gives_up_after_the_retries() -> None:
    route = respx.get(DEVICE).mock(return_value=httpx.Response(503))
    async with client(retries=1) as nso:
        with pytest.raises(ServiceUnavailable) as caught:
            await nso.get(device_path("pe0"))
    assert caught.value.retryable
    assert route.call_count == 2


@respx.mock
async def test_in_use_is_retried_only_when_idempotent() -> None:
    in_use = {"errors": {"error": [{"error-type": "application", "error-tag": "in-use"}]}}
    put = respx.put(DEVICE).mock(
        side_effect=[httpx.Response(409, json=in_use), httpx.Response(204)]
    )
    post = respx.post(SYNC_FROM).mock(return_value=httpx.Response(409, json=in_use))
    async with client() as nso:
        assert (
            await nso.put(device_path("pe0"), {"tailf-ncs:device": [{"name": "pe0"}]})
        ).status == 204
        with pytest.raises(InUse):
            await nso.devices.sync_from("pe0")
    assert put.call_count == 2
    assert post.call_count == 1


@respx.mock
async def test_truncated_body_is_a_connection_error() -> None:
    respx.get(DEVICE).mock(side_effect=httpx.RemoteProtocolError("peer closed mid-body"))
    async with client(retries=0) as nso:
        with pytest.raises(NsoConnectionError, match="peer closed"):
            await nso.get(device_path("pe0"))


@respx.mock
@pytest.mark.parametrize("status", [200, 500])
async def test_non_json_body_is_invalid_response_with_status(status: int) -> None:
    respx.get(DEVICE).mock(return_value=httpx.Response(status, content=b"<html>proxy error"))
    async with client(retries=0) as nso:
        with pytest.raises(InvalidResponse) as caught:
            await nso.get(device_path("pe0"))
    assert caught.value.status == status
    assert "not JSON" in caught.value.message


@respx.mock
async def test_truncated_json_is_invalid_response() -> None:
    respx.get(DEVICE).mock(return_value=httpx.Response(200, content=b'{"tailf-ncs:device": [{'))
    async with client() as nso:
        with pytest.raises(InvalidResponse):
            await nso.get(device_path("pe0"))


@respx.mock
async def test_requests_carry_json_and_auth_and_no_secret_in_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    route = respx.put(DEVICE).mock(side_effect=[httpx.Response(409), httpx.Response(204)])
    caplog.set_level(logging.DEBUG, logger="adapters.nso_restconf")
    async with client() as nso:
        await nso.put(device_path("pe0"), {"tailf-ncs:device": [{"name": "pe0"}]})
    request = route.calls[-1].request
    assert request.headers["Content-Type"] == "application/yang-data+json"
    assert request.headers["Accept"] == "application/yang-data+json"
    assert request.content == b'{"tailf-ncs:device": [{"name": "pe0"}]}'
    assert request.headers["Authorization"].startswith("Basic ")
    assert "retrying" in caplog.text
    assert "pw-secret" not in caplog.text


@respx.mock
async def test_token_auth_uses_the_header() -> None:
    route = respx.get(DEVICE).mock(return_value=httpx.Response(200, json={"x": 1}))
    async with client(token="tok-1") as nso:
        await nso.get(device_path("pe0"))
    headers = route.calls[0].request.headers
    assert headers["X-Auth-Token"] == "tok-1"
    assert "Authorization" not in headers


@respx.mock
async def test_commit_params_encodings_on_the_wire() -> None:
    route = respx.put(DEVICE).mock(return_value=httpx.Response(204))
    params = CommitParams(no_networking=True, label="x", commit_queue=CommitQueueMode.ASYNC)
    async with client(nso_version="6.6") as nso:
        await nso.put(device_path("pe0"), {}, params=params)
    url = str(route.calls[-1].request.url)
    assert url.endswith("?no-networking&commit-queue=async&label=x")
    async with client(nso_version="6.7") as nso:
        await nso.put(device_path("pe0"), {}, params=params)
    request = route.calls[-1].request
    assert request.url.query == b""
    doc = json.loads(base64.b64decode(request.headers["X-Cisco-NSO-Commit-Params"]))
    assert doc == {"no-networking": [None], "commit-queue": {"mode": "async"}, "label": "x"}


async def test_concurrency_limit_is_respected() -> None:
    active = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        return httpx.Response(200, json=OK)

    transport = httpx.MockTransport(handler)
    nso = NsoClient(NsoConfig(url=URL, max_concurrency=3), http_transport=transport)
    async with nso:
        results = await nso.devices.check_sync_many([f"d{i}" for i in range(12)])
    assert len(results) == 12
    assert all(r.in_sync for r in results)
    assert peak == 3


@respx.mock
async def test_unknown_check_sync_result_is_invalid_response() -> None:
    respx.post(CHECK_SYNC).mock(
        return_value=httpx.Response(200, json={"tailf-ncs:output": {"result": "sideways"}})
    )
    async with client() as nso:
        with pytest.raises(InvalidResponse, match="sideways"):
            await nso.devices.check_sync("pe0")


@respx.mock
async def test_action_reply_without_output_is_invalid_response() -> None:
    respx.post(CHECK_SYNC).mock(return_value=httpx.Response(200, json={"weird": 1}))
    async with client() as nso:
        with pytest.raises(InvalidResponse, match="no output"):
            await nso.devices.check_sync("pe0")


async def test_split_pools_still_allow_the_full_limit() -> None:
    active = 0
    peak = 0
    release = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        if peak == 12:
            release.set()
        await asyncio.wait_for(release.wait(), 5)
        active -= 1
        return httpx.Response(200, json=OK)

    nso = NsoClient(
        NsoConfig(url=URL, max_concurrency=12), http_transport=httpx.MockTransport(handler)
    )
    async with nso:
        results = await nso.devices.check_sync_many([f"d{i}" for i in range(30)])
    assert len(results) == 30
    assert all(r.in_sync for r in results)
    assert peak == 12
