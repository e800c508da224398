"""Test-only operation kinds and an in-process gateway to run them over real gRPC.

The kinds live here, never in production code: a runner that reports steps,
waits on a gate the test opens, and fails when asked to.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from aiohttp import web
from google.protobuf import struct_pb2

from gateway.assembly import build_components
from gateway.client import NsgwClient
from gateway.config import Settings
from gateway.operations.component import OperationsComponent
from gateway.operations.engine import OperationContext, OperationEngine, OperationKind
from gateway.operations.model import OperationFailed
from gateway.operations.starter import OperationStarter
from gateway.process import Gateway
from nsgw_proto.nsgw.v1 import operations_pb2
from tests.gateway.operations.receiver import free_port

# The progress message of a test job that waits for its gate to open.
AT_THE_GATE = "waiting for the gate"

JOBS_SERVICE = "nsgw.v1.testing.Jobs"
START_METHOD = f"/{JOBS_SERVICE}/Start"


@dataclass
class Gates:
    """Events keyed by target that test runners wait on."""

    events: dict[str, asyncio.Event] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)

    def event(self, target: str) -> asyncio.Event:
        return self.events.setdefault(target, asyncio.Event())

    def open(self, target: str) -> None:
        self.event(target).set()


def make_runner(gates: Gates) -> Callable[[OperationContext], Any]:
    async def run(ctx: OperationContext) -> struct_pb2.Struct:
        request = ctx.request
        assert isinstance(request, struct_pb2.Struct)
        params = dict(request.fields)
        gates.runs[ctx.target] = gates.runs.get(ctx.target, 0) + 1
        steps = int(params["steps"].number_value) if "steps" in params else 2
        for i in range(steps):
            await ctx.progress(f"step {i + 1} of {steps} on {ctx.target}")
        wait_first_run = "wait_unless_resumed" in params and not ctx.resumed
        if ("wait" in params and params["wait"].bool_value) or wait_first_run:
            await ctx.progress(AT_THE_GATE)
            await gates.event(ctx.target).wait()
        if "fail" in params and params["fail"].bool_value:
            raise OperationFailed(
                "FAILED_PRECONDITION",
                "TEST_REFUSED",
                f"{ctx.target} refused the change",
                metadata={"target": ctx.target},
            )
        result = struct_pb2.Struct()
        result.update({"target": ctx.target, "resumed": ctx.resumed})
        return result

    return run


def register_test_kinds(engine: OperationEngine, gates: Gates) -> None:
    run = make_runner(gates)
    engine.register(OperationKind("test.Job", struct_pb2.Struct, run))
    engine.register(OperationKind("test.ResumableJob", struct_pb2.Struct, run, resumable=True))
    engine.register(OperationKind("test.StubbornJob", struct_pb2.Struct, run, cancellable=False))


def job_request(**params: Any) -> struct_pb2.Struct:
    request = struct_pb2.Struct()
    request.update(params)
    return request


class JobsComponent:
    """A test gRPC method that starts test kinds through the production start helper."""

    name = "test-jobs"

    def __init__(self, starter: OperationStarter) -> None:
        self.starter = starter

    async def _start(
        self, request: struct_pb2.Struct, context: grpc.aio.ServicerContext[Any, Any]
    ) -> operations_pb2.Operation:
        params = dict(request.fields)

        def text(key: str) -> str:
            return params[key].string_value if key in params else ""

        job = struct_pb2.Struct()
        job.update({k: v for k, v in request.items() if k not in ("kind", "request_id")})
        return await self.starter.start(
            context,
            text("kind") or "test.Job",
            target=text("target"),
            request=job,
            request_id=text("request_id"),
            callback_url=text("callback_url"),
            progress_url=text("progress_url"),
        )

    def add_to_grpc(self, server: grpc.aio.Server) -> list[str]:
        handler = grpc.unary_unary_rpc_method_handler(
            self._start,
            request_deserializer=struct_pb2.Struct.FromString,
            response_serializer=operations_pb2.Operation.SerializeToString,
        )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(JOBS_SERVICE, {"Start": handler}),)
        )
        return []

    def add_to_http(self, app: web.Application) -> None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def gateway_settings(state_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "grpc_port": 0,
        "http_port": 0,
        "state_dir": state_dir,
        "log_level": "warning",
        "shutdown_grace": 1.0,
        # No nso_url: the embedded NSO simulator runs; never on the default port.
        "nso_sim_port": free_port(),
        **overrides,
    }
    return Settings(**values)


@dataclass
class Running:
    gateway: Gateway
    engine: OperationEngine
    component: OperationsComponent
    target: str


@asynccontextmanager
async def running_gateway(settings: Settings, gates: Gates) -> AsyncIterator[Running]:
    """The production components plus the test kinds, on a free loopback port."""
    components = build_components(settings)
    ops = next(c for c in components if isinstance(c, OperationsComponent))
    register_test_kinds(ops.engine, gates)
    gateway = Gateway(settings, [*components, JobsComponent(ops.starter)])
    await gateway.start()
    assert gateway.grpc is not None
    try:
        yield Running(gateway, ops.engine, ops, f"127.0.0.1:{gateway.grpc.port}")
    finally:
        await gateway.stop()


async def start_job(
    channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...] = (), **params: Any
) -> operations_pb2.Operation:
    call = channel.unary_unary(
        START_METHOD,
        request_serializer=struct_pb2.Struct.SerializeToString,
        response_deserializer=operations_pb2.Operation.FromString,
    )
    result: operations_pb2.Operation = await call(job_request(**params), metadata=metadata)
    return result


async def at_the_gate(client: NsgwClient, name: str) -> None:
    """Follow the test job ``name`` until it waits for its gate."""
    async for update in client.operations.watch(name):
        if update.HasField("progress") and update.progress.message == AT_THE_GATE:
            return
