"""The README's tour, run as written against ``nsgw serve --config examples/demo.toml``.

The block is taken from README.md as it stands, so the tour cannot drift from
what the gateway does.  Only the places the README fixes are moved: the ports
(to free ones, through NSGW_* variables and in the curl line) and the path of
the ``nsgw`` command (the one of the Python running the tests).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

from tests.e2e.demo import NSGW, ROOT, demo_serve

MARKER = "<!-- tour: tests/e2e/test_readme_tour.py"


def tour_block() -> str:
    """The shell block under the tour marker of README.md."""
    text = (ROOT / "README.md").read_text()
    after = text[text.index(MARKER) :]
    start = after.index("```sh\n") + len("```sh\n")
    return after[start : after.index("```", start)]


def test_the_tour_block_is_found_and_uses_only_nsgw_and_curl() -> None:
    commands = [
        line.split()[0]
        for line in tour_block().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert commands.count(".venv/bin/nsgw") >= 14
    assert set(commands) <= {".venv/bin/nsgw", "curl", "CONN=$(.venv/bin/nsgw"}


async def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    async with demo_serve(tmp_path) as demo:
        script = "set -euo pipefail\n" + tour_block().replace(".venv/bin/nsgw", NSGW).replace(
            "127.0.0.1:8888", f"127.0.0.1:{demo.sim_port}"
        )
        done = await asyncio.to_thread(
            subprocess.run,
            ["bash", "-c", script],
            cwd=ROOT,
            env=demo.env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, output + demo.log.read_text(errors="replace")[-4000:]

    # What a reader of the tour is told to expect, step by step.
    assert "result (dry_run)" in output  # 1: the native dry-run's typed result
    assert "vlan 200" in output  # 1: ... with the configuration it would send
    assert '"rollbackId"' in output  # 2: the commit result
    assert "result (check_sync)" in output  # 3
    assert "changed-by-hand" in output  # 4: compare-config shows the out-of-band change
    assert "ios-xr Software" in output  # 5: the live-status command's output
    assert "reserveCommitConfirmed" in output  # 6: created through the NSI stack
    assert re.search(r"\d\d:\d\d:\d\d  active", output)  # 6: watched until active
    assert re.search(r"state +terminated", output)  # 6: then terminated
    assert output.count("succeeded") >= 12  # every operation of the tour
