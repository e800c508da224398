"""The agent's store on SQLite and PostgreSQL: schema, allocation under concurrency, topology."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, select

from gateway.agent import store
from gateway.agent.backends import NullBackend
from gateway.agent.component import load_ports
from gateway.agent.domain.errors import NsiError
from gateway.agent.domain.reservation import CriteriaRequest
from gateway.agent.domain.topology import make_port
from gateway.agent.service import AgentConfig, AgentService, RequestContext
from gateway.db import Base, Database, utcnow
from gateway.outbox import Outbox, OutboxRow
from tests.gateway.agent.conftest import NET, NSA, REQUESTER, stp


def service(db: Database, **kw: object) -> AgentService:
    config = AgentConfig(nsa_id=NSA, network_id=NET, requester_target="127.0.0.1:1", **kw)  # type: ignore[arg-type]
    return AgentService(db, Outbox(db), NullBackend(), config)


async def agent_on_two_ports(database: Database) -> AgentService:
    """An agent on ports a and b (VLANs 100-104, 1000 Mbit/s each)."""
    await load_ports(
        database,
        [
            make_port("a", port="Gi0/1", vlans="100-104", capacity=1000),
            make_port("b", port="Gi0/2", vlans="100-104", capacity=1000),
        ],
    )
    return service(database)


def ctx(operation: str = "reserve") -> RequestContext:
    return RequestContext(
        correlation_id=f"urn:uuid:{uuid.uuid4()}",
        requester_nsa=REQUESTER,
        provider_nsa=NSA,
        operation=operation,
        payload_hash=uuid.uuid4().hex,
    )


async def test_migrated_schema_matches_the_models(database: Database) -> None:
    def compare(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection)
        return list(compare_metadata(context, Base.metadata))

    async with database.engine.connect() as connection:
        differences = await connection.run_sync(compare)
    # the agent's tables (other parts' tables are checked by their own tests)
    assert [d for d in differences if "agent_" in repr(d)] == []


async def test_concurrent_reserves_never_double_allocate(database: Database) -> None:
    await load_ports(
        database,
        [
            make_port("port-1", port="Gi0/1", vlans="100-109", capacity=1000),
            make_port("port-2", port="Gi0/2", vlans="100-199", capacity=100000),
        ],
    )
    agent = service(database)
    end = utcnow() + timedelta(hours=1)

    async def one() -> str:
        return await agent.reserve(
            ctx(),
            "",
            "",
            "",
            CriteriaRequest(
                source_stp=stp("port-1"), dest_stp=stp("port-2"), capacity=150, end=end
            ),
        )

    ids = await asyncio.gather(*(one() for _ in range(50)))
    assert len(set(ids)) == 50
    async with database.sessions() as session:
        rows = list(
            await session.scalars(
                select(store.AllocationRow).where(store.AllocationRow.stp_id == "port-1")
            )
        )
        states = list(await session.scalars(select(store.ReservationRow.reservation_state)))
    # 1000 Mbit/s fits six reservations of 150; every one of them overlaps the others.
    assert len(rows) == 6
    assert len({r.vlan for r in rows}) == 6
    assert sum(r.bandwidth for r in rows) <= 1000
    assert states.count("ReserveHeld") == 6
    assert states.count("ReserveFailed") == 44


async def test_concurrent_reserves_share_the_vlans_of_a_port(database: Database) -> None:
    await load_ports(
        database,
        [
            make_port("a", port="Gi0/1", vlans="100-104", capacity=100000),
            make_port("b", port="Gi0/2", vlans="100-199", capacity=100000),
        ],
    )
    agent = service(database, label_swapping=True)
    request = CriteriaRequest(
        source_stp=stp("a"), dest_stp=stp("b"), capacity=1, end=utcnow() + timedelta(hours=1)
    )
    await asyncio.gather(*(agent.reserve(ctx(), "", "", "", request) for _ in range(12)))
    async with database.sessions() as session:
        vlans = sorted(
            await session.scalars(
                select(store.AllocationRow.vlan).where(store.AllocationRow.stp_id == "a")
            )
        )
    assert vlans == [100, 101, 102, 103, 104]


async def test_ports_round_trip_and_in_use(database: Database) -> None:
    port = make_port("p", port="Gi0/9", vlans="5-9,20", capacity=10, description="d", alias="x")
    await load_ports(database, [port, make_port("q", port="Gi0/8", vlans="5-9,20", capacity=10)])
    async with database.sessions() as session:
        assert await session.run_sync(store.get_port, "p") == port
        assert [p.id for p in await session.run_sync(store.list_ports)] == ["p", "q"]
        assert await session.run_sync(store.port_in_use, "p") == []
    agent = service(database)
    cid = await agent.reserve(
        ctx(), "", "", "", CriteriaRequest(source_stp=stp("p"), dest_stp=stp("q"), capacity=1)
    )
    async with database.sessions() as session:
        assert await session.run_sync(store.port_in_use, "p") == [cid]


async def test_a_refusal_writes_nothing(database: Database) -> None:
    agent = service(database)
    with pytest.raises(NsiError) as caught:
        await agent.reserve(
            ctx(),
            "",
            "",
            "",
            CriteriaRequest(source_stp=stp("nope"), dest_stp=stp("other"), capacity=1),
        )
    assert caught.value.error_id == "00701"
    async with database.sessions() as session:
        assert list(await session.scalars(select(store.ReservationRow))) == []
        assert list(await session.scalars(select(store.RequestRow))) == []


async def test_the_same_request_sent_twice_at_once_is_done_once(database: Database) -> None:
    agent = await agent_on_two_ports(database)
    request = ctx()
    criteria = CriteriaRequest(source_stp=stp("a"), dest_stp=stp("b"), capacity=1)
    ids = await asyncio.gather(*(agent.reserve(request, "", "", "", criteria) for _ in range(4)))
    assert len(set(ids)) == 1
    async with database.sessions() as session:
        assert len(list(await session.scalars(select(store.ReservationRow)))) == 1
    await agent.close()


async def test_a_full_lifecycle_is_written_back_on_both_databases(database: Database) -> None:
    """Commit, provision, release and terminate each write their states, results,
    notifications and callbacks; a refused request changes nothing."""
    agent = await agent_on_two_ports(database)
    end = utcnow() + timedelta(hours=1)
    criteria = CriteriaRequest(source_stp=stp("a"), dest_stp=stp("b"), capacity=10, end=end)
    cid = await agent.reserve(ctx(), "", "gri", "described", criteria)
    for operation in (agent.commit, agent.provision, agent.release):
        await operation(ctx(operation.__name__), cid)

    async with database.sessions() as session:
        row = await session.run_sync(store.load_row, cid)
        assert row is not None
        assert (row.reservation_state, row.provision_state, row.lifecycle_state) == (
            "ReserveStart",
            "Released",
            "Created",
        )
        assert (row.global_reservation_id, row.description) == ("gri", "described")
        assert row.committed_version == 1
        assert row.held_version is None
        assert not row.data_plane_active
        assert row.data_plane_version == 1  # the committed version went up, then down
        # reserveConfirmed, commitConfirmed, provisionConfirmed, releaseConfirmed
        assert row.result_seq == 4
        assert row.notification_seq == 2  # data plane up, data plane down
        assert [status for status, _ in await session.run_sync(store.history, cid)] == ["committed"]
        assert await session.run_sync(store.port_in_use, "a") == [cid]
        # the hold timer went with the commit; the start had passed (the commit
        # brought the data plane to its state itself), only the end is ahead
        timers = await session.scalars(select(store.TimerRow.kind))
        assert list(timers) == ["end"]
        before = row

    with pytest.raises(NsiError) as refused:
        await agent.release(ctx("release"), cid)  # already released
    assert refused.value.error_id == "00201"
    async with database.sessions() as session:
        assert await session.run_sync(store.load_row, cid) == before

    await agent.terminate(ctx("terminate"), cid)
    async with database.sessions() as session:
        row = await session.run_sync(store.load_row, cid)
        assert row is not None
        assert row.lifecycle_state == "Terminated"
        assert row.result_seq == 5
        assert await session.run_sync(store.port_in_use, "a") == []
        assert list(await session.scalars(select(store.TimerRow))) == []
        callbacks = await session.scalars(
            select(OutboxRow.attributes).where(OutboxRow.ordering_key == cid).order_by(OutboxRow.id)
        )
        assert [a["method"] for a in callbacks] == [
            "ReserveConfirmed",
            "ReserveCommitConfirmed",
            "ProvisionConfirmed",
            "DataPlaneStateChange",
            "ReleaseConfirmed",
            "DataPlaneStateChange",
            "TerminateConfirmed",
        ]
    await agent.close()


async def test_a_modify_stores_its_new_version_and_commit_supersedes_the_old(
    database: Database,
) -> None:
    agent = await agent_on_two_ports(database)
    end = utcnow() + timedelta(hours=1)
    criteria = CriteriaRequest(source_stp=stp("a"), dest_stp=stp("b"), capacity=10, end=end)
    cid = await agent.reserve(ctx(), "", "", "", criteria)
    await agent.commit(ctx("commit"), cid)
    await agent.reserve(ctx(), cid, "", "", CriteriaRequest(capacity=20, version=2))
    await agent.commit(ctx("commit"), cid)
    async with database.sessions() as session:
        history = await session.run_sync(store.history, cid)
        row = await session.run_sync(store.load_row, cid)
        bandwidth = list(
            await session.scalars(
                select(store.AllocationRow.bandwidth).where(
                    store.AllocationRow.connection_id == cid
                )
            )
        )
    assert [(status, c.version, c.capacity) for status, c in history] == [
        ("superseded", 1, 10),
        ("committed", 2, 20),
    ]
    assert row is not None
    assert row.committed_version == 2
    assert row.held_version is None
    assert bandwidth == [20, 20]
    await agent.close()
