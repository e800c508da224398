"""The NSO adapter inside the gateway: a client built from the settings, and the
embedded simulator used when no NSO is configured (``nso_url`` empty)."""

from __future__ import annotations

import grpc
from aiohttp import web
from pydantic import SecretStr, ValidationError

from adapters.nso_restconf import NsoClient, NsoConfig
from adapters.nso_restconf.simulator import DEMO_DATA, SimulatorServer, build_state
from gateway.config import ConfigError, Settings
from gateway.logs import get_logger

log = get_logger(__name__)

SIMULATOR_HOST = "127.0.0.1"
SIMULATOR_USERNAME = "admin"
SIMULATOR_PASSWORD = "admin"  # noqa: S105 - the embedded simulator's published default


def uses_simulator(settings: Settings) -> bool:
    return not settings.nso_url


def simulator_url(settings: Settings) -> str:
    return f"http://{SIMULATOR_HOST}:{settings.nso_sim_port}"


def nso_config_from_settings(settings: Settings) -> NsoConfig:
    """Client settings: the configured NSO, or the embedded simulator and its credentials."""
    if uses_simulator(settings):
        url, username = simulator_url(settings), SIMULATOR_USERNAME
        password = SecretStr(SIMULATOR_PASSWORD)
    else:
        url, username, password = settings.nso_url, settings.nso_username, settings.nso_password
    try:
        return NsoConfig(
            url=url,
            username=username,
            password=password,
            nso_version=settings.nso_version,
            verify_tls=settings.nso_verify_tls,
            ca_file=settings.nso_ca_file,
            client_cert=settings.nso_client_cert,
            client_key=settings.nso_client_key,
            timeout=settings.nso_timeout,
            max_concurrency=settings.nso_max_concurrency,
            retries=settings.nso_retries,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{_setting_name(e['loc'][0] if e['loc'] else '')}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid NSO settings: {problems}") from None


def _setting_name(field: object) -> str:
    """The Settings name of an NsoConfig field (``url`` -> ``nso_url``)."""
    name = str(field)
    return name if name.startswith("nso_") else f"nso_{name}"


def nso_client_from_settings(settings: Settings) -> NsoClient:
    """The NSO client every part of the gateway uses (close it with ``aclose``)."""
    return NsoClient(nso_config_from_settings(settings))


class NsoSimulatorComponent:
    """Runs the NSO simulator (demo devices) in the gateway process when no NSO is configured."""

    name = "nso-simulator"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.server: SimulatorServer | None = None

    def add_to_grpc(self, server: grpc.aio.Server) -> list[str]:
        del server
        return []

    def add_to_http(self, app: web.Application) -> None:
        del app

    async def start(self) -> None:
        state = build_state(
            DEMO_DATA,
            nso_version=self._settings.nso_version,
            users={SIMULATOR_USERNAME: SIMULATOR_PASSWORD},
        )
        self.server = SimulatorServer(state, SIMULATOR_HOST, self._settings.nso_sim_port)
        await self.server.start()
        log.info(
            "NSO simulator running (no nso_url configured)",
            url=self.server.url,
            user=SIMULATOR_USERNAME,
            devices=sorted(state.devices),
        )

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None
