"""A device check-sync through the orchestrator API vs the same call made directly.

Through the API, one call is what a workflow step does: start the CheckSync
operation for one device over gRPC (``nsgw serve``, SQLite state), then follow
it until it ends (WatchOperation, then GetOperation for the result).  Directly,
it is ``NsoClient.devices.check_sync`` from this process.  Both talk to the
same NSO simulator, a child process (``nsgw nso-sim``).

Two device round trips: none (the simulator answers at once, so the ratio is
the API's whole cost over a bare RESTCONF call) and 100 ms, the round trip
the nso_client case also assumes (NSO's check-sync asks the device for its
transaction id).

With no device round trip, a third loop makes the direct call plus one bare
gRPC round trip (the health Check of a bare grpc.aio server): the least any
gRPC front of that call can cost, a bound the API cannot beat.  When that
bound alone is above the goal, so is every design of the API.
"""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adapters.nso_restconf import NsoClient, NsoConfig
from bench.cases.nso_client import DEVICE_LATENCY_MS, nso_sim
from bench.harness import Measurement, Result, measure
from bench.servers import bare_grpc_health, nsgw_serve
from gateway.client import NsgwClient
from nsgw_proto.nsgw.v1 import operations_pb2

GOAL = 1.5
DEVICE = "pe0"


async def _round(
    api: NsgwClient, nso: NsoClient, count: int, concurrency: int
) -> tuple[Measurement, Measurement]:
    async def through_api() -> None:
        op = await api.nso_devices.check_sync([DEVICE])
        done = await api.operations.wait(op.name)
        if done.state != operations_pb2.OPERATION_STATE_SUCCEEDED:
            raise RuntimeError(f"check-sync operation ended {done.state}: {done.error.message}")

    async def direct() -> None:
        await nso.devices.check_sync(DEVICE)

    floor = await measure("direct check-sync", direct, count=count, concurrency=concurrency)
    mine = await measure("API check-sync", through_api, count=count, concurrency=concurrency)
    return mine, floor


async def _bound(nso: NsoClient, floor: Measurement, count: int, concurrency: int) -> list[Result]:
    """The direct call plus one bare gRPC round trip, against the direct call."""
    async with (
        bare_grpc_health() as port,
        grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
    ):
        health = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest()

        async def direct_and_a_round_trip() -> None:
            await nso.devices.check_sync(DEVICE)
            await health.Check(request)

        bound = await measure(
            "direct + round trip", direct_and_a_round_trip, count=count, concurrency=concurrency
        )
    return [
        Result(
            f"bound: direct + 1 bare gRPC round trip, device 0 ms, {concurrency} client(s)",
            bound,
            floor,
            metric=metric,
            note="no goal: the least any gRPC front of the direct call can cost",
        )
        for metric in ("throughput", "p50")
    ]


async def run(quick: bool) -> list[Result]:
    count = 100 if quick else 1000
    results = []
    for device_ms in (0, DEVICE_LATENCY_MS):
        async with nso_sim("--device-latency-ms", str(device_ms)) as url:
            env = {"NSGW_NSO_URL": url, "NSGW_NSO_USERNAME": "admin", "NSGW_NSO_PASSWORD": "admin"}
            async with nsgw_serve(env) as ports:
                config = NsoConfig(url=url, username="admin", password="admin")
                async with (
                    NsgwClient(f"127.0.0.1:{ports['grpc']}") as api,
                    NsoClient(config) as nso,
                ):
                    for concurrency in (1, 10):
                        mine, floor = await _round(api, nso, count, concurrency)
                        if device_ms == 0:
                            results += await _bound(nso, floor, count, concurrency)
                        for metric in ("throughput", "p50", "p99"):
                            results.append(
                                Result(
                                    f"check-sync operation, device {device_ms} ms, "
                                    f"{concurrency} client(s)",
                                    mine,
                                    floor,
                                    metric=metric,
                                    goal=GOAL,
                                    note="floor: NsoClient.devices.check_sync, same simulator",
                                )
                            )
    return results
