"""The NSO backend through the agent's gRPC, against the NSO simulator over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.agent.backends.nso_records import ACTIVATE_FAILED, ACTIVE, REMOVED
from gateway.db import Database
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from tests.gateway.agent.backends.conftest import Nso, nso_settings, record_of
from tests.gateway.agent.conftest import (
    Agent,
    Recorder,
    fast_outbox,
    generic,
    header,
    later,
    reserve_request,
    stp,
)

PE0_2, PE1_2 = "GigabitEthernet0/0/0/2", "GigabitEthernet0/0/0/2"


async def reserved(agent: Agent, rec: Recorder, **kw: Any) -> str:
    request = reserve_request(stp("pe0-2"), stp("pe1-2"), end=later(3600), **kw)
    cid = (await agent.stub.Reserve(request)).connection_id
    await rec.wait("ReserveConfirmed", cid)
    return cid


async def provisioned(agent: Agent, rec: Recorder, **kw: Any) -> str:
    cid = await reserved(agent, rec, **kw)
    await agent.stub.ReserveCommit(generic(cid))
    await rec.wait("ReserveCommitConfirmed", cid)
    await agent.stub.Provision(generic(cid))
    await rec.wait("ProvisionConfirmed", cid)
    return cid


async def test_full_lifecycle_creates_the_service_while_active_and_removes_it(
    nso_agent: Agent, nso_db: Database, recorder: tuple[Recorder, str], nso: Nso
) -> None:
    rec, _ = recorder
    cid = await reserved(nso_agent, rec)
    record = await record_of(nso_db, cid)
    assert record is not None
    assert record.service_path == f"l2vlan:l2vlan={cid}"
    assert "device pe0" in record.dry_run_diff
    assert "vlan 200" in record.dry_run_diff
    assert await nso.service(cid) is None  # a dry-run only

    await nso_agent.stub.ReserveCommit(generic(cid))
    await rec.wait("ReserveCommitConfirmed", cid)
    assert await nso.service(cid) is None  # commit changes nothing in NSO

    await nso_agent.stub.Provision(generic(cid))
    await rec.wait("ProvisionConfirmed", cid)
    up = await rec.wait("DataPlaneStateChange", cid)
    assert up.data_plane_status.active
    service = await nso.service(cid)
    assert service is not None
    assert service["vlan-id"] == 200
    assert service["capacity-mbps"] == 100
    for device in ("pe0", "pe1"):
        vlans = await nso.vlans_on(device, PE0_2)
        assert 200 in vlans, (device, vlans)
        assert vlans[200]["bandwidth-mbps"] == 100
        assert await nso.vlans_on(device, "GigabitEthernet0/0/0/3") == {}
    record = await record_of(nso_db, cid)
    assert record is not None
    assert record.state == ACTIVE

    await nso_agent.stub.Release(generic(cid))
    await rec.wait("ReleaseConfirmed", cid)
    down = await rec.wait("DataPlaneStateChange", cid)
    assert not down.data_plane_status.active
    assert await nso.service(cid) is None
    assert await nso.vlans_on("pe0", PE0_2) == {}
    assert await nso.vlans_on("pe1", PE1_2) == {}

    await nso_agent.stub.Terminate(generic(cid))
    await rec.wait("TerminateConfirmed", cid)
    assert await nso.service(cid) is None
    record = await record_of(nso_db, cid)
    assert record is not None
    assert record.state == REMOVED


async def test_terminate_while_active_takes_the_data_plane_down_and_removes_the_service(
    nso_agent: Agent, recorder: tuple[Recorder, str], nso: Nso
) -> None:
    rec, _ = recorder
    cid = await provisioned(nso_agent, rec)
    assert (await rec.wait("DataPlaneStateChange", cid)).data_plane_status.active
    await nso_agent.stub.Terminate(generic(cid))
    down = await rec.wait("DataPlaneStateChange", cid)
    assert not down.data_plane_status.active
    await rec.wait("TerminateConfirmed", cid)
    assert await nso.service(cid) is None
    assert await nso.vlans_on("pe0", PE0_2) == {}


async def test_a_reserve_nso_refuses_fails_with_nso_message(
    nso_agent: Agent, recorder: tuple[Recorder, str], nso: Nso
) -> None:
    rec, _ = recorder
    # VLAN 100 is free for the agent but the simulator's demo circuit uses it on both ports.
    request = reserve_request(stp("pe0-1", "100"), stp("pe1-1", "100"), end=later(3600))
    cid = (await nso_agent.stub.Reserve(request)).connection_id
    failed = await rec.wait("ReserveFailed", cid)
    error = failed.service_exception
    assert error.error_id == "00800"
    variables = {v.type: v.value for v in error.variables}
    assert "nso-error" in variables
    assert "100" in variables["nso-error"]
    assert failed.connection_states.reservation_state == common_pb2.RESERVE_FAILED
    assert await nso.service(cid) is None
    # its resources were given back: the same VLAN range is free for the next reserve
    ok = reserve_request(stp("pe0-1", "101"), stp("pe1-1", "101"), end=later(3600))
    other = (await nso_agent.stub.Reserve(ok)).connection_id
    confirmed = await rec.wait("ReserveConfirmed", other)
    assert confirmed.criteria.ptps.source_stp.endswith("vlan=101")


async def test_nso_busy_during_activate_is_retried_then_activates(
    nso_agent: Agent, recorder: tuple[Recorder, str], nso: Nso
) -> None:
    rec, _ = recorder
    cid = await reserved(nso_agent, rec)
    await nso_agent.stub.ReserveCommit(generic(cid))
    await rec.wait("ReserveCommitConfirmed", cid)
    await nso.faults(busy=2)  # NSO answers 503 to the next two requests, then is back
    await nso_agent.stub.Provision(generic(cid))
    await rec.wait("ProvisionConfirmed", cid)
    up = await rec.wait("DataPlaneStateChange", cid)
    assert up.data_plane_status.active
    assert await nso.service(cid) is not None
    assert rec.of(cid).count("ErrorEvent") == 0


async def test_nso_down_through_every_retry_fails_activation_and_leaves_nothing(
    nso_agent: Agent, nso_db: Database, recorder: tuple[Recorder, str], nso: Nso
) -> None:
    rec, _ = recorder
    cid = await reserved(nso_agent, rec)
    await nso_agent.stub.ReserveCommit(generic(cid))
    await rec.wait("ReserveCommitConfirmed", cid)
    await nso.faults(busy=1000)
    await nso_agent.stub.Provision(generic(cid))
    await rec.wait("ProvisionConfirmed", cid)
    event = await rec.wait("ErrorEvent", cid)
    assert event.event == common_pb2.ACTIVATE_FAILED
    assert event.service_exception.error_id == "00800"
    assert "503" in event.service_exception.text or "nso" in event.service_exception.text.lower()
    assert any(v.type == "nso-error" for v in event.service_exception.variables)
    await nso.faults(busy=0)
    assert await nso.service(cid) is None
    record = await record_of(nso_db, cid)
    assert record is not None
    assert record.state == ACTIVATE_FAILED
    assert record.last_error
    # meanwhile the agent answered other requests (no transaction was held open)
    other = await reserved(nso_agent, rec, **{"correlation_id": "urn:uuid:other-1"})
    assert other


async def test_a_failed_activation_removes_what_it_created(
    tmp_path: Path, nso_db: Database, recorder: tuple[Recorder, str], nso: Nso
) -> None:
    rec, target = recorder
    # With an async commit queue the instance is created in NSO before the device push,
    # which fails here (pe1 unreachable): the backend deletes the instance again.
    settings = nso_settings(tmp_path, target, nso, nso_backend_commit_queue="async")
    agent = Agent(settings, nso_db, fast_outbox(nso_db))
    await agent.start()
    try:
        cid = await reserved(agent, rec)
        await agent.stub.ReserveCommit(generic(cid))
        await rec.wait("ReserveCommitConfirmed", cid)
        await nso.faults(unreachable=["pe1"])
        await agent.stub.Provision(generic(cid))
        event = await rec.wait("ErrorEvent", cid)
        assert event.event == common_pb2.ACTIVATE_FAILED
        await nso.faults(unreachable=[])
        assert await nso.service(cid) is None
    finally:
        await agent.stop()


async def test_an_out_of_band_change_on_a_device_is_found_by_the_health_check(
    nso_agent: Agent, nso_db: Database, recorder: tuple[Recorder, str], nso: Nso
) -> None:
    rec, _ = recorder
    cid = await provisioned(nso_agent, rec)
    await rec.wait("DataPlaneStateChange", cid)
    assert await nso_agent.service.check_health() == 0
    record = await record_of(nso_db, cid)
    assert record is not None
    assert record.health_in_sync is True

    config = await nso.device_config("pe0")  # someone removes the VLAN on the box by hand
    for entry in config["interface"]:
        entry.pop("vlan", None)
    await nso.put_device_config("pe0", config)

    assert await nso_agent.service.check_health() == 1
    event = await rec.wait("ErrorEvent", cid)
    assert event.event == common_pb2.FORCED_END
    record = await record_of(nso_db, cid)
    assert record is not None
    assert record.health_in_sync is False
    assert "out of sync" in record.health_detail


async def test_nso_unreachable_during_health_check_ends_nothing(
    nso_agent: Agent, recorder: tuple[Recorder, str], nso: Nso
) -> None:
    rec, _ = recorder
    cid = await provisioned(nso_agent, rec)
    await rec.wait("DataPlaneStateChange", cid)
    await nso.faults(busy=1000)
    assert await nso_agent.service.check_health() == 0
    await nso.faults(busy=0)
    assert "ErrorEvent" not in rec.of(cid)


async def test_modify_of_capacity_while_active_patches_the_service(
    nso_agent: Agent, recorder: tuple[Recorder, str], nso: Nso
) -> None:
    rec, _ = recorder
    cid = await provisioned(nso_agent, rec)
    await rec.wait("DataPlaneStateChange", cid)
    modify = reserve_request(stp("pe0-2"), stp("pe1-2"), capacity=400, connection_id=cid, version=2)
    await nso_agent.stub.Reserve(modify)
    await rec.wait("ReserveConfirmed", cid)
    service = await nso.service(cid)
    assert service is not None
    assert service["capacity-mbps"] == 100  # held, not committed yet
    await nso_agent.stub.ReserveCommit(generic(cid))
    await rec.wait("ReserveCommitConfirmed", cid)
    service = await nso.service(cid)
    assert service is not None
    assert service["capacity-mbps"] == 400
    assert (await nso.vlans_on("pe1", PE1_2))[200]["bandwidth-mbps"] == 400
    summary = await nso_agent.stub.QuerySummarySync(
        provider_pb2.QueryRequest(header=header(), connection_id=[cid])
    )
    assert summary.reservation[0].criteria[0].version == 2


async def test_an_activation_recorded_before_a_crash_is_made_after_restart(
    tmp_path: Path, nso_db: Database, recorder: tuple[Recorder, str], nso: Nso
) -> None:
    rec, target = recorder
    settings = nso_settings(tmp_path, target, nso)
    first = Agent(settings, nso_db, fast_outbox(nso_db))
    await first.start()
    try:
        cid = await reserved(first, rec)
        await first.stub.ReserveCommit(generic(cid))
        await rec.wait("ReserveCommitConfirmed", cid)
        await first.service.stop_steps()  # the process dies before it calls NSO
        await first.stub.Provision(generic(cid))
        await rec.wait("ProvisionConfirmed", cid)
        assert await nso.service(cid) is None
    finally:
        await first.stop()

    second = Agent(settings, nso_db, fast_outbox(nso_db))
    await second.start()
    try:
        up = await rec.wait("DataPlaneStateChange", cid)
        assert up.data_plane_status.active
        assert await nso.service(cid) is not None
        assert 200 in await nso.vlans_on("pe0", PE0_2)
    finally:
        await second.stop()


async def test_a_reserve_check_recorded_before_a_crash_is_answered_after_restart(
    tmp_path: Path, nso_db: Database, recorder: tuple[Recorder, str], nso: Nso
) -> None:
    rec, target = recorder
    settings = nso_settings(tmp_path, target, nso)
    first = Agent(settings, nso_db, fast_outbox(nso_db))
    await first.start()
    try:
        await first.service.stop_steps()
        request = reserve_request(stp("pe0-2"), stp("pe1-2"), end=later(3600))
        cid = (await first.stub.Reserve(request)).connection_id
        summary = await first.stub.QuerySummarySync(
            provider_pb2.QueryRequest(header=header(), connection_id=[cid])
        )
        states = summary.reservation[0].connection_states
        assert states.reservation_state == common_pb2.RESERVE_CHECKING
    finally:
        await first.stop()
    second = Agent(settings, nso_db, fast_outbox(nso_db))
    await second.start()
    try:
        await rec.wait("ReserveConfirmed", cid)
        record = await record_of(nso_db, cid)
        assert record is not None
        assert "vlan 200" in record.dry_run_diff
    finally:
        await second.stop()
