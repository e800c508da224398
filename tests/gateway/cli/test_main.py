"""The ``nsgw`` entry point: every sub-command reachable, each loading only what it needs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from gateway.cli import COMMANDS, build_app

PROBE = """
import json, sys
sys.argv = ["nsgw", *sys.argv[1:]]
from gateway.cli import main
try:
    main()
except SystemExit as exit:
    code = exit.code
loaded = [m for m in ("gateway.agent.service", "adapters.nsi_soap.provider_endpoint",
                      "adapters.nso_restconf.simulator", "aiohttp") if m in sys.modules]
print(json.dumps({"code": code, "loaded": loaded}))
"""


def _run(*argv: str) -> tuple[dict[str, object], str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    *output, last = done.stdout.strip().splitlines()
    return json.loads(last), "\n".join(output)


def test_a_light_sub_command_does_not_load_the_whole_gateway() -> None:
    report, output = _run("tokens", "--help")
    assert report == {"code": 0, "loaded": []}
    assert "Prepare API tokens" in output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_sub_command_answers_alone_and_in_the_full_listing(name: str) -> None:
    alone = CliRunner().invoke(build_app(name), [name, "--help"])
    assert alone.exit_code == 0, alone.output
    assert f"nsgw {name}" in alone.output
    listing = CliRunner().invoke(build_app(), ["--help"])
    assert name in listing.output


def test_an_unknown_sub_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(build_app(), ["bogus"])
    assert result.exit_code == 2
    assert "No such command 'bogus'" in result.output
