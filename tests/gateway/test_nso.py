"""The NSO client built from settings, and the embedded simulator component."""

from __future__ import annotations

import socket

import pytest

from gateway.assembly import build_components
from gateway.config import ConfigError, load_settings
from gateway.nso import (
    NsoSimulatorComponent,
    nso_client_from_settings,
    nso_config_from_settings,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_nso_url_means_the_simulator() -> None:
    settings = load_settings(overrides={"nso_sim_port": 18999})
    config = nso_config_from_settings(settings)
    assert config.url == "http://127.0.0.1:18999"
    assert config.username == "admin"
    assert config.password.get_secret_value() == "admin"
    assert any(isinstance(c, NsoSimulatorComponent) for c in build_components(settings))


def test_configured_nso(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NSGW_NSO_PASSWORD", "pw-from-env")
    settings = load_settings(
        overrides={
            "nso_url": "https://127.0.0.1:8888",
            "nso_username": "ops",
            "nso_version": "6.7",
            "nso_timeout": 7,
            "nso_max_concurrency": 5,
            "nso_retries": 0,
            "nso_verify_tls": False,
        }
    )
    config = nso_config_from_settings(settings)
    assert config.url == "https://127.0.0.1:8888"
    assert config.username == "ops"
    assert config.password.get_secret_value() == "pw-from-env"
    assert config.commit_encoding == "header"
    assert (config.timeout, config.max_concurrency, config.retries) == (7, 5, 0)
    assert not config.verify_tls
    assert not any(isinstance(c, NsoSimulatorComponent) for c in build_components(settings))


def test_bad_nso_settings_name_the_setting() -> None:
    settings = load_settings(overrides={"nso_url": "ftp://x", "nso_version": "six"})
    with pytest.raises(ConfigError, match="nso_url") as caught:
        nso_config_from_settings(settings)
    assert "nso_version" in str(caught.value)


async def test_simulator_component_serves_the_demo_devices() -> None:
    settings = load_settings(overrides={"nso_sim_port": free_port()})
    component = NsoSimulatorComponent(settings)
    await component.start()
    try:
        async with nso_client_from_settings(settings) as nso:
            names = [d.name for d in await nso.devices.all()]
            assert names == ["pe0", "pe1", "ce0", "ce1"]
            assert (await nso.devices.check_sync("pe0")).in_sync
    finally:
        await component.stop()
