"""nsgw.v1.Operations over real gRPC against an in-process gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from gateway.client import ApiCallError, NsgwClient
from nsgw_proto.nsgw.v1 import operations_pb2 as ops_pb2
from nsgw_proto.nsgw.v1 import operations_pb2_grpc as ops_pb2_grpc
from tests.gateway.operations.harness import (
    Gates,
    Running,
    gateway_settings,
    running_gateway,
    start_job,
)


@pytest.fixture
def gates() -> Gates:
    return Gates()


@pytest.fixture
async def running(tmp_path: Path, gates: Gates) -> AsyncIterator[Running]:
    async with running_gateway(gateway_settings(tmp_path), gates) as run:
        yield run


@pytest.fixture
async def client(running: Running) -> AsyncIterator[NsgwClient]:
    async with NsgwClient(running.target) as c:
        yield c


async def wait_running(client: NsgwClient, name: str) -> None:
    async for update in client.operations.watch(name):
        if update.HasField("operation") and (
            update.operation.state == ops_pb2.OPERATION_STATE_RUNNING
        ):
            return


async def test_a_retried_request_id_returns_the_same_operation(
    client: NsgwClient, gates: Gates
) -> None:
    first = await start_job(client.channel, target="pe1", request_id="wf-42-step-3", steps=1)
    retried = await start_job(client.channel, target="pe1", request_id="wf-42-step-3", steps=1)
    assert retried.name == first.name
    done = await client.operations.wait(first.name)
    assert done.state == ops_pb2.OPERATION_STATE_SUCCEEDED
    assert done.WhichOneof("result") == "other"
    assert done.other["target"] == "pe1"
    assert gates.runs["pe1"] == 1


async def test_a_reused_request_id_is_already_exists_with_details(client: NsgwClient) -> None:
    first = await start_job(client.channel, target="pe1", request_id="wf-7", steps=1)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await start_job(client.channel, target="pe1", request_id="wf-7", steps=5)
    error = ApiCallError.from_rpc_error(refused.value)
    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert error.reason == "REQUEST_ID_REUSED"
    assert error.metadata["operation"] == first.name
    assert error.metadata["request_id"] == "wf-7"


async def test_bad_start_fields_are_invalid_argument_with_field_violations(
    client: NsgwClient,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await start_job(
            client.channel,
            target="pe1",
            request_id="x" * 129,
            callback_url="ftp://127.0.0.1/cb",
            progress_url="not a url",
        )
    error = ApiCallError.from_rpc_error(refused.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "INVALID_REQUEST"
    assert [f for f, _ in error.field_violations] == ["request_id", "callback_url", "progress_url"]
    listed = await client.operations.list()
    assert list(listed.operations) == []  # nothing was started


async def test_watch_replays_from_any_point_then_follows_live_until_the_end(
    client: NsgwClient, gates: Gates
) -> None:
    op = await start_job(client.channel, target="pe1", request_id="w-1", steps=3, wait=True)
    await wait_running(client, op.name)
    # 0 started, 1..3 steps, 4 waiting: join from index 2.
    seen: list[ops_pb2.OperationUpdate] = []

    async def follow() -> None:
        async for update in client.operations.watch(op.name, from_progress_index=2):
            seen.append(update)
            if update.HasField("progress") and update.progress.message == "waiting for the gate":
                gates.open("pe1")

    await asyncio.wait_for(follow(), 20)
    assert seen[0].HasField("operation")
    assert seen[0].operation.state == ops_pb2.OPERATION_STATE_RUNNING
    messages = [u.progress.message for u in seen if u.HasField("progress")]
    assert messages == [
        "step 2 of 3 on pe1",
        "step 3 of 3 on pe1",
        "waiting for the gate",
        "succeeded",
    ]
    assert [u.progress.index for u in seen if u.HasField("progress")] == [2, 3, 4, 5]
    last = seen[-1]
    assert last.operation.state == ops_pb2.OPERATION_STATE_SUCCEEDED
    assert last.operation.other["target"] == "pe1"

    # Watching an ended operation replays and ends at once.
    replay = [u async for u in client.operations.watch(op.name, from_progress_index=5)]
    assert [u.WhichOneof("update") for u in replay] == ["operation", "progress", "operation"]


async def test_list_filters_by_state_kind_target_and_time_and_pages(
    client: NsgwClient, gates: Gates
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    names = []
    for i in range(5):
        op = await start_job(client.channel, target=f"dev{i % 2}", request_id=f"l-{i}", steps=0)
        names.append(op.name)
    waiting = await start_job(
        client.channel, kind="test.StubbornJob", target="dev9", request_id="l-w", wait=True
    )
    for name in names:
        await client.operations.wait(name)
    await wait_running(client, waiting.name)

    everything = await client.operations.list(page_size=100)
    assert [o.name for o in everything.operations] == [waiting.name, *reversed(names)]

    running = await client.operations.list(states=[ops_pb2.OPERATION_STATE_RUNNING])
    assert [o.name for o in running.operations] == [waiting.name]
    assert list(running.operations[0].progress) == []  # progress only on request
    with_progress = await client.operations.list(
        states=[ops_pb2.OPERATION_STATE_RUNNING], include_progress=True
    )
    assert with_progress.operations[0].progress[0].message == "started"

    by_kind = await client.operations.list(kinds=["test.Job"])
    assert {o.name for o in by_kind.operations} == set(names)
    by_target = await client.operations.list(target="dev1")
    assert [o.name for o in by_target.operations] == [names[3], names[1]]
    in_window = await client.operations.list(
        created_after=before, created_before=datetime.now(UTC) + timedelta(seconds=5)
    )
    assert len(in_window.operations) == 6
    earlier = await client.operations.list(created_before=before)
    assert list(earlier.operations) == []
    future = await client.operations.list(created_after=datetime.now(UTC) + timedelta(hours=1))
    assert list(future.operations) == []

    pages, token = [], ""
    while True:
        page = await client.operations.list(page_size=2, page_token=token)
        pages.append([o.name for o in page.operations])
        token = page.next_page_token
        if not token:
            break
    assert pages == [
        [waiting.name, names[4]],
        [names[3], names[2]],
        [names[1], names[0]],
    ]
    gates.open("dev9")
    await client.operations.wait(waiting.name)


async def test_list_refuses_bad_filters_and_foreign_page_tokens(client: NsgwClient) -> None:
    await start_job(client.channel, target="a", request_id="p-1", steps=0)
    await start_job(client.channel, target="a", request_id="p-2", steps=0)
    page = await client.operations.list(page_size=1)
    assert page.next_page_token
    for kwargs in (
        {"page_size": 5000},
        {"page_token": "garbage"},
        {"page_token": page.next_page_token, "target": "b"},
        {"states": [ops_pb2.OPERATION_STATE_UNSPECIFIED]},
    ):
        with pytest.raises(ApiCallError) as refused:
            await client.operations.list(**kwargs)
        assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.field_violations


async def test_cancel_a_running_operation_then_refuse_to_cancel_it_again(
    client: NsgwClient,
) -> None:
    op = await start_job(client.channel, target="pe1", request_id="c-1", wait=True)
    await wait_running(client, op.name)
    answered = await client.operations.cancel(op.name)
    assert answered.cancel_requested
    done = await client.operations.wait(op.name)
    assert done.state == ops_pb2.OPERATION_STATE_CANCELLED
    assert done.error.reason == "CANCELLED_BY_CALLER"
    assert done.error.code == 1  # google.rpc.Code.CANCELLED
    assert not done.cancellable

    with pytest.raises(ApiCallError) as refused:
        await client.operations.cancel(op.name)
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.value.reason == "OPERATION_ENDED"
    assert refused.value.metadata["state"] == "CANCELLED"


async def test_unknown_and_malformed_names(client: NsgwClient) -> None:
    with pytest.raises(ApiCallError) as missing:
        await client.operations.get("operations/0123456789abcdef")
    assert missing.value.code == grpc.StatusCode.NOT_FOUND
    assert missing.value.reason == "OPERATION_NOT_FOUND"
    with pytest.raises(ApiCallError) as missing_watch:
        async for _ in client.operations.watch("operations/0123456789abcdef"):
            pass
    assert missing_watch.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(ApiCallError) as malformed:
        await client.operations.cancel("operations/../x")
    assert malformed.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert malformed.value.field_violations[0][0] == "name"


async def wait_call(
    client: NsgwClient, name: str, timeout: float | None = None
) -> ops_pb2.Operation:
    request = ops_pb2.WaitOperationRequest(name=name)
    if timeout is not None:
        request.timeout.FromNanoseconds(int(timeout * 1e9))
    stub = ops_pb2_grpc.OperationsStub(client.channel)
    try:
        return await stub.WaitOperation(request)
    except grpc.aio.AioRpcError as exc:
        raise ApiCallError.from_rpc_error(exc) from None


async def test_wait_returns_the_operation_when_it_ends_with_all_its_progress(
    client: NsgwClient, gates: Gates
) -> None:
    op = await start_job(client.channel, target="pe1", request_id="wait-1", steps=2, wait=True)
    waiting = asyncio.create_task(wait_call(client, op.name))
    await wait_running(client, op.name)
    await asyncio.sleep(0.1)
    assert not waiting.done()  # it waits while the job waits for its gate
    gates.open("pe1")
    ended = await asyncio.wait_for(waiting, 20)
    assert ended.state == ops_pb2.OPERATION_STATE_SUCCEEDED
    assert ended.other["target"] == "pe1"
    assert [p.message for p in ended.progress] == [
        "started",
        "step 1 of 2 on pe1",
        "step 2 of 2 on pe1",
        "waiting for the gate",
        "succeeded",
    ]
    # The client's wait is this call; on an ended operation it answers at once.
    assert (await client.operations.wait(op.name)).state == ops_pb2.OPERATION_STATE_SUCCEEDED


async def test_wait_gives_the_operation_as_it_is_when_the_timeout_passes(
    client: NsgwClient,
) -> None:
    op = await start_job(client.channel, target="pe2", request_id="wait-2", wait=True)
    await wait_running(client, op.name)
    current = await wait_call(client, op.name, timeout=0.2)
    assert current.state == ops_pb2.OPERATION_STATE_RUNNING
    assert "waiting for the gate" in [p.message for p in current.progress]


async def test_wait_refuses_a_bad_timeout_and_an_unknown_operation(client: NsgwClient) -> None:
    op = await start_job(client.channel, target="pe3", request_id="wait-3")
    for seconds in (-1.0, 601.0):
        with pytest.raises(ApiCallError) as bad:
            await wait_call(client, op.name, timeout=seconds)
        assert bad.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert bad.value.field_violations[0][0] == "timeout"
    with pytest.raises(ApiCallError) as missing:
        await wait_call(client, "operations/0123456789abcdef", timeout=1)
    assert missing.value.code == grpc.StatusCode.NOT_FOUND
