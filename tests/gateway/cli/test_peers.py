"""``nsgw peers list`` and ``nsgw peers check`` (against a real provider endpoint)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from typer.testing import CliRunner

from gateway.cli import app
from tests.adapters.nsi_soap.schemas import NsiSchemas, schema_directory
from tests.e2e.soap_provider_double import NSA, SoapProviderDouble, serve_double

runner = CliRunner()


def config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "nsgw.toml"
    path.write_text(
        f'[[nsi_peers]]\nnsa_id = "{NSA}"\nprovider_url = "{url}"\nretries = 0\ntimeout = 2\n'
    )
    return path


def test_list_shows_the_peers_and_this_domain(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["peers", "list", "--config", str(config(tmp_path, "https://peer.example/nsi"))],
        env={"COLUMNS": "250"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert NSA in result.output
    assert "https://peer.example/nsi" in result.output
    assert "(this domain)" in result.output


def test_check_an_unknown_peer_is_a_one_line_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["peers", "check", "urn:nobody", "--config", str(config(tmp_path, "http://127.0.0.1:9/x"))],
    )
    assert result.exit_code == 2
    assert "no NSI provider 'urn:nobody' is configured" in result.output


async def test_check_reaches_the_peer_or_says_why_not(tmp_path: Path) -> None:
    double = SoapProviderDouble(NsiSchemas(schema_directory()))
    nsgw = str(Path(sys.executable).parent / "nsgw")
    async with serve_double(double) as url:
        proc = await asyncio.create_subprocess_exec(
            nsgw, "peers", "check", NSA, "--config", str(config(tmp_path, url)),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "250"},
        )  # fmt: skip
        out, _ = await proc.communicate()
    assert proc.returncode == 0, out
    assert b"OK" in out
    assert double.received[0][0] == "querySummarySync"
    assert double.invalid == []

    proc = await asyncio.create_subprocess_exec(
        nsgw, "peers", "check", NSA, "--config", str(config(tmp_path, "http://127.0.0.1:9/nsi")),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "250"},
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 1
    assert b"unreachable" in out
