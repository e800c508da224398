"""``nsgw nso ...``: what network engineers do to devices through NSO, and ``nsgw nso-sim``.

The NSO URL and credentials come from the configuration (``nso_url``,
``nso_username``, ``nso_password``) or the flags; with no ``nso_url`` the
commands talk to the embedded simulator (``http://127.0.0.1:<nso_sim_port>``,
admin/admin), the one ``nsgw serve`` and ``nsgw nso-sim`` start.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from adapters.nso_restconf import (
    CheckSyncResult,
    CommitParams,
    DryRunFormat,
    NotFound,
    NsoClient,
    NsoConnectionError,
    NsoError,
    NsoTimeout,
    SyncStatus,
    Unauthorized,
)
from adapters.nso_restconf.paths import device_path
from gateway.cli.common import ConfigOption, fail, settings_or_exit
from gateway.config import ConfigError
from gateway.nso import nso_config_from_settings

app = typer.Typer(
    help="Work with devices and services through Cisco NSO (or the embedded simulator).",
    no_args_is_help=True,
)
console = Console()
T = TypeVar("T")

UrlOption = Annotated[
    str | None, typer.Option("--url", help="NSO base URL (default: nso_url or the simulator)")
]
UserOption = Annotated[str | None, typer.Option("--user", "-u", help="NSO user")]
PasswordOption = Annotated[
    str | None,
    typer.Option("--password", "-p", help="NSO password (prefer NSGW_NSO_PASSWORD)"),
]
DryRunOption = Annotated[
    DryRunFormat | None,
    typer.Option("--dry-run", help="show what would change (native or cli), change nothing"),
]


def _client(
    config: Path | None, url: str | None, user: str | None, password: str | None
) -> NsoClient:
    settings = settings_or_exit(config, nso_url=url, nso_username=user, nso_password=password)
    try:
        return NsoClient(nso_config_from_settings(settings))
    except ConfigError as exc:
        fail(str(exc))


def _run(client: NsoClient, work: Callable[[NsoClient], Awaitable[T]], device: str = "") -> T:
    """Run ``work`` with the client; NSO failures become one friendly line."""

    async def go() -> T:
        async with client:
            return await work(client)

    url = client.config.url
    try:
        return asyncio.run(go())
    except Unauthorized:
        fail(f"NSO at {url} refused the credentials of user {client.config.username!r}")
    except NsoTimeout:
        fail(f"NSO at {url} did not answer in time")
    except NsoConnectionError:
        fail(f"cannot reach NSO at {url} (is it running? check nso_url)")
    except NotFound as exc:
        if device:
            fail(f"no device {device!r} in NSO at {url}")
        fail(exc.message)
    except NsoError as exc:
        fail(exc.message)


@app.command()
def devices(
    config: ConfigOption = None,
    url: UrlOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """List the devices NSO manages."""
    client = _client(config, url, user, password)
    found = _run(client, lambda nso: nso.devices.all())
    table = Table("device", "address", "NED", "admin state", "platform", "version", "serial")
    for d in found:
        table.add_row(
            d.name,
            f"{d.address}:{d.port}" if d.port else d.address,
            d.ned_id,
            d.admin_state,
            f"{d.platform.name} {d.platform.model}".strip(),
            d.platform.version,
            d.platform.serial_number,
        )
    console.print(table)


@app.command("check-sync")
def check_sync(
    device: Annotated[list[str] | None, typer.Argument(help="devices (default: all)")] = None,
    all_devices: Annotated[bool, typer.Option("--all", help="every device NSO manages")] = False,
    config: ConfigOption = None,
    url: UrlOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Check whether devices are in sync with NSO; exit status 1 if any is not."""
    if device and all_devices:
        fail("give device names or --all, not both")
    client = _client(config, url, user, password)

    async def work(nso: NsoClient) -> list[CheckSyncResult]:
        names = list(device or []) or [d.name for d in await nso.devices.all()]
        with Progress(
            TextColumn("check-sync"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("check-sync", total=len(names))
            return await nso.devices.check_sync_many(
                names, on_result=lambda _r: progress.advance(task)
            )

    results = _run(client, work)
    table = Table("device", "result", "info")
    styles = {SyncStatus.IN_SYNC: "green", SyncStatus.OUT_OF_SYNC: "yellow"}
    for r in results:
        style = styles.get(r.result, "red")
        table.add_row(r.device, f"[{style}]{r.result.value}[/]", r.info)
    console.print(table)
    bad = [r for r in results if not r.in_sync]
    if bad:
        console.print(f"{len(bad)} of {len(results)} device(s) not in sync")
        raise typer.Exit(1)


@app.command("compare-config")
def compare_config(
    device: Annotated[str, typer.Argument(help="device name")],
    config: ConfigOption = None,
    url: UrlOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Show how the device differs from NSO's copy; exit status 1 when it differs."""
    client = _client(config, url, user, password)
    diff = _run(client, lambda nso: nso.devices.compare_config(device), device)
    if not diff:
        console.print(f"{device}: in sync")
        return
    console.print(diff, highlight=False, markup=False, end="")
    raise typer.Exit(1)


@app.command("sync-from")
def sync_from(
    device: Annotated[str, typer.Argument(help="device name")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show how NSO's copy would change")
    ] = False,
    config: ConfigOption = None,
    url: UrlOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Read the device's configuration into NSO."""
    client = _client(config, url, user, password)
    if dry_run:
        diff = _run(client, lambda nso: nso.devices.compare_config(device), device)
        console.print(diff or f"{device}: NSO's copy already matches the device", markup=False)
        return
    result = _run(client, lambda nso: nso.devices.sync_from(device), device)
    if not result.result:
        fail(f"sync-from {device} failed: {result.info}", code=1)
    console.print(f"{device}: sync-from done")


@app.command("sync-to")
def sync_to(
    device: Annotated[str, typer.Argument(help="device name")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show the commands NSO would send")
    ] = False,
    config: ConfigOption = None,
    url: UrlOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Push NSO's copy of the configuration to the device."""
    client = _client(config, url, user, password)
    if dry_run:
        preview = _run(client, lambda nso: nso.devices.sync_to_dry_run(device), device)
        text = preview.native.get(device, "")
        console.print(text or f"{device}: nothing to send", markup=False, end="" if text else "\n")
        return
    result = _run(client, lambda nso: nso.devices.sync_to(device), device)
    if not result.result:
        fail(f"sync-to {device} failed: {result.info}", code=1)
    console.print(f"{device}: sync-to done")


@app.command("exec")
def exec_command(
    device: Annotated[str, typer.Argument(help="device name")],
    command: Annotated[str, typer.Argument(help='command, e.g. "show version"')],
    stats_module: Annotated[
        str | None, typer.Option(help="NED stats module (default: derived from the NED)")
    ] = None,
    config: ConfigOption = None,
    url: UrlOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Run a command on the device (live-status exec) and print its output."""
    client = _client(config, url, user, password)

    async def work(nso: NsoClient) -> str:
        await nso.get(device_path(device), depth=1)  # a missing device: a clear error
        return await nso.devices.exec(device, command, stats_module=stats_module)

    output = _run(client, work, device)
    console.print(output, markup=False, highlight=False, end="")


@app.command()
def connect(
    device: Annotated[str, typer.Argument(help="device name")],
    config: ConfigOption = None,
    url: UrlOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Have NSO connect to the device; exit status 1 when it cannot."""
    client = _client(config, url, user, password)
    result = _run(client, lambda nso: nso.devices.connect(device), device)
    if not result.result:
        fail(f"{device}: {result.info or 'connect failed'}", code=1)
    console.print(f"{device}: {result.info or 'connected'}", markup=False)


@app.command()
def ping(
    device: Annotated[str, typer.Argument(help="device name")],
    config: ConfigOption = None,
    url: UrlOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Ping the device from NSO and print the result."""
    client = _client(config, url, user, password)
    result = _run(client, lambda nso: nso.devices.ping(device), device)
    console.print(result.result, markup=False, highlight=False, end="")


@app.command("fetch-host-keys")
def fetch_host_keys(
    device: Annotated[str, typer.Argument(help="device name")],
    config: ConfigOption = None,
    url: UrlOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Fetch the device's SSH host keys into NSO and show their fingerprints."""
    client = _client(config, url, user, password)
    result = _run(client, lambda nso: nso.devices.fetch_host_keys(device), device)
    if not result.fingerprints:
        fail(f"{device}: fetching host keys {result.result or 'failed'}", code=1)
    for key in result.fingerprints:
        console.print(f"{device}: {key.algorithm} {key.value} ({result.result})", markup=False)


service_app = typer.Typer(help="Create, change or delete service instances.", no_args_is_help=True)
app.add_typer(service_app, name="service")


def _read_body(file: Path) -> Any:
    try:
        return json.loads(file.read_text())
    except FileNotFoundError:
        fail(f"file {file} does not exist")
    except ValueError as exc:
        fail(f"file {file} is not valid JSON: {exc}")


def _print_dry_run(text: str) -> None:
    console.print(text or "no changes", markup=False, highlight=False)


@service_app.command("apply")
def service_apply(
    path: Annotated[str, typer.Argument(help="service path, e.g. l2vlan:l2vlan=c1")],
    file: Annotated[Path, typer.Option("--file", "-f", help="JSON body of the instance")],
    dry_run: DryRunOption = None,
    config: ConfigOption = None,
    url: UrlOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Create or replace a service instance (NSO pushes the device changes)."""
    body = _read_body(file)
    client = _client(config, url, user, password)
    params = CommitParams(dry_run=dry_run) if dry_run else None
    result = _run(client, lambda nso: nso.services.apply(path, body, params=params))
    if result.dry_run is not None:
        _print_dry_run(result.dry_run.text)
        return
    console.print(f"{path}: {'created' if result.status == 201 else 'updated'}")


@service_app.command("delete")
def service_delete(
    path: Annotated[str, typer.Argument(help="service path, e.g. l2vlan:l2vlan=c1")],
    dry_run: DryRunOption = None,
    config: ConfigOption = None,
    url: UrlOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Delete a service instance (NSO removes its device configuration)."""
    client = _client(config, url, user, password)
    params = CommitParams(dry_run=dry_run) if dry_run else None
    result = _run(client, lambda nso: nso.services.delete(path, params=params))
    if result.dry_run is not None:
        _print_dry_run(result.dry_run.text)
        return
    console.print(f"{path}: deleted")
