"""A remote backend is called outside the agent's transactions: a blocked call holds up
nothing else, and the outcome is recorded when it returns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.agent.backends import BackendError, NullBackend
from gateway.agent.domain.reservation import Criteria
from gateway.db import Database
from tests.gateway.agent.conftest import (
    Agent,
    Recorder,
    agent_settings,
    fast_outbox,
    generic,
    later,
    reserve_request,
    stp,
)


class GatedBackend(NullBackend):
    """A remote backend whose activation waits until the test opens the gate."""

    remote = True

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.calls: list[str] = []
        self.refuse_check = False

    async def reserve_check(self, connection_id: str, criteria: Criteria) -> None:
        self.calls.append("reserve_check")
        if self.refuse_check:
            raise BackendError("the network says no", [("nso-error", "no")])

    async def activate(self, connection_id: str, criteria: Criteria) -> None:
        self.calls.append("activate")
        await self.gate.wait()

    async def deactivate(self, connection_id: str, criteria: Criteria) -> None:
        self.calls.append("deactivate")


@pytest.fixture
async def gated(
    tmp_path: Path, sqlite_db: Database, recorder: tuple[Recorder, str]
) -> AsyncIterator[tuple[Agent, GatedBackend]]:
    backend = GatedBackend()
    agent = Agent(
        agent_settings(tmp_path, recorder[1], reserve_hold_timeout=60.0),
        sqlite_db,
        fast_outbox(sqlite_db),
        backend=backend,
    )
    await agent.start()
    yield agent, backend
    backend.gate.set()
    await agent.stop()


async def committed(agent: Agent, rec: Recorder, source: str, dest: str) -> str:
    cid = (await agent.stub.Reserve(reserve_request(source, dest, end=later(3600)))).connection_id
    await rec.wait("ReserveConfirmed", cid)
    await agent.stub.ReserveCommit(generic(cid))
    await rec.wait("ReserveCommitConfirmed", cid)
    return cid


async def test_a_blocked_activation_does_not_hold_up_other_reservations(
    gated: tuple[Agent, GatedBackend], recorder: tuple[Recorder, str]
) -> None:
    agent, backend = gated
    rec, _ = recorder
    first = await committed(agent, rec, stp("port-1"), stp("port-2"))
    await agent.stub.Provision(generic(first))
    await rec.wait("ProvisionConfirmed", first)
    while "activate" not in backend.calls:
        await asyncio.sleep(0.01)
    # the activation hangs in the network; the agent still serves everyone else
    second = await committed(agent, rec, stp("port-1"), stp("port-3"))
    await agent.stub.Terminate(generic(second))
    await rec.wait("TerminateConfirmed", second)
    assert "DataPlaneStateChange" not in rec.of(first)

    backend.gate.set()
    up = await rec.wait("DataPlaneStateChange", first)
    assert up.data_plane_status.active


async def test_a_release_during_activation_ends_with_the_data_plane_down(
    gated: tuple[Agent, GatedBackend], recorder: tuple[Recorder, str]
) -> None:
    agent, backend = gated
    rec, _ = recorder
    cid = await committed(agent, rec, stp("port-1"), stp("port-2"))
    await agent.stub.Provision(generic(cid))
    await rec.wait("ProvisionConfirmed", cid)
    while "activate" not in backend.calls:  # the activation is in the network now
        await asyncio.sleep(0.01)
    await agent.stub.Release(generic(cid))
    await rec.wait("ReleaseConfirmed", cid)
    backend.gate.set()
    up = await rec.wait("DataPlaneStateChange", cid)
    down = await rec.wait("DataPlaneStateChange", cid)
    assert (up.data_plane_status.active, down.data_plane_status.active) == (True, False)
    assert backend.calls[-2:] == ["activate", "deactivate"]


async def test_a_refused_check_fails_the_reserve_and_frees_its_vlan(
    gated: tuple[Agent, GatedBackend], recorder: tuple[Recorder, str]
) -> None:
    agent, backend = gated
    rec, _ = recorder
    backend.refuse_check = True
    end = later(3600)
    request = reserve_request(stp("port-1", "105"), stp("port-3"), end=end)
    cid = (await agent.stub.Reserve(request)).connection_id
    failed = await rec.wait("ReserveFailed", cid)
    assert failed.service_exception.error_id == "00800"
    assert [(v.type, v.value) for v in failed.service_exception.variables] == [("nso-error", "no")]
    backend.refuse_check = False
    # port-3 offers VLAN 105 only: free again after the failure
    retry = reserve_request(stp("port-1", "105"), stp("port-3"), end=end)
    again = (await agent.stub.Reserve(retry)).connection_id
    assert again != cid
    await rec.wait("ReserveConfirmed", again)
