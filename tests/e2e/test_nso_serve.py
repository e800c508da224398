"""``nsgw serve`` with no NSO configured runs the simulator, and the CLI finds it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_starts_the_simulator_and_nso_commands_use_it(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    sim_port = free_port()
    env = {
        **os.environ,
        "NSGW_GRPC_PORT": "0",
        "NSGW_HTTP_PORT": "0",
        "NSGW_STATE_DIR": str(tmp_path),
        "NSGW_NSO_SIM_PORT": str(sim_port),
        "NSGW_NSO_URL": "",
        "NSGW_CONFIG": "",
        "COLUMNS": "200",
    }
    serve = subprocess.Popen(
        [str(bin_dir / "nsgw"), "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{sim_port}/.well-known/host-meta")
                break
            except httpx.ConnectError:
                assert serve.poll() is None, "nsgw serve exited"
                time.sleep(0.05)
        check = subprocess.run(
            [str(bin_dir / "nsgw"), "nso", "check-sync", "--all"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert check.returncode == 0, check.stderr
        assert check.stdout.count("in-sync") == 4
    finally:
        serve.send_signal(signal.SIGTERM)
        log, _ = serve.communicate(timeout=20)
    assert serve.returncode == 0
    text = log.decode()
    assert "NSO simulator running" in text
    assert f"http://127.0.0.1:{sim_port}" in text
