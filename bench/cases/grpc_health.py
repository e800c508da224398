"""gRPC unary round trip (health Check) through ``nsgw serve`` vs a bare grpc.aio server."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.harness import Measurement, Result, measure
from bench.servers import bare_grpc_health, nsgw_serve


async def _health_calls(port: int, label: str, count: int, concurrency: int) -> Measurement:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest()

        async def call() -> None:
            await stub.Check(request)

        return await measure(label, call, count=count, concurrency=concurrency)


async def run(quick: bool) -> list[Result]:
    count = 500 if quick else 4000
    results = []
    async with bare_grpc_health() as floor_port, nsgw_serve() as ports:
        for concurrency in (1, 32):
            floor = await _health_calls(floor_port, "bare grpc.aio", count, concurrency)
            mine = await _health_calls(ports["grpc"], "nsgw serve", count, concurrency)
            results.append(
                Result(
                    f"grpc health Check, {concurrency} client(s)",
                    mine,
                    floor,
                    metric="throughput",
                    goal=1.5,
                    note="" if concurrency > 1 else "floor: bare grpc.aio health server",
                )
            )
    return results
