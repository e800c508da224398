"""Settings from defaults, a TOML file, NSGW_* variables and flags, and the errors on bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, Settings, load_settings, masked_items


@pytest.fixture(autouse=True)
def _no_nsgw_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os  # noqa: PLC0415

    for name in list(os.environ):
        if name.startswith("NSGW_"):
            monkeypatch.delenv(name)


def test_embedded_defaults_serve_on_loopback_with_sqlite_under_var() -> None:
    settings = load_settings()
    assert (settings.grpc_host, settings.grpc_port) == ("127.0.0.1", 50051)
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.effective_database_url == "sqlite:///var/nsgw.db"


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "nsgw.toml"
    config.write_text('grpc_port = 6000\nhttp_port = 6001\nlog_format = "json"\n')
    monkeypatch.setenv("NSGW_HTTP_PORT", "7001")
    settings = load_settings(config, {"log_format": "console", "grpc_port": None})
    assert settings.grpc_port == 6000  # from the file; a None flag does not override
    assert settings.http_port == 7001  # the environment beats the file
    assert settings.log_format == "console"  # a flag beats both


def test_an_nsgw_table_is_accepted(tmp_path: Path) -> None:
    config = tmp_path / "nsgw.toml"
    config.write_text("[nsgw]\ngrpc_port = 6100\n")
    assert load_settings(config).grpc_port == 6100


def test_an_invalid_environment_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NSGW_GRPC_PORT", "70000")
    with pytest.raises(ConfigError, match=r"invalid setting 'grpc_port' \(NSGW_GRPC_PORT\)"):
        load_settings()


def test_an_invalid_file_value_names_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "nsgw.toml"
    config.write_text('log_format = "xml"\n')
    with pytest.raises(ConfigError, match="invalid setting 'log_format'"):
        load_settings(config)


def test_an_unknown_key_in_the_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "nsgw.toml"
    config.write_text("grpc_prot = 1\n")
    with pytest.raises(ConfigError, match=f"unknown setting 'grpc_prot' in {config}"):
        load_settings(config)


def test_a_missing_or_broken_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("grpc_port = = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)


def test_masked_items_list_every_setting_in_order() -> None:
    names = [name for name, _ in masked_items(load_settings())]
    assert names == list(Settings.model_fields)
