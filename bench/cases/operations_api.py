"""Reading an operation through the nsgw.v1 API (token check, database) vs the gRPC floor.

The measured call is GetOperation with an API token on ``nsgw serve``; the
floor is the health Check of the same process (no authentication, no
database), so the ratio is what the Operations service adds to a unary call.
The operation read is recorded beforehand in the state directory the
process then serves from.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import grpc
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.harness import Measurement, Result, measure
from bench.servers import nsgw_serve
from gateway.access.tokens import hash_token
from gateway.db import Database
from gateway.operations.engine import OperationContext, OperationEngine, OperationKind
from nsgw_proto.nsgw.v1 import operations_pb2, operations_pb2_grpc

TOKEN = "bench-token-0123456789abcdef"


async def _record_operation(state: Path) -> str:
    """One ended operation in the state database, recorded as the gateway would."""

    async def run(ctx: OperationContext) -> struct_pb2.Struct:
        for step in range(5):
            await ctx.progress(f"step {step}")
        return struct_pb2.Struct()

    db = Database(f"sqlite:///{state / 'nsgw.db'}")
    await db.migrate()
    engine = OperationEngine(db)
    engine.register(OperationKind("bench.Noop", struct_pb2.Struct, run))
    op, _ = await engine.submit(
        "bench.Noop", target="bench", request=struct_pb2.Struct(), request_id="bench", caller="b"
    )
    await engine.wait(op.id)
    await db.dispose()
    return op.name


async def _calls(port: int, name: str, count: int, concurrency: int) -> list[Measurement]:
    auth = (("authorization", f"Bearer {TOKEN}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        ops = operations_pb2_grpc.OperationsStub(channel)
        get = operations_pb2.GetOperationRequest(name=name)

        async def check() -> None:
            await health.Check(health_pb2.HealthCheckRequest())

        async def read() -> None:
            await ops.GetOperation(get, metadata=auth)

        floor = await measure("health Check", check, count=count, concurrency=concurrency)
        mine = await measure("GetOperation", read, count=count, concurrency=concurrency)
    return [mine, floor]


async def run(quick: bool) -> list[Result]:
    count = 300 if quick else 3000
    results = []
    with tempfile.TemporaryDirectory(prefix="nsgw-bench-ops-") as state_dir:
        state = Path(state_dir)
        name = await _record_operation(state)
        env = {
            "NSGW_STATE_DIR": str(state),
            "NSGW_API_TOKENS": f'[{{"name": "bench", "sha256": "{hash_token(TOKEN)}"}}]',
        }
        async with nsgw_serve(env) as ports:
            for concurrency in (1, 16):
                mine, floor = await _calls(ports["grpc"], name, count, concurrency)
                results.append(
                    Result(
                        f"GetOperation (token, SQLite), {concurrency} client(s)",
                        mine,
                        floor,
                        metric="p50" if concurrency == 1 else "throughput",
                        note="floor: health Check on the same process",
                    )
                )
    return results
