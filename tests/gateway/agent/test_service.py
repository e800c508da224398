"""Restart recovery, delivery give-up and backend failures of the provider agent."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

from gateway.agent.backends import BackendError, NullBackend
from gateway.agent.domain.reservation import Criteria
from gateway.db import Database
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from tests.gateway.agent.conftest import (
    Agent,
    Recorder,
    agent_settings,
    fast_outbox,
    generic,
    header,
    later,
    now,
    recorder_server,
    reserve_request,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_restart_delivers_pending_callbacks_and_fires_timers_on_time(
    tmp_path: Path, sqlite_db: Database
) -> None:
    port = free_port()
    target = f"127.0.0.1:{port}"
    first = Agent(agent_settings(tmp_path, target), sqlite_db, fast_outbox(sqlite_db))
    await first.start()
    start, end = later(1.5), later(3.0)
    response = await first.stub.Reserve(reserve_request(start=start, end=end))
    cid = response.connection_id
    await first.stub.ReserveCommit(generic(cid))
    await first.stub.Provision(generic(cid))
    await first.stop()  # the requester never heard anything; the start time is ahead

    await asyncio.sleep(max(0.0, (start - now()).total_seconds()) + 0.2)
    rec = Recorder()
    server = recorder_server(rec)
    server.add_insecure_port(target)
    await server.start()
    second = Agent(agent_settings(tmp_path, target), sqlite_db, fast_outbox(sqlite_db))
    await second.start()
    try:
        for method in ("ReserveConfirmed", "ReserveCommitConfirmed", "ProvisionConfirmed"):
            await rec.wait(method, cid)
        up = await rec.wait("DataPlaneStateChange", cid)
        assert up.data_plane_status.active  # the overdue start fired at once
        down = await rec.wait("DataPlaneStateChange", cid)
        assert not down.data_plane_status.active
        assert down.notification.time_stamp.ToDatetime().timestamp() >= end.timestamp()
        state = await second.stub.QuerySummarySync(
            provider_pb2.QueryRequest(header=header(), connection_id=[cid])
        )
        lifecycle = state.reservation[0].connection_states.lifecycle_state
        assert lifecycle == common_pb2.PASSED_END_TIME
    finally:
        await second.stop()
        await server.stop(None)


async def test_undeliverable_callback_gives_up_with_message_delivery_timeout(
    tmp_path: Path, sqlite_db: Database
) -> None:
    target = f"127.0.0.1:{free_port()}"
    settings = agent_settings(tmp_path, target, callback_give_up_after=0.3)
    agent = Agent(settings, sqlite_db, fast_outbox(sqlite_db))
    await agent.start()
    try:
        request = reserve_request(end=later(3600))
        cid = (await agent.stub.Reserve(request)).connection_id
        query = provider_pb2.QueryNotificationRequest(header=header(), connection_id=cid)
        for _ in range(100):
            notes = await agent.stub.QueryNotificationSync(query)
            if notes.message_delivery_timeout:
                break
            await asyncio.sleep(0.05)
        timeout = notes.message_delivery_timeout[0]
        assert timeout.correlation_id == request.header.correlation_id
        assert timeout.notification.notification_id >= 1
    finally:
        await agent.stop()


class FailingBackend(NullBackend):
    def __init__(self) -> None:
        self.healthy = True
        self.fail_activate = False

    async def activate(self, connection_id: str, criteria: Criteria) -> None:
        if self.fail_activate:
            raise BackendError("device refused the configuration")

    async def health(self, connection_id: str, criteria: Criteria) -> bool:
        return self.healthy


async def test_activate_failure_and_forced_end(
    tmp_path: Path, sqlite_db: Database, recorder: tuple[Recorder, str]
) -> None:
    rec, target = recorder
    backend = FailingBackend()
    agent = Agent(
        agent_settings(tmp_path, target), sqlite_db, fast_outbox(sqlite_db), backend=backend
    )
    await agent.start()
    try:

        async def provisioned() -> str:
            cid = (await agent.stub.Reserve(reserve_request(end=later(3600)))).connection_id
            await rec.wait("ReserveConfirmed", cid)
            await agent.stub.ReserveCommit(generic(cid))
            await rec.wait("ReserveCommitConfirmed", cid)
            await agent.stub.Provision(generic(cid))
            await rec.wait("ProvisionConfirmed", cid)
            return cid

        backend.fail_activate = True
        failing = await provisioned()
        event: Any = await rec.wait("ErrorEvent", failing)
        assert event.event == common_pb2.ACTIVATE_FAILED
        assert event.service_exception.error_id == "00800"
        await agent.stub.Terminate(generic(failing))
        await rec.wait("TerminateConfirmed", failing)

        backend.fail_activate = False
        cid = await provisioned()
        await rec.wait("DataPlaneStateChange", cid)
        backend.healthy = False
        assert await agent.service.check_health() == 1
        forced = await rec.wait("ErrorEvent", cid)
        assert forced.event == common_pb2.FORCED_END
        state = await agent.stub.QuerySummarySync(
            provider_pb2.QueryRequest(header=header(), connection_id=[cid])
        )
        states = state.reservation[0].connection_states
        assert states.lifecycle_state == common_pb2.FAILED
        assert not states.data_plane_status.active
        ack = await agent.stub.Terminate(generic(cid))
        assert not ack.HasField("service_exception")
    finally:
        await agent.stop()


class AwaitingBackend(NullBackend):
    """A local backend that awaits in its calls: they run on the event loop."""

    inline = False

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def commit(self, connection_id: str, criteria: Criteria) -> None:
        await asyncio.sleep(0)
        self.calls.append("commit")

    async def activate(self, connection_id: str, criteria: Criteria) -> None:
        await asyncio.sleep(0)
        self.calls.append("activate")

    async def deactivate(self, connection_id: str, criteria: Criteria) -> None:
        await asyncio.sleep(0)
        self.calls.append("deactivate")


async def test_a_backend_that_awaits_is_called_on_the_event_loop(
    tmp_path: Path, sqlite_db: Database, recorder: tuple[Recorder, str]
) -> None:
    rec, target = recorder
    backend = AwaitingBackend()
    agent = Agent(
        agent_settings(tmp_path, target), sqlite_db, fast_outbox(sqlite_db), backend=backend
    )
    await agent.start()
    try:
        cid = (await agent.stub.Reserve(reserve_request(end=later(3600)))).connection_id
        await rec.wait("ReserveConfirmed", cid)
        for call, method in (
            (agent.stub.ReserveCommit, "ReserveCommitConfirmed"),
            (agent.stub.Provision, "ProvisionConfirmed"),
            (agent.stub.Release, "ReleaseConfirmed"),
        ):
            ack = await call(generic(cid))
            assert not ack.HasField("service_exception")
            await rec.wait(method, cid)
        assert backend.calls == ["commit", "activate", "deactivate"]
    finally:
        await agent.stop()
