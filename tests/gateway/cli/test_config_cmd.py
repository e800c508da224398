"""``nsgw config show``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import Settings

runner = CliRunner()


def test_show_prints_every_effective_setting_as_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "nsgw.toml"
    config.write_text("grpc_port = 6000\n")
    monkeypatch.setenv("NSGW_LOG_LEVEL", "debug")
    result = runner.invoke(app, ["config", "show", "--config", str(config)])
    assert result.exit_code == 0, result.output
    shown = tomllib.loads(result.output)
    unset = {line.split()[1] for line in result.output.splitlines() if line.endswith("is not set")}
    assert set(shown) | unset == set(Settings.model_fields)
    assert not set(shown) & unset
    assert shown["grpc_port"] == 6000
    assert shown["log_level"] == "debug"


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    secret_fields = [
        name for name, field in Settings.model_fields.items() if "SecretStr" in repr(field)
    ]
    if not secret_fields:
        pytest.skip("no secret settings defined")
    for name in secret_fields:
        monkeypatch.setenv(f"NSGW_{name.upper()}", "hunter2-very-secret")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "hunter2-very-secret" not in result.output
    assert "********" in result.output


def test_a_bad_setting_stops_with_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NSGW_HTTP_PORT", "not-a-port")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 2
    assert "http_port" in result.output
    assert "NSGW_HTTP_PORT" in result.output
