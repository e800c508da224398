"""``nsgw nso-sim``: run the NSO simulator in the foreground."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from adapters.nso_restconf.simulator import DEMO_DATA, Faults, SimulatorServer, build_state
from gateway.cli.common import fail
from gateway.gc_pauses import freeze_startup_objects


def nso_sim(
    port: Annotated[int, typer.Option(help="port to listen on (127.0.0.1)")] = 8888,
    host: Annotated[str, typer.Option(help="loopback address to listen on")] = "127.0.0.1",
    data: Annotated[
        Path | None,
        typer.Option("--data", help="JSON file with the initial devices and services"),
    ] = None,
    nso_version: Annotated[
        str, typer.Option(help="NSO version to mimic (error format, commit parameters)")
    ] = "6.4",
    user: Annotated[str, typer.Option(help="user accepted by Basic auth")] = "admin",
    password: Annotated[str, typer.Option(help="its password")] = "admin",  # noqa: S107
    latency_ms: Annotated[float, typer.Option(help="added to every request")] = 0.0,
    device_latency_ms: Annotated[
        float, typer.Option(help="added to device actions (the device round trip)")
    ] = 0.0,
    error_rate: Annotated[float, typer.Option(help="share of requests answered 500")] = 0.0,
    unreachable: Annotated[
        list[str] | None, typer.Option(help="device that does not answer (repeatable)")
    ] = None,
    busy: Annotated[int, typer.Option(help="answer the first N requests 503 (NSO busy)")] = 0,
    in_use: Annotated[
        int, typer.Option(help="answer the first N writes or actions 409 in-use")
    ] = 0,
    queue_delay: Annotated[
        float, typer.Option(help="seconds a commit-queue item takes to complete")
    ] = 2.0,
) -> None:
    """Run an NSO RESTCONF simulator (demo devices unless --data is given)."""
    try:
        faults = Faults(
            latency_ms=latency_ms,
            device_latency_ms=device_latency_ms,
            error_rate=error_rate,
            unreachable=unreachable or [],
            busy=busy,
            in_use=in_use,
        )
        state = build_state(
            data or DEMO_DATA,
            nso_version=nso_version,
            users={user: password},
            faults=faults,
            queue_delay=queue_delay,
        )
        server = SimulatorServer(state, host, port)
    except ValidationError as exc:
        fail(f"invalid fault setting: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
    except ValueError as exc:
        fail(str(exc).splitlines()[0])

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await server.start()
        freeze_startup_objects()
        typer.echo(
            f"NSO simulator (NSO {nso_version}) on {server.url}/restconf, user {user}, "
            f"devices: {', '.join(sorted(state.devices))}; faults: PUT {server.url}/sim/faults"
        )
        try:
            await stop.wait()
        finally:
            await server.stop()

    try:
        asyncio.run(serve())
    except OSError as exc:
        fail(f"cannot start the simulator: {exc}", code=1)
