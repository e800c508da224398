"""Running the simulator: in-process (tests, the gateway) or as ``nsgw nso-sim``."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from adapters.nso_restconf.simulator.app import create_app
from adapters.nso_restconf.simulator.faults import Faults
from adapters.nso_restconf.simulator.params import SimCommitParams
from adapters.nso_restconf.simulator.state import (
    DEMO_DATA,
    SimState,
    device_entries,
    device_from_data,
    read_data_file,
)
from adapters.nso_restconf.simulator.transaction import commit
from adapters.nso_restconf.simulator.tree import TreeError, clone, merge_into


def load(state: SimState, data: dict[str, Any]) -> None:
    """Add the devices and then the services (committed, so devices get their config)."""
    tree = state.datastore.tree
    for spec in data.get("devices", []):
        entry, device = device_from_data(spec)
        if device.name in state.devices:
            raise ValueError(f"device {device.name!r} is defined twice")
        device_entries(tree).append(entry)
        state.devices[device.name] = device
    for top, instances in data.get("services", {}).items():
        if top not in state.models:
            raise ValueError(f"no service model for {top!r}")
        for instance in instances:

            def add(new: dict[str, Any], top: str = top, instance: Any = instance) -> bool:
                new.setdefault(top, []).append(clone(instance))
                return True

            try:
                commit(state, add, SimCommitParams())
            except TreeError as exc:
                raise ValueError(f"service {instance.get('name')!r}: {exc.message}") from None
    for spec in data.get("devices", []):
        drift = spec.get("device-only-config")
        if drift:  # configuration changed on the device behind NSO's back
            merge_into(state.devices[spec["name"]].actual, clone(drift))


def build_state(
    data: dict[str, Any] | Path | None = DEMO_DATA,
    *,
    nso_version: str = "6.4",
    users: dict[str, str] | None = None,
    faults: Faults | None = None,
    queue_delay: float = 0.5,
) -> SimState:
    """A simulator state loaded with ``data`` (a dict, a JSON file, or None for no devices)."""
    state = SimState(nso_version=nso_version, users=users, faults=faults, queue_delay=queue_delay)
    if data is not None:
        load(state, read_data_file(data) if isinstance(data, Path) else data)
    return state


class SimulatorServer:
    """The simulator on ``host:port`` (port 0: a free port, see :attr:`port` after start)."""

    def __init__(
        self,
        state: SimState,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the simulator listens on loopback only, not {host}")
        self.state = state
        self.host, self.port = host, port
        self.ssl_context = ssl_context
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(create_app(self.state), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@asynccontextmanager
async def run_simulator(
    data: dict[str, Any] | Path | None = DEMO_DATA,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    nso_version: str = "6.4",
    users: dict[str, str] | None = None,
    faults: Faults | None = None,
    queue_delay: float = 0.5,
) -> AsyncIterator[SimulatorServer]:
    """``async with run_simulator() as sim: ... sim.url ...``"""
    state = build_state(
        data, nso_version=nso_version, users=users, faults=faults, queue_delay=queue_delay
    )
    server = SimulatorServer(state, host, port)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
