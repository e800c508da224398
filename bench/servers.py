"""Processes the benchmarks measure: ``nsgw serve`` and bare floors, on loopback."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for_grpc(target: str, wait: float = 20.0) -> None:
    """Wait until the server reports SERVING (for nsgw: every component has started)."""
    async with grpc.aio.insecure_channel(target) as channel:
        await asyncio.wait_for(channel.channel_ready(), wait)
        stub = health_pb2_grpc.HealthStub(channel)
        async with asyncio.timeout(wait):
            while True:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=wait)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                await asyncio.sleep(0.05)


@asynccontextmanager
async def process(*argv: str, env: dict[str, str] | None = None) -> AsyncIterator[None]:
    """Run a child process for the duration of the block; SIGTERM it afterwards."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@asynccontextmanager
async def nsgw_serve(extra_env: dict[str, str] | None = None) -> AsyncIterator[dict[str, int]]:
    """``nsgw serve`` on free loopback ports with state in a temporary directory."""
    ports = {"grpc": free_port(), "http": free_port()}
    with tempfile.TemporaryDirectory(prefix="nsgw-bench-") as state:
        env = {
            "NSGW_GRPC_PORT": str(ports["grpc"]),
            "NSGW_HTTP_PORT": str(ports["http"]),
            "NSGW_STATE_DIR": state,
            "NSGW_LOG_LEVEL": "warning",
            "NSGW_NSO_SIM_PORT": str(free_port()),  # the embedded NSO simulator
            **(extra_env or {}),
        }
        nsgw = Path(sys.executable).with_name("nsgw")
        async with process(str(nsgw), "serve", env=env):
            await wait_for_grpc(f"127.0.0.1:{ports['grpc']}")
            yield ports


@asynccontextmanager
async def bare_grpc_health() -> AsyncIterator[int]:
    """The floor: a grpc.aio server with only the health service, in a child process."""
    port = free_port()
    async with process(sys.executable, "-m", "bench.floor_grpc", str(port)):
        await wait_for_grpc(f"127.0.0.1:{port}")
        yield port
