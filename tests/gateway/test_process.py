"""The gateway process: both servers in one loop, components, graceful shutdown."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gateway.config import Settings
from gateway.logs import get_logger
from gateway.process import Gateway
from tests.helpers import free_port, wait_until_serving

SLOW_METHOD = "/test.Slow/Wait"


class SlowComponent:
    """A component with a slow gRPC method and a slow HTTP route, recording its lifecycle."""

    name = "slow"

    def __init__(self) -> None:
        self.events: list[str] = []
        self.entered = asyncio.Event()

    def add_to_grpc(self, server: grpc.aio.Server) -> list[str]:
        async def wait(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
            get_logger("test.slow").info("slow grpc call")
            self.entered.set()
            await asyncio.sleep(0.5)
            return b"done:" + request

        handler = grpc.method_handlers_generic_handler(
            "test.Slow", {"Wait": grpc.unary_unary_rpc_method_handler(wait)}
        )
        server.add_generic_rpc_handlers((handler,))
        return ["test.Slow"]

    def add_to_http(self, app: web.Application) -> None:
        async def slow(_request: web.Request) -> web.Response:
            get_logger("test.slow").info("slow http call")
            self.entered.set()
            await asyncio.sleep(0.5)
            return web.Response(text="done")

        app.router.add_get("/slow", slow)

    async def start(self) -> None:
        self.events.append("start")

    async def stop(self) -> None:
        self.events.append("stop")


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[Gateway, SlowComponent]]:
    settings = Settings(grpc_port=0, http_port=0, state_dir=tmp_path / "var", shutdown_grace=5)
    component = SlowComponent()
    gateway = Gateway(settings, [component])
    await gateway.start()
    yield gateway, component
    await gateway.stop()


async def test_both_servers_answer_with_health_and_reflection(
    running: tuple[Gateway, SlowComponent],
) -> None:
    gateway, component = running
    assert gateway.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service="test.Slow"))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        async for answer in reflection.ServerReflectionInfo(iter([request])):
            names = {s.name for s in answer.list_services_response.service}
            break
    assert {"grpc.health.v1.Health", "test.Slow"} <= names
    async with httpx.AsyncClient() as http:
        reply_http = await http.get(f"http://127.0.0.1:{gateway.http.port}/healthz")
    assert reply_http.json()["status"] == "ok"
    assert reply_http.headers["X-Request-Id"]
    assert component.events == ["start"]
    assert (gateway.settings.state_dir).is_dir()


async def test_shutdown_lets_in_flight_calls_finish_then_stops_components(tmp_path: Path) -> None:
    settings = Settings(grpc_port=0, http_port=0, state_dir=tmp_path, shutdown_grace=5)
    component = SlowComponent()
    gateway = Gateway(settings, [component])
    await gateway.start()
    assert gateway.grpc is not None
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc.port}")
    slow = channel.unary_unary(SLOW_METHOD, None, None)
    grpc_call = asyncio.ensure_future(slow(b"x"))
    async with httpx.AsyncClient() as http:
        http_call = asyncio.ensure_future(http.get(f"http://127.0.0.1:{gateway.http.port}/slow"))
        await component.entered.wait()
        await asyncio.sleep(0.05)
        await gateway.stop()
        assert await grpc_call == b"done:x"
        assert (await http_call).text == "done"
        assert component.events == ["start", "stop"]
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{gateway.http.port}/healthz")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await slow(b"late", timeout=2)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    await channel.close(None)


async def test_a_taken_port_stops_start_up_with_a_clear_error(tmp_path: Path) -> None:
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = blocker.sockets[0].getsockname()[1]
    settings = Settings(grpc_port=0, http_port=port, state_dir=tmp_path)
    gateway = Gateway(settings, [])
    with pytest.raises(OSError, match=str(port)):
        await gateway.start()
    blocker.close()


def _serve(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    nsgw = Path(sys.executable).with_name("nsgw")
    return subprocess.Popen(
        [str(nsgw), "serve", *args],
        cwd=tmp_path,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_nsgw_serve_runs_on_sigterm_stops_cleanly_and_logs_json(tmp_path: Path) -> None:
    grpc_port, http_port = free_port(), free_port()
    proc = _serve(
        tmp_path,
        "--log-format",
        "json",
        NSGW_GRPC_PORT=str(grpc_port),
        NSGW_HTTP_PORT=str(http_port),
    )
    try:
        asyncio.run(wait_until_serving(f"127.0.0.1:{grpc_port}"))
        assert httpx.get(f"http://127.0.0.1:{http_port}/healthz").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    events = [json.loads(line)["event"] for line in stderr.splitlines() if line.startswith("{")]
    assert "nsgw serving" in events
    # Once serving, what start-up made is out of the collector's way (short GC pauses).
    assert events.index("start-up objects exempted from garbage collection") > events.index(
        "nsgw serving"
    )
    assert events[-1] == "nsgw stopped"
    assert (tmp_path / "var" / "nsgw.db").exists()


def test_nsgw_serve_refuses_a_bad_setting_with_one_line(tmp_path: Path) -> None:
    proc = _serve(tmp_path, NSGW_LOG_FORMAT="xml")
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert stderr.strip().count("\n") == 0
    assert "log_format" in stderr


class SlowStarter:
    """A component whose start waits until the test lets it finish."""

    name = "slow-start"

    def __init__(self) -> None:
        self.starting, self.release = asyncio.Event(), asyncio.Event()
        self.ports: dict[str, int] = {}

    def add_to_grpc(self, server: grpc.aio.Server) -> list[str]:
        return []

    def add_to_http(self, app: web.Application) -> None:
        pass

    def on_grpc_bound(self, port: int) -> None:
        self.ports["grpc"] = port

    def on_http_bound(self, port: int) -> None:
        self.ports["http"] = port

    async def start(self) -> None:
        self.starting.set()
        await self.release.wait()

    async def stop(self) -> None:
        pass


async def test_health_says_serving_only_once_every_component_started(tmp_path: Path) -> None:
    settings = Settings(grpc_port=0, http_port=0, state_dir=tmp_path / "var")
    component = SlowStarter()
    gateway = Gateway(settings, [component])
    starting = asyncio.create_task(gateway.start())
    try:
        await asyncio.wait_for(component.starting.wait(), 10)
        grpc_target = f"127.0.0.1:{component.ports['grpc']}"
        healthz = f"http://127.0.0.1:{component.ports['http']}/healthz"
        async with grpc.aio.insecure_channel(grpc_target) as channel, httpx.AsyncClient() as http:
            health = health_pb2_grpc.HealthStub(channel)
            early = await health.Check(health_pb2.HealthCheckRequest())
            assert early.status == health_pb2.HealthCheckResponse.NOT_SERVING
            early_http = await http.get(healthz)
            assert (early_http.status_code, early_http.json()["status"]) == (503, "starting")

            component.release.set()
            await asyncio.wait_for(starting, 10)
            ready = await health.Check(health_pb2.HealthCheckRequest())
            assert ready.status == health_pb2.HealthCheckResponse.SERVING
            assert (await http.get(healthz)).status_code == 200
    finally:
        component.release.set()
        await starting
        await gateway.stop()
