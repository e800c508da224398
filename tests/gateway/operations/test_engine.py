"""The operations engine on SQLite and PostgreSQL: idempotency, life cycle, restarts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
import pytest
from google.protobuf import struct_pb2

from gateway.db import Database
from gateway.operations.engine import (
    OperationContext,
    OperationEngine,
    OperationKind,
    request_fingerprint,
)
from gateway.operations.errors import ApiError
from gateway.operations.model import Operation, Progress, State
from tests.gateway.operations.harness import Gates, job_request, register_test_kinds


def new_engine(database: Database, gates: Gates) -> OperationEngine:
    engine = OperationEngine(database)
    register_test_kinds(engine, gates)
    return engine


async def submit(engine: OperationEngine, request_id: str, target: str = "pe1", **params: object):
    op, created = await engine.submit(
        "test.Job", target=target, request=job_request(**params), request_id=request_id, caller="wf"
    )
    return op, created


async def wait_for_state(engine: OperationEngine, op_id: str, state: State) -> Operation:
    async for event in engine.watch(op_id):
        if isinstance(event, Operation) and event.state == state:
            return event
    return await engine.get(op_id)


async def test_a_job_runs_to_a_typed_result_with_its_progress(database: Database) -> None:
    engine = new_engine(database, Gates())
    op, created = await submit(engine, "r-1", steps=3)
    assert created
    assert op.state == State.RUNNING  # it starts at once
    done = await engine.wait(op.id)
    assert done.state == State.SUCCEEDED
    assert isinstance(done.result, struct_pb2.Struct)
    assert done.result["target"] == "pe1"
    assert [p.message for p in done.progress] == [
        "started",
        "step 1 of 3 on pe1",
        "step 2 of 3 on pe1",
        "step 3 of 3 on pe1",
        "succeeded",
    ]
    assert [p.index for p in done.progress] == list(range(5))
    assert done.end_time is not None
    assert done.caller == "wf"


async def test_the_same_request_id_and_request_returns_the_same_operation(
    database: Database,
) -> None:
    gates = Gates()
    engine = new_engine(database, gates)
    first, created = await submit(engine, "r-same", steps=1)
    await engine.wait(first.id)
    again, created_again = await submit(engine, "r-same", steps=1)
    assert created
    assert not created_again
    assert again.id == first.id
    assert again.state == State.SUCCEEDED
    assert gates.runs["pe1"] == 1  # the work ran once


async def test_the_same_request_id_with_another_request_is_refused(database: Database) -> None:
    engine = new_engine(database, Gates())
    first, _ = await submit(engine, "r-dup", steps=1)
    with pytest.raises(ApiError) as refused:
        await submit(engine, "r-dup", steps=2)
    error = refused.value
    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert error.reason == "REQUEST_ID_REUSED"
    assert error.metadata == {"request_id": "r-dup", "operation": first.name, "kind": "test.Job"}
    with pytest.raises(ApiError):
        await submit(engine, "r-dup", target="pe2", steps=1)
    await engine.wait(first.id)


async def test_concurrent_retries_of_one_request_start_one_operation(database: Database) -> None:
    gates = Gates()
    engine = new_engine(database, gates)
    results = await asyncio.gather(*(submit(engine, "r-race", steps=1) for _ in range(5)))
    assert len({op.id for op, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    await engine.wait(results[0][0].id)
    assert gates.runs["pe1"] == 1


def test_the_request_fingerprint_ignores_field_order_only() -> None:
    a = struct_pb2.Struct()
    a.update({"x": 1, "y": "two"})
    b = struct_pb2.Struct()
    b.update({"y": "two", "x": 1})
    c = struct_pb2.Struct()
    c.update({"x": 1, "y": "three"})
    assert request_fingerprint("k", "t", a) == request_fingerprint("k", "t", b)
    assert request_fingerprint("k", "t", a) != request_fingerprint("k", "t", c)
    assert request_fingerprint("k", "t", a) != request_fingerprint("k", "t2", a)


async def test_a_failing_job_ends_failed_with_its_typed_error(database: Database) -> None:
    engine = new_engine(database, Gates())
    op, _ = await submit(engine, "r-fail", fail=True, steps=0)
    done = await engine.wait(op.id)
    assert done.state == State.FAILED
    assert done.result is None
    assert done.error is not None
    assert (done.error.code, done.error.reason) == ("FAILED_PRECONDITION", "TEST_REFUSED")
    assert done.error.metadata == {"target": "pe1"}
    assert done.progress[-1].message == "failed: pe1 refused the change"


async def test_cancel_stops_a_running_job(database: Database) -> None:
    engine = new_engine(database, Gates())
    op, _ = await submit(engine, "r-cancel", wait=True, steps=0)
    await wait_for_state(engine, op.id, State.RUNNING)
    answered = await engine.cancel(op.id, "alice")
    assert answered.cancel_requested
    done = await engine.wait(op.id)
    assert done.state == State.CANCELLED
    assert done.error is not None
    assert done.error.reason == "CANCELLED_BY_CALLER"
    assert "cancel requested by alice" in [p.message for p in done.progress]


async def test_cancelling_an_ended_or_stubborn_operation_is_refused(database: Database) -> None:
    gates = Gates()
    engine = new_engine(database, gates)
    op, _ = await submit(engine, "r-ended", steps=0)
    await engine.wait(op.id)
    with pytest.raises(ApiError) as ended:
        await engine.cancel(op.id, "alice")
    assert ended.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert ended.value.reason == "OPERATION_ENDED"

    stubborn, _ = await engine.submit(
        "test.StubbornJob",
        target="pe9",
        request=job_request(wait=True, steps=0),
        request_id="r-stubborn",
        caller="wf",
    )
    await wait_for_state(engine, stubborn.id, State.RUNNING)
    with pytest.raises(ApiError) as refused:
        await engine.cancel(stubborn.id, "alice")
    assert refused.value.reason == "NOT_CANCELLABLE"
    gates.open("pe9")
    assert (await engine.wait(stubborn.id)).state == State.SUCCEEDED


async def test_an_unknown_operation_is_not_found(database: Database) -> None:
    engine = new_engine(database, Gates())
    with pytest.raises(ApiError) as missing:
        await engine.get("0123456789abcdef")
    assert missing.value.code == grpc.StatusCode.NOT_FOUND


async def test_a_shutdown_fails_running_jobs_and_keeps_resumable_ones(database: Database) -> None:
    gates = Gates()
    engine = new_engine(database, gates)
    plain, _ = await submit(engine, "r-plain", target="a", wait=True, steps=0)
    resumable, _ = await engine.submit(
        "test.ResumableJob",
        target="b",
        request=job_request(wait=True, steps=0),
        request_id="r-resumable",
        caller="wf",
    )
    await wait_for_state(engine, plain.id, State.RUNNING)
    await wait_for_state(engine, resumable.id, State.RUNNING)
    await engine.stop()

    stopped = await engine.get(plain.id)
    assert stopped.state == State.FAILED
    assert stopped.error is not None
    assert stopped.error.reason == "INTERRUPTED_BY_RESTART"
    assert "interrupted by restart" in stopped.error.message
    assert (await engine.get(resumable.id)).state == State.RUNNING

    # The next process resumes the resumable one from the start.
    later_gates = Gates()
    later = new_engine(database, later_gates)
    later_gates.open("b")
    await later.start()
    done = await later.wait(resumable.id)
    assert done.state == State.SUCCEEDED
    assert isinstance(done.result, struct_pb2.Struct)
    assert done.result["resumed"] is True
    assert "resumed after a restart" in [p.message for p in done.progress]


async def test_after_a_crash_running_jobs_are_failed_and_pending_ones_run(
    database: Database,
) -> None:
    gates = Gates()
    engine = new_engine(database, gates)
    crashed, _ = await submit(engine, "r-crash", target="a", wait=True, steps=0)
    await wait_for_state(engine, crashed.id, State.RUNNING)
    # A crash: the process is gone without a word to the database; the next
    # one finds the operation RUNNING.
    assert (await engine.get(crashed.id)).state == State.RUNNING

    later = new_engine(database, Gates())
    await later.start()
    failed = await later.get(crashed.id)
    assert failed.state == State.FAILED
    assert failed.error is not None
    assert failed.error.reason == "INTERRUPTED_BY_RESTART"
    # The first engine's task (the "dead" process) cannot undo the verdict.
    gates.open("a")
    await asyncio.gather(*engine._tasks.values())
    assert (await later.get(crashed.id)).state == State.FAILED


async def test_ended_operations_are_purged_after_the_retention_only(database: Database) -> None:
    gates = Gates()
    engine = new_engine(database, gates)
    old, _ = await submit(engine, "r-old", target="a", steps=3)
    await engine.wait(old.id)
    running, _ = await submit(engine, "r-running", target="b", wait=True, steps=0)
    await wait_for_state(engine, running.id, State.RUNNING)

    assert await engine.purge(timedelta(hours=1)) == 0
    assert await engine.purge(timedelta(seconds=0)) == 1
    with pytest.raises(ApiError):
        await engine.get(old.id)
    assert (await engine.get(running.id)).state == State.RUNNING  # never purged while running
    # Its request_id is free again once the operation is forgotten.
    again, created = await submit(engine, "r-old", target="a", steps=1)
    assert created
    gates.open("b")
    await engine.wait(again.id)
    await engine.wait(running.id)


async def test_a_crashing_runner_fails_its_operation_without_leaking_the_exception_text(
    database: Database,
) -> None:
    async def crash(ctx: OperationContext) -> None:
        raise RuntimeError("password=hunter2 in a traceback")

    async def wrong_result(ctx: OperationContext) -> struct_pb2.Value:
        return struct_pb2.Value(string_value="not a result type")

    engine = OperationEngine(database)
    engine.register(OperationKind("test.Crash", struct_pb2.Struct, crash))
    engine.register(OperationKind("test.Wrong", struct_pb2.Struct, wrong_result))
    for kind in ("test.Crash", "test.Wrong"):
        op, _ = await engine.submit(
            kind, target="t", request=job_request(), request_id=kind, caller="wf"
        )
        done = await engine.wait(op.id)
        assert done.state == State.FAILED
        assert done.error is not None
        assert (done.error.code, done.error.reason) == ("INTERNAL", "INTERNAL_ERROR")
        assert "hunter2" not in done.error.message
        assert "hunter2" not in " ".join(p.message for p in done.progress)


async def test_submitting_an_unknown_kind_or_a_wrong_request_type_is_a_programming_error(
    database: Database,
) -> None:
    engine = new_engine(database, Gates())
    with pytest.raises(KeyError):
        await engine.submit(
            "no.Such", target="t", request=job_request(), request_id="x", caller="c"
        )
    with pytest.raises(TypeError):
        await engine.submit(
            "test.Job", target="t", request=struct_pb2.Value(), request_id="x", caller="c"
        )


async def events_until_end(
    engine: OperationEngine, op_id: str, from_index: int = 0
) -> list[object]:
    return [event async for event in engine.watch(op_id, from_index)]


async def test_a_watcher_sees_an_operation_run_by_another_engine_on_the_same_database_end(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gateway.operations.engine.WATCH_POLL_SECONDS", 0.05)
    gates = Gates()
    runner, watcher = new_engine(database, gates), new_engine(database, Gates())
    op, _ = await submit(runner, "r-elsewhere", wait=True, steps=1)
    await wait_for_state(runner, op.id, State.RUNNING)
    watching = asyncio.create_task(events_until_end(watcher, op.id))
    await asyncio.sleep(0.1)  # the watcher has read the database and waits
    gates.open("pe1")
    events = await asyncio.wait_for(watching, 10)
    progress = [e for e in events if isinstance(e, Progress)]
    assert [p.index for p in progress] == list(range(len(progress)))
    assert [p.message for p in progress][-2:] == ["waiting for the gate", "succeeded"]
    last = events[-1]
    assert isinstance(last, Operation)
    assert last.state == State.SUCCEEDED


async def test_watching_a_running_operation_from_any_progress_index_sees_each_message_once(
    database: Database,
) -> None:
    gates = Gates()
    engine = new_engine(database, gates)
    op, _ = await submit(engine, "r-from", wait=True, steps=3)
    early = asyncio.create_task(events_until_end(engine, op.id))
    async for event in engine.watch(op.id):
        if isinstance(event, Progress) and event.message == "waiting for the gate":
            break
    late = asyncio.create_task(events_until_end(engine, op.id, from_index=2))
    await asyncio.sleep(0.05)
    gates.open("pe1")
    for task, start in ((early, 0), (late, 2)):
        events = await asyncio.wait_for(task, 10)
        indices = [e.index for e in events if isinstance(e, Progress)]
        assert indices == list(range(start, 6))  # started, 3 steps, waiting, succeeded
        first, last = events[0], events[-1]
        assert isinstance(first, Operation)
        assert isinstance(last, Operation)
        assert last.state == State.SUCCEEDED
        assert isinstance(last.result, struct_pb2.Struct)


async def test_progress_written_by_another_engine_does_not_collide_with_the_runners(
    database: Database,
) -> None:
    gates = Gates()
    runner, other = new_engine(database, gates), new_engine(database, Gates())
    op, _ = await submit(runner, "r-shared", wait=True, steps=1)
    await wait_for_state(runner, op.id, State.RUNNING)
    async for event in runner.watch(op.id):
        if isinstance(event, Progress) and event.message == "waiting for the gate":
            break
    # Another process records a cancel request: it takes the next progress index.
    asked = await other.cancel(op.id, "bob")
    assert asked.cancel_requested
    assert asked.progress[-1].message == "cancel requested by bob"
    gates.open("pe1")  # that process cannot stop this runner, which finishes
    done = await runner.wait(op.id)
    assert done.state == State.SUCCEEDED
    assert [p.message for p in done.progress] == [
        "started",
        "step 1 of 1 on pe1",
        "waiting for the gate",
        "cancel requested by bob",
        "succeeded",
    ]
    assert [p.index for p in done.progress] == list(range(5))
