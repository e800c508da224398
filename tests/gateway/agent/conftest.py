"""A provider agent on real gRPC with a recording ConnectionRequester, for functional tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway.agent.callbacks import METHODS
from gateway.agent.component import AgentComponent, load_ports
from gateway.agent.domain.topology import make_port
from gateway.config import Settings
from gateway.db import Database
from gateway.outbox import Outbox
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc
from nsgw_proto.nsi import services_pb2

NSA = "urn:ogf:network:example.net:2025:nsa:nsgw"
NET = "example.net:2025:topology"
REQUESTER = "urn:ogf:network:peer.net:2025:nsa:requester"
REPLY_TO = "https://requester.example/nsi/callback"


def stp(local: str, vlans: str | None = None) -> str:
    base = f"urn:ogf:network:{NET}:{local}"
    return base if vlans is None else f"{base}?vlan={vlans}"


@dataclass
class Call:
    method: str
    request: Any


@dataclass
class Recorder:
    """A ConnectionRequester that records every call it gets."""

    calls: list[Call] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def record(self, method: str, request: Any) -> None:
        async with self.arrived:
            self.calls.append(Call(method, request))
            self.arrived.notify_all()

    def of(self, connection_id: str) -> list[str]:
        return [c.method for c in self.calls if _cid(c.request) == connection_id]

    async def wait(self, method: str, connection_id: str = "", timeout: float = 10.0) -> Any:
        """The first call of ``method`` (for the connection) not consumed yet."""

        def find() -> Call | None:
            for call in self.calls:
                if call.method == method and (
                    not connection_id or _cid(call.request) == connection_id
                ):
                    return call
            return None

        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(find), timeout)
            found = find()
            assert found is not None
            self.calls.remove(found)
            return found.request


def _cid(request: Any) -> str:
    if hasattr(request, "notification") and request.HasField("notification"):
        return str(request.notification.connection_id)
    return str(getattr(request, "connection_id", ""))


def recorder_server(recorder: Recorder) -> grpc.aio.Server:
    server = grpc.aio.server()
    handlers = {}
    for method, (request_class, response_class) in METHODS.items():

        def make(name: str, response: Any) -> Callable[..., Any]:
            async def handle(request: Any, context: Any) -> Any:
                await recorder.record(name, request)
                return response()

            return handle

        handlers[method] = grpc.unary_unary_rpc_method_handler(
            make(method, response_class),
            request_deserializer=request_class.FromString,
            response_serializer=lambda m: m.SerializeToString(),
        )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "connection.requester.ConnectionRequester", handlers
            ),
        )
    )
    return server


class Agent:
    """The agent component served on a real gRPC port, with a client stub."""

    def __init__(self, settings: Settings, db: Database, outbox: Outbox, **kw: Any) -> None:
        self.settings, self.db, self.outbox = settings, db, outbox
        self.component = AgentComponent(settings, db, outbox, **kw)
        self.server = grpc.aio.server()
        self.component.add_to_grpc(self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.port}")
        self.stub = provider_grpc.ConnectionProviderStub(self.channel)

    async def start(self) -> None:
        await self.server.start()
        await self.component.start()
        await self.outbox.start()

    async def stop(self) -> None:
        await self.outbox.stop()
        await self.component.stop()
        await self.channel.close(None)
        await self.server.stop(None)

    @property
    def service(self) -> Any:
        return self.component.service


def header(correlation_id: str | None = None, **kw: str) -> common_pb2.Header:
    values: dict[str, Any] = {
        "protocol_version": "application/vnd.ogf.nsi.cs.v2.provider+soap",
        "correlation_id": correlation_id or f"urn:uuid:{uuid.uuid4()}",
        "requester_nsa": REQUESTER,
        "provider_nsa": NSA,
        "reply_to": REPLY_TO,
    }
    values.update(kw)
    return common_pb2.Header(**values)


def reserve_request(
    source: str = stp("port-1"),
    dest: str = stp("port-2"),
    capacity: int = 100,
    start: datetime | None = None,
    end: datetime | None = None,
    connection_id: str = "",
    version: int = 0,
    **header_kw: str,
) -> provider_pb2.ReserveRequest:
    criteria = provider_pb2.ReservationRequestCriteria(version=version)
    if start is not None:
        criteria.schedule.start_time.FromDatetime(start)
    if end is not None:
        criteria.schedule.end_time.FromDatetime(end)
    criteria.ptps.CopyFrom(
        services_pb2.PointToPointService(capacity=capacity, source_stp=source, dest_stp=dest)
    )
    return provider_pb2.ReserveRequest(
        header=header(**header_kw),
        connection_id=connection_id,
        global_reservation_id="urn:uuid:gri-1",
        description="test",
        criteria=criteria,
    )


def generic(connection_id: str, **header_kw: str) -> provider_pb2.GenericRequest:
    return provider_pb2.GenericRequest(header=header(**header_kw), connection_id=connection_id)


def now() -> datetime:
    return datetime.now(UTC)


def later(seconds: float) -> datetime:
    return now() + timedelta(seconds=seconds)


def agent_settings(tmp_path: Path, target: str, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "nsa_id": NSA,
        "network_id": NET,
        "agent_requester_target": target,
        "reserve_hold_timeout": 1.0,
        "callback_give_up_after": 30.0,
        "agent_callback_deadline": 2.0,
        "state_dir": tmp_path,
    }
    values.update(kw)
    return Settings(**values)


DEFAULT_PORTS = [
    make_port("port-1", port="Gi0/1", vlans="100-109", capacity=1000),
    make_port("port-2", port="Gi0/2", vlans="100-109", capacity=1000),
    make_port("port-3", port="Gi0/3", vlans="105", capacity=1000),
    make_port("port-4", port="Gi0/4", vlans="200-201", capacity=1000, enabled=False),
]


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, str]]:
    rec = Recorder()
    server = recorder_server(rec)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield rec, f"127.0.0.1:{port}"
    await server.stop(None)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'agent.db'}")
    await db.migrate()
    await load_ports(db, DEFAULT_PORTS)
    yield db
    await db.dispose()


def fast_outbox(db: Database) -> Outbox:
    return Outbox(db, base_delay=0.05, max_delay=0.2, poll_interval=0.05)


@pytest.fixture
async def agent(
    tmp_path: Path, sqlite_db: Database, recorder: tuple[Recorder, str]
) -> AsyncIterator[Agent]:
    running = Agent(agent_settings(tmp_path, recorder[1]), sqlite_db, fast_outbox(sqlite_db))
    await running.start()
    yield running
    await running.stop()
