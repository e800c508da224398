"""The NSI provider agent under ``nsgw serve``: confirmations, lifecycles, growth, memory.

Floors are bare grpc.aio unary calls (the health server of bench/floor_grpc.py)
measured in the same run.  Callbacks go to a recording ConnectionRequester in
this process; a call counts as done when its callback arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sqlite3
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.harness import Measurement, Result, measure
from bench.servers import bare_grpc_health, free_port, wait_for_grpc
from gateway.agent.callbacks import METHODS
from gateway.db import upgrade
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc
from nsgw_proto.nsi import services_pb2

NSA = "urn:ogf:network:example.net:2025:nsa:nsgw"
NET = "example.net:2025:topology"
TOPOLOGY = """
[[stp]]
id = "port-1"
port = "Gi0/1"
vlans = "100-3999"
capacity = 100000

[[stp]]
id = "port-2"
port = "Gi0/2"
vlans = "100-3999"
capacity = 100000

[[stp]]
id = "port-3"
port = "Gi0/3"
vlans = "100-3999"
capacity = 100000

[[stp]]
id = "port-4"
port = "Gi0/4"
vlans = "100-3999"
capacity = 100000
"""


class Requester:
    """A ConnectionRequester that hands each callback to whoever waits for it."""

    def __init__(self) -> None:
        self._arrived: dict[str, Any] = {}
        self._waiting: dict[str, asyncio.Future[Any]] = {}

    def _key(self, method: str, request: Any) -> str:
        if method == "DataPlaneStateChange":
            state = "up" if request.data_plane_status.active else "down"
            return f"{method}:{state}:{request.notification.connection_id}"
        return f"{method}:{getattr(request, 'connection_id', '')}"

    def deliver(self, method: str, request: Any) -> None:
        key = self._key(method, request)
        waiter = self._waiting.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(request)
        else:
            self._arrived[key] = request

    async def wait(self, key: str, within: float = 30.0) -> Any:
        if key in self._arrived:
            return self._arrived.pop(key)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        return await asyncio.wait_for(future, within)

    def server(self) -> grpc.aio.Server:
        server = grpc.aio.server()
        handlers = {}
        for method, (request_class, response_class) in METHODS.items():

            def make(name: str, response: Any) -> Any:
                async def handle(request: Any, context: Any) -> Any:
                    self.deliver(name, request)
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


@asynccontextmanager
async def agent_server(state: Path, requester_port: int) -> AsyncIterator[tuple[int, int]]:
    """``nsgw serve`` with the agent on the database in ``state``; yields (gRPC port, pid)."""
    ports = {"grpc": free_port(), "http": free_port()}
    topology = state / "topology.toml"
    topology.write_text(TOPOLOGY)
    env = {
        **os.environ,
        "NSGW_GRPC_PORT": str(ports["grpc"]),
        "NSGW_HTTP_PORT": str(ports["http"]),
        "NSGW_STATE_DIR": str(state),
        "NSGW_LOG_LEVEL": "warning",
        "NSGW_AGENT_REQUESTER_TARGET": f"127.0.0.1:{requester_port}",
        "NSGW_AGENT_TOPOLOGY_FILE": str(topology),
        # Held reservations of the confirmation runs are never committed; a
        # long hold keeps their timeouts out of the measured window.
        "NSGW_RESERVE_HOLD_TIMEOUT": "3600",
    }
    nsgw = Path(sys.executable).with_name("nsgw")
    proc = await asyncio.create_subprocess_exec(
        str(nsgw),
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await wait_for_grpc(f"127.0.0.1:{ports['grpc']}", wait=60)
        await _wait_for_topology(ports["http"])
        yield ports["grpc"], proc.pid
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _wait_for_topology(http_port: int, wait: float = 60.0) -> None:
    """Until the agent has loaded its topology file (it starts after the servers bind)."""
    url = f"http://127.0.0.1:{http_port}/nsi/topology"
    async with httpx.AsyncClient() as client:
        for _ in range(int(wait / 0.05)):
            with contextlib.suppress(httpx.HTTPError):
                if "port-4" in (await client.get(url)).text:
                    return
            await asyncio.sleep(0.05)
    raise RuntimeError("the agent did not load its topology")


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _header() -> common_pb2.Header:
    return common_pb2.Header(
        protocol_version="application/vnd.ogf.nsi.cs.v2.provider+soap",
        correlation_id=f"urn:uuid:{uuid.uuid4()}",
        requester_nsa="urn:ogf:network:bench:nsa",
        provider_nsa=NSA,
        reply_to="http://127.0.0.1/callback",
    )


def _reserve(
    source: str, dest: str, start: datetime | None, end: datetime
) -> provider_pb2.ReserveRequest:
    criteria = provider_pb2.ReservationRequestCriteria()
    if start is not None:
        criteria.schedule.start_time.FromDatetime(start)
    criteria.schedule.end_time.FromDatetime(end)
    criteria.ptps.CopyFrom(
        services_pb2.PointToPointService(
            capacity=100,
            source_stp=f"urn:ogf:network:{NET}:{source}",
            dest_stp=f"urn:ogf:network:{NET}:{dest}",
        )
    )
    return provider_pb2.ReserveRequest(header=_header(), criteria=criteria)


class Client:
    def __init__(self, port: int, requester: Requester) -> None:
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_grpc.ConnectionProviderStub(self.channel)
        self.requester = requester
        # Every confirmation gets a window of its own a minute apart, so
        # none of them compete for a VLAN and all are confirmed.
        self.slots = itertools.count()
        self.base = datetime.now(UTC) + timedelta(days=1)

    async def confirmed_reservation(self) -> None:
        start = self.base + timedelta(minutes=next(self.slots))
        response = await self.stub.Reserve(
            _reserve("port-1", "port-2", start, start + timedelta(seconds=30))
        )
        if response.HasField("service_exception"):
            raise RuntimeError(response.service_exception.text)
        await self.requester.wait(f"ReserveConfirmed:{response.connection_id}")

    async def lifecycle(self) -> None:
        end = datetime.now(UTC) + timedelta(hours=1)
        response = await self.stub.Reserve(_reserve("port-3", "port-4", None, end))
        if response.HasField("service_exception"):
            raise RuntimeError(response.service_exception.text)
        cid = response.connection_id
        await self.requester.wait(f"ReserveConfirmed:{cid}")
        steps = [
            (self.stub.ReserveCommit, ["ReserveCommitConfirmed"]),
            (self.stub.Provision, ["ProvisionConfirmed", "DataPlaneStateChange:up"]),
            (self.stub.Release, ["ReleaseConfirmed", "DataPlaneStateChange:down"]),
            (self.stub.Terminate, ["TerminateConfirmed"]),
        ]
        for call, expected in steps:
            ack = await call(provider_pb2.GenericRequest(header=_header(), connection_id=cid))
            if ack.HasField("service_exception"):
                raise RuntimeError(ack.service_exception.text)
            for key in expected:
                await self.requester.wait(f"{key}:{cid}")

    async def close(self) -> None:
        await self.channel.close(None)


async def _floor(port: int, count: int, concurrency: int) -> Measurement:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest()

        async def call() -> None:
            await stub.Check(request)

        return await measure("bare grpc.aio", call, count=count, concurrency=concurrency)


def seed(state: Path, count: int) -> None:
    """Store ``count`` finished reservations on port-1/port-2 directly, in bulk."""
    path = state / "nsgw.db"
    upgrade(f"sqlite:///{path}")
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    base = datetime(2025, 1, 1)
    con = sqlite3.connect(path)
    with con:
        con.executemany(
            "INSERT INTO agent_stp VALUES (?, ?, '100-3999', 100000, '', '', 1)",
            [(f"port-{i}", f"Gi0/{i}") for i in (1, 2)],
        )
        reservations, criteria, results, notes, requests = [], [], [], [], []
        for i in range(count):
            cid = str(uuid.UUID(int=i + 1))
            start = base + timedelta(minutes=i)
            end = start + timedelta(seconds=30)
            ts = start.strftime(fmt)
            state_name = "PassedEndTime" if i % 2 else "Terminated"
            reservations.append(
                (cid, f"urn:uuid:{cid}", "seeded", "urn:ogf:network:bench:nsa", "",
                 "ReserveStart", "Released", state_name, 0, 1, 1, None, 2, 2, ts, ts)
            )  # fmt: skip
            criteria.append(
                (cid, 1, "committed", ts, end.strftime(fmt), 100,
                 f"urn:ogf:network:{NET}:port-1", f"urn:ogf:network:{NET}:port-2",
                 100, 100, "Bidirectional", 1,
                 "http://services.ogf.org/nsi/2013/12/descriptions/EVTS.A-GOLE", "[]", "[]", ts)
            )  # fmt: skip
            for n, kind in ((1, "reserve_confirmed"), (2, "reserve_commit_confirmed")):
                results.append((cid, n, kind, f"urn:uuid:{uuid.uuid4()}", ts, b"\x12\x01x"))
            for n in (1, 2):
                notes.append((cid, n, "data_plane_state_change", ts, b"\x12\x01x"))
            requests.append((f"urn:uuid:{uuid.uuid4()}", "0" * 64, "reserve", cid, ts))
        con.executemany(
            f"INSERT INTO agent_reservation VALUES ({','.join('?' * 16)})", reservations
        )
        con.executemany(f"INSERT INTO agent_criteria VALUES ({','.join('?' * 16)})", criteria)
        con.executemany("INSERT INTO agent_result VALUES (?, ?, ?, ?, ?, ?)", results)
        con.executemany("INSERT INTO agent_notification VALUES (?, ?, ?, ?, ?)", notes)
        con.executemany("INSERT INTO agent_request VALUES (?, ?, ?, ?, ?)", requests)
    con.close()


async def _confirmations_at(
    stored: int, count: int, requester: Requester, port: int
) -> tuple[Measurement, float]:
    with tempfile.TemporaryDirectory(prefix="nsgw-bench-agent-") as tmp:
        state = Path(tmp)
        seed(state, stored)
        async with agent_server(state, port) as (grpc_port, pid):
            client = Client(grpc_port, requester)
            try:
                measured = await measure(
                    f"{stored:,} stored", client.confirmed_reservation, count=count
                )
            finally:
                await client.close()
            return measured, resident_mib(pid)


async def run(quick: bool) -> list[Result]:
    count = 200 if quick else 2000
    requester = Requester()
    server = requester.server()
    requester_port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    results: list[Result] = []
    try:
        async with bare_grpc_health() as floor_port:
            with tempfile.TemporaryDirectory(prefix="nsgw-bench-agent-") as tmp:
                async with agent_server(Path(tmp), requester_port) as (grpc_port, _pid):
                    client = Client(grpc_port, requester)
                    try:
                        floor32 = await _floor(floor_port, count * 4, 32)
                        mine32 = await measure(
                            "reserve -> confirmed",
                            client.confirmed_reservation,
                            count=count,
                            concurrency=32,
                        )
                        floor1 = await _floor(floor_port, count, 1)
                        mine1 = await measure(
                            "reserve -> confirmed", client.confirmed_reservation, count=count // 2
                        )
                        floor8 = await _floor(floor_port, count * 4, 8)
                        cycles = await measure(
                            "full lifecycle", client.lifecycle, count=count // 4, concurrency=8
                        )
                    finally:
                        await client.close()
            results += [
                Result("agent reserve->confirmed, 32 clients", mine32, floor32, "throughput", 20),
                Result(
                    "agent reserve->confirmed, 1 client",
                    mine1,
                    floor1,
                    "p50",
                    10,
                    note="floor: bare grpc.aio health Check",
                ),
                Result(
                    "agent full lifecycle, 8 clients",
                    cycles,
                    floor8,
                    "throughput",
                    100,
                    note="one op = reserve, commit, provision (data plane up), release, terminate",
                ),
            ]
        small, _ = await _confirmations_at(1_000, count // 4, requester, requester_port)
        large, rss = await _confirmations_at(100_000, count // 4, requester, requester_port)
        results.append(
            Result(
                "agent confirmation p50, 100,000 vs 1,000 stored",
                large,
                small,
                "p50",
                1.5,
            )
        )
        budget = Measurement("budget 150 MiB", 1, 1.0, [150 / 1000])
        results.append(
            Result(
                "agent resident memory, 100,000 stored",
                Measurement("VmRSS", 1, 1.0, [rss / 1000]),
                budget,
                "p50",
                1.0,
                note=f"VmRSS {rss:.0f} MiB of nsgw serve (the p50 columns show MiB here)",
            )
        )
    finally:
        await server.stop(None)
    return results
