"""The ConnectionProvider over real gRPC, with a recording ConnectionRequester."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from tests.gateway.agent.conftest import (
    NSA,
    REPLY_TO,
    Agent,
    Recorder,
    generic,
    header,
    later,
    reserve_request,
    stp,
)

Rec = tuple[Recorder, str]


async def reserved(agent: Agent, rec: Recorder, **kw: Any) -> tuple[str, Any]:
    response = await agent.stub.Reserve(reserve_request(**kw))
    assert not response.HasField("service_exception"), response.service_exception
    confirmed = await rec.wait("ReserveConfirmed", response.connection_id)
    return response.connection_id, confirmed


async def committed(agent: Agent, rec: Recorder, **kw: Any) -> str:
    cid, _ = await reserved(agent, rec, **kw)
    ack = await agent.stub.ReserveCommit(generic(cid))
    assert not ack.HasField("service_exception")
    await rec.wait("ReserveCommitConfirmed", cid)
    return cid


async def summary(agent: Agent, cid: str) -> Any:
    answer = await agent.stub.QuerySummarySync(
        provider_pb2.QueryRequest(header=header(), connection_id=[cid])
    )
    assert len(answer.reservation) == 1
    return answer.reservation[0]


async def test_full_lifecycle_with_callbacks_echoing_correlation_and_reply_to(
    agent: Agent, recorder: Rec
) -> None:
    rec, _ = recorder
    request = reserve_request(
        source=stp("port-1", "100-105"), dest=stp("port-2", "103-109"), capacity=300
    )
    response = await agent.stub.Reserve(request)
    cid = response.connection_id
    assert cid
    assert not response.HasField("service_exception")
    assert response.header.correlation_id == request.header.correlation_id
    confirmed = await rec.wait("ReserveConfirmed", cid)
    assert confirmed.header.correlation_id == request.header.correlation_id
    assert confirmed.header.reply_to == REPLY_TO
    assert confirmed.header.provider_nsa == NSA
    ptps = confirmed.criteria.ptps
    # Without label swapping both ends get the lowest VLAN they have in common.
    assert ptps.source_stp == stp("port-1", "103")
    assert ptps.dest_stp == stp("port-2", "103")
    assert (confirmed.criteria.version, ptps.capacity) == (1, 300)

    state = await summary(agent, cid)
    assert state.connection_states.reservation_state == common_pb2.RESERVE_HELD

    commit = generic(cid)
    await agent.stub.ReserveCommit(commit)
    done = await rec.wait("ReserveCommitConfirmed", cid)
    assert done.header.correlation_id == commit.header.correlation_id
    await agent.stub.Provision(generic(cid))
    await rec.wait("ProvisionConfirmed", cid)
    change = await rec.wait("DataPlaneStateChange", cid)
    assert change.data_plane_status.active
    assert change.notification.notification_id == 1
    state = await summary(agent, cid)
    assert state.connection_states.provision_state == common_pb2.PROVISIONED
    assert state.connection_states.data_plane_status.active

    await agent.stub.Release(generic(cid))
    await rec.wait("ReleaseConfirmed", cid)
    change = await rec.wait("DataPlaneStateChange", cid)
    assert not change.data_plane_status.active
    assert change.notification.notification_id == 2

    await agent.stub.Terminate(generic(cid))
    await rec.wait("TerminateConfirmed", cid)
    state = await summary(agent, cid)
    assert state.connection_states.lifecycle_state == common_pb2.TERMINATED
    assert state.result_id == 5

    results = await agent.stub.QueryResultSync(
        provider_pb2.QueryResultRequest(header=header(), connection_id=cid, start_result_id=2)
    )
    kinds = [r.WhichOneof("type") for r in results.result]
    assert kinds == [
        "reserve_commit_confirmed",
        "provision_confirmed",
        "release_confirmed",
        "terminate_confirmed",
    ]
    assert [r.result_id for r in results.result] == [2, 3, 4, 5]


async def test_modify_up_is_rechecked_and_down_keeps_the_schedule(
    agent: Agent, recorder: Rec
) -> None:
    rec, _ = recorder
    start, end = later(3600), later(7200)
    cid = await committed(agent, rec, capacity=400, start=start, end=end)
    # Up beyond the port's 1000 Mbit/s: refused by reserveFailed, version 1 stays.
    await agent.stub.Reserve(reserve_request(connection_id=cid, capacity=5000, version=2))
    failed = await rec.wait("ReserveFailed", cid)
    assert failed.service_exception.error_id == "00705"
    assert ("capacity", "5000") in [(v.type, v.value) for v in failed.service_exception.variables]
    await agent.stub.ReserveAbort(generic(cid))
    await rec.wait("ReserveAbortConfirmed", cid)
    # Down, with no schedule given: the schedule is kept.
    modify = reserve_request(connection_id=cid, capacity=200, version=3)
    modify.criteria.ClearField("schedule")
    modify.criteria.ptps.source_stp = ""
    modify.criteria.ptps.dest_stp = ""
    await agent.stub.Reserve(modify)
    confirmed = await rec.wait("ReserveConfirmed", cid)
    assert confirmed.criteria.version == 3
    assert confirmed.criteria.ptps.capacity == 200
    assert confirmed.criteria.schedule.start_time.ToDatetime().timestamp() == pytest.approx(
        start.timestamp(), abs=1e-3
    )
    await agent.stub.ReserveCommit(generic(cid))
    await rec.wait("ReserveCommitConfirmed", cid)
    state = await summary(agent, cid)
    assert [c.version for c in state.criteria] == [3]
    assert state.criteria[0].ptps.capacity == 200
    # Up within capacity works too.
    await agent.stub.Reserve(reserve_request(connection_id=cid, capacity=1000, version=4))
    assert (await rec.wait("ReserveConfirmed", cid)).criteria.ptps.capacity == 1000


async def test_abort_of_a_modify_restores_the_previous_version(agent: Agent, recorder: Rec) -> None:
    rec, _ = recorder
    cid = await committed(agent, rec, capacity=100, end=later(3600))
    await agent.stub.Reserve(reserve_request(connection_id=cid, capacity=900))
    assert (await rec.wait("ReserveConfirmed", cid)).criteria.version == 2
    # While held, the extra capacity counts: another 200 does not fit next to 900.
    other = await agent.stub.Reserve(reserve_request(capacity=200, end=later(3600)))
    failed = await rec.wait("ReserveFailed", other.connection_id)
    assert failed.service_exception.error_id == "00705"
    await agent.stub.ReserveAbort(generic(cid))
    await rec.wait("ReserveAbortConfirmed", cid)
    state = await summary(agent, cid)
    assert [(c.version, c.ptps.capacity) for c in state.criteria] == [(1, 100)]
    assert state.connection_states.reservation_state == common_pb2.RESERVE_START
    # After the abort the capacity is free again.
    await reserved(agent, rec, capacity=800, end=later(3600))


async def test_hold_timeout_then_commit_fails_with_00700(agent: Agent, recorder: Rec) -> None:
    rec, _ = recorder
    cid, _ = await reserved(agent, rec)
    timeout = await rec.wait("ReserveTimeout", cid)
    assert timeout.timeout_value == 1
    assert timeout.originating_connection_id == cid
    assert timeout.notification.notification_id == 1
    ack = await agent.stub.ReserveCommit(generic(cid))
    assert not ack.HasField("service_exception")
    failed = await rec.wait("ReserveCommitFailed", cid)
    assert failed.service_exception.error_id == "00700"
    state = await summary(agent, cid)
    assert state.connection_states.reservation_state == common_pb2.RESERVE_START
    # Nothing was ever committed, so there is nothing to provision.
    ack = await agent.stub.Provision(generic(cid))
    assert ack.service_exception.error_id == "00201"
    # The VLAN of the timed-out reservation is free again.
    _, confirmed = await reserved(agent, rec)
    assert confirmed.criteria.ptps.source_stp == stp("port-1", "100")


async def test_capacity_is_checked_against_concurrent_use_only(agent: Agent, recorder: Rec) -> None:
    rec, _ = recorder
    await reserved(agent, rec, capacity=600, start=later(100), end=later(200))
    await reserved(agent, rec, capacity=600, start=later(300), end=later(400))
    # 0..500 overlaps both, but they never overlap each other: 400 still fits.
    await reserved(agent, rec, capacity=400, start=later(50), end=later(500))
    response = await agent.stub.Reserve(
        reserve_request(capacity=1, start=later(150), end=later(160))
    )
    failed = await rec.wait("ReserveFailed", response.connection_id)
    assert failed.service_exception.error_id == "00705"
    assert failed.connection_states.reservation_state == common_pb2.RESERVE_FAILED


async def test_vlan_clash_fails_with_00704_naming_the_stp(agent: Agent, recorder: Rec) -> None:
    rec, _ = recorder
    _, first = await reserved(agent, rec, source=stp("port-3"), dest=stp("port-1"), end=later(1800))
    assert first.criteria.ptps.source_stp == stp("port-3", "105")
    response = await agent.stub.Reserve(reserve_request(source=stp("port-3"), dest=stp("port-2")))
    failed = await rec.wait("ReserveFailed", response.connection_id)
    assert failed.service_exception.error_id == "00704"
    assert [(v.type, v.value) for v in failed.service_exception.variables] == [
        ("sourceSTP", stp("port-3"))
    ]
    # A different time does not clash.
    await reserved(agent, rec, source=stp("port-3"), dest=stp("port-2"), start=later(3600))


async def test_no_common_vlan_without_label_swapping_is_00703(agent: Agent, recorder: Rec) -> None:
    rec, _ = recorder
    response = await agent.stub.Reserve(
        reserve_request(source=stp("port-1", "100"), dest=stp("port-2", "101"))
    )
    failed = await rec.wait("ReserveFailed", response.connection_id)
    assert failed.service_exception.error_id == "00703"


async def test_auto_start_and_end_with_passed_end_time(agent: Agent, recorder: Rec) -> None:
    rec, _ = recorder
    cid = await committed(agent, rec, start=later(1.0), end=later(2.0))
    await agent.stub.Provision(generic(cid))
    await rec.wait("ProvisionConfirmed", cid)
    up = await rec.wait("DataPlaneStateChange", cid)
    assert up.data_plane_status.active
    down = await rec.wait("DataPlaneStateChange", cid)
    assert not down.data_plane_status.active
    state = await summary(agent, cid)
    assert state.connection_states.lifecycle_state == common_pb2.PASSED_END_TIME
    ack = await agent.stub.Provision(generic(cid))
    assert ack.service_exception.error_id == "00201"
    await agent.stub.Terminate(generic(cid))
    await rec.wait("TerminateConfirmed", cid)


async def test_passed_end_time_without_provision(agent: Agent, recorder: Rec) -> None:
    rec, _ = recorder
    cid = await committed(agent, rec, end=later(1.0))
    for _ in range(100):
        state = await summary(agent, cid)
        if state.connection_states.lifecycle_state == common_pb2.PASSED_END_TIME:
            break
        await asyncio.sleep(0.05)
    assert state.connection_states.lifecycle_state == common_pb2.PASSED_END_TIME
    assert "DataPlaneStateChange" not in rec.of(cid)


BAD_RESERVES = [
    ("malformed STP", {"source": "port-1"}, "00701", ("sourceSTP", "port-1")),
    ("unknown STP", {"dest": stp("port-99")}, "00701", ("destSTP", stp("port-99"))),
    (
        "foreign network",
        {"source": "urn:ogf:network:other.net:2025:topology:port-1"},
        "00405",
        ("sourceSTP", "urn:ogf:network:other.net:2025:topology:port-1"),
    ),
    (
        "bad VLAN range",
        {"source": stp("port-1", "300-200")},
        "00709",
        ("sourceSTP", stp("port-1", "300-200")),
    ),
    (
        "unknown label",
        {"dest": "urn:ogf:network:example.net:2025:topology:port-2?mpls=5"},
        "00708",
        ("destSTP", "urn:ogf:network:example.net:2025:topology:port-2?mpls=5"),
    ),
    (
        "VLAN the port does not have",
        {"source": stp("port-1", "500")},
        "00704",
        ("sourceSTP", stp("port-1", "500")),
    ),
    ("disabled STP", {"dest": stp("port-4")}, "00704", ("destSTP", stp("port-4"))),
    ("zero capacity", {"capacity": 0}, "00102", ("capacity", "0")),
    ("negative capacity", {"capacity": -10}, "00102", ("capacity", "-10")),
    ("wrong provider NSA", {"provider_nsa": "urn:ogf:network:x:nsa"}, "00406", None),
    ("missing correlation id", {"correlation_id": ""}, "00101", ("correlationId", "")),
    ("missing requester NSA", {"requester_nsa": ""}, "00101", ("requesterNSA", "")),
    ("missing provider NSA", {"provider_nsa": ""}, "00101", ("providerNSA", "")),
    ("unknown connection (modify)", {"connection_id": "nope"}, "00203", ("connectionId", "nope")),
]


@pytest.mark.parametrize(
    ("changes", "error_id", "variable"),
    [pytest.param(c, e, v, id=name) for name, c, e, v in BAD_RESERVES],
)
async def test_bad_reserve_is_refused_at_once_and_changes_nothing(
    agent: Agent,
    recorder: Rec,
    changes: dict[str, Any],
    error_id: str,
    variable: tuple[str, str] | None,
) -> None:
    header_keys = {"provider_nsa", "correlation_id", "requester_nsa"}
    kw = {k: v for k, v in changes.items() if k not in header_keys}
    request = reserve_request(**kw)
    for key in header_keys & set(changes):
        setattr(request.header, key, changes[key])
    response = await agent.stub.Reserve(request)
    exception = response.service_exception
    assert exception.error_id == error_id, exception.text
    variables = [(v.type, v.value) for v in exception.variables]
    if variable is not None:
        assert variable in variables
    else:
        assert variables[0][0] == "providerNSA"
    everything = await agent.stub.QuerySummarySync(provider_pb2.QueryRequest(header=header()))
    assert list(everything.reservation) == []


async def test_end_before_start_is_00102_naming_end_time(agent: Agent) -> None:
    response = await agent.stub.Reserve(reserve_request(start=later(100), end=later(50)))
    assert response.service_exception.error_id == "00102"
    assert response.service_exception.variables[0].type == "endTime"


@pytest.mark.parametrize(
    "operation", ["ReserveCommit", "ReserveAbort", "Provision", "Release", "Terminate"]
)
async def test_unknown_connection_is_00203(agent: Agent, operation: str) -> None:
    ack = await getattr(agent.stub, operation)(generic("no-such-connection"))
    assert ack.service_exception.error_id == "00203"
    assert ack.service_exception.variables[0].value == "no-such-connection"


async def test_invalid_transitions_are_00201_and_change_nothing(
    agent: Agent, recorder: Rec
) -> None:
    rec, _ = recorder
    cid, _ = await reserved(agent, rec, end=later(3600))
    for operation in ("Provision", "Release"):
        ack = await getattr(agent.stub, operation)(generic(cid))
        assert ack.service_exception.error_id == "00201"
        assert ack.service_exception.variables[0].value == cid
    state = await summary(agent, cid)
    assert state.connection_states.reservation_state == common_pb2.RESERVE_HELD
    assert state.result_id == 1


async def test_resent_request_is_answered_as_before_and_a_different_one_refused(
    agent: Agent, recorder: Rec
) -> None:
    rec, _ = recorder
    request = reserve_request(end=later(3600))
    first = await agent.stub.Reserve(request)
    again = await agent.stub.Reserve(request)
    assert again.connection_id == first.connection_id
    assert not again.HasField("service_exception")
    await rec.wait("ReserveConfirmed", first.connection_id)
    changed = reserve_request(capacity=7, correlation_id=request.header.correlation_id)
    refused = await agent.stub.Reserve(changed)
    assert refused.service_exception.error_id == "00100"
    assert refused.service_exception.variables[0].type == "correlationId"
    everything = await agent.stub.QuerySummarySync(provider_pb2.QueryRequest(header=header()))
    assert len(everything.reservation) == 1
    # A commit re-sent is not committed twice.
    commit = generic(first.connection_id)
    await agent.stub.ReserveCommit(commit)
    await agent.stub.ReserveCommit(commit)
    await rec.wait("ReserveCommitConfirmed", first.connection_id)
    state = await summary(agent, first.connection_id)
    assert state.result_id == 2


async def test_async_queries_call_back_and_sync_queries_answer(agent: Agent, recorder: Rec) -> None:
    rec, _ = recorder
    cid = await committed(agent, rec, end=later(3600))
    await agent.stub.Provision(generic(cid))
    await rec.wait("DataPlaneStateChange", cid)
    query = provider_pb2.QueryRequest(header=header(), connection_id=[cid])
    ack = await agent.stub.QuerySummary(query)
    assert not ack.HasField("service_exception")
    answer = await rec.wait("QuerySummaryConfirmed")
    assert answer.header.correlation_id == query.header.correlation_id
    assert answer.reservation[0].connection_id == cid
    await agent.stub.QueryRecursive(query)
    recursive = await rec.wait("QueryRecursiveConfirmed")
    assert recursive.reservation[0].connection_states.provision_state == common_pb2.PROVISIONED
    # ifModifiedSince: nothing changed since the last modification.
    since = provider_pb2.QueryRequest(header=header(), connection_id=[cid])
    since.if_modified_since.CopyFrom(answer.last_modified)
    unchanged = await agent.stub.QuerySummarySync(since)
    assert list(unchanged.reservation) == []
    # By global reservation id.
    by_gri = await agent.stub.QuerySummarySync(
        provider_pb2.QueryRequest(header=header(), global_reservation_id=["urn:uuid:gri-1"])
    )
    assert [r.connection_id for r in by_gri.reservation] == [cid]
    notes = await agent.stub.QueryNotificationSync(
        provider_pb2.QueryNotificationRequest(header=header(), connection_id=cid)
    )
    assert [n.notification.notification_id for n in notes.data_plane_state_change] == [1]
    await agent.stub.QueryNotification(
        provider_pb2.QueryNotificationRequest(header=header(), connection_id=cid)
    )
    assert len((await rec.wait("QueryNotificationConfirmed")).data_plane_state_change) == 1
    await agent.stub.QueryResult(
        provider_pb2.QueryResultRequest(header=header(), connection_id=cid, end_result_id=1)
    )
    results = await rec.wait("QueryResultConfirmed")
    assert [r.WhichOneof("type") for r in results.result] == ["reserve_confirmed"]
    ack = await agent.stub.QueryNotification(
        provider_pb2.QueryNotificationRequest(header=header(), connection_id="unknown")
    )
    assert ack.service_exception.error_id == "00203"


async def test_a_refused_sync_query_carries_the_service_exception(agent: Agent) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await agent.stub.QueryResultSync(
            provider_pb2.QueryResultRequest(header=header(), connection_id="unknown")
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    metadata: Any = caught.value.trailing_metadata() or ()
    trailing = {key: value for key, value in metadata}
    exception = common_pb2.ServiceException.FromString(trailing["nsi-service-exception-bin"])
    assert exception.error_id == "00203"
