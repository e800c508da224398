"""``nsgw serve --config examples/demo.toml`` (the ``make run`` demo) on free loopback ports."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
NSGW = str(Path(sys.executable).parent / "nsgw")


@dataclass(frozen=True)
class Demo:
    process: subprocess.Popen[bytes]
    env: dict[str, str]  # the variables it runs with; the CLI finds it through them too
    grpc_port: int
    http_port: int
    sim_port: int  # the embedded NSO simulator
    log: Path


@asynccontextmanager
async def demo_serve(tmp_path: Path, **extra_env: str) -> AsyncIterator[Demo]:
    """The demo, serving; stopped with SIGTERM afterwards (its exit status is checked)."""
    grpc_port, http_port, sim_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "NSGW_GRPC_PORT": str(grpc_port),
        "NSGW_HTTP_PORT": str(http_port),
        "NSGW_STATE_DIR": str(tmp_path / "state"),
        "NSGW_NSO_SIM_PORT": str(sim_port),
        "NSGW_NSO_URL": "",
        "NSGW_API_SERVER": f"127.0.0.1:{grpc_port}",
        "COLUMNS": "200",
        **extra_env,
    }
    log = tmp_path / "serve.log"
    serve = subprocess.Popen(
        [NSGW, "serve", "--config", "examples/demo.toml"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        try:
            await wait_until_serving(f"127.0.0.1:{grpc_port}", timeout=60)
        except AssertionError as exc:
            output = log.read_text(errors="replace")
            raise AssertionError(f"nsgw serve did not come up: {output}") from exc
        yield Demo(serve, env, grpc_port, http_port, sim_port, log)
    finally:
        serve.send_signal(signal.SIGTERM)
        await asyncio.to_thread(serve.wait, 30)
    assert serve.returncode == 0, log.read_text(errors="replace")[-2000:]
