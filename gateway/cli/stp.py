"""``nsgw stp``: the STPs (ports) the NSI provider agent offers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.agent import store
from gateway.agent.domain.errors import NsiError
from gateway.agent.domain.topology import Port, make_port
from gateway.agent.topology_file import TopologyFileError, load_topology_file
from gateway.cli.agent_db import run_with_database
from gateway.cli.common import ConfigOption, fail
from gateway.db import Database

app = typer.Typer(help="Manage the STPs of the NSI provider agent.", no_args_is_help=True)
console = Console()

IdArg = Annotated[str, typer.Argument(help="local id of the STP (urn:ogf:network:<net>:<id>)")]


def _problem(exc: NsiError) -> str:
    field = exc.variables[0][0] if exc.variables else "value"
    return f"{field}: {exc.detail}"


def _port(stp_id: str, **values: object) -> Port:
    try:
        return make_port(stp_id, **values)  # type: ignore[arg-type]
    except NsiError as exc:
        fail(_problem(exc))


@app.command("add")
def add(  # noqa: PLR0917
    stp_id: IdArg,
    port: Annotated[str, typer.Option(help="device port behind the STP")],
    vlans: Annotated[str, typer.Option(help="VLAN ranges, e.g. 100-199,300")],
    capacity: Annotated[int, typer.Option(help="capacity in Mbit/s")],
    description: Annotated[str, typer.Option(help="free text")] = "",
    alias: Annotated[str, typer.Option(help="the peer domain's STP id")] = "",
    disabled: Annotated[bool, typer.Option("--disabled", help="add it disabled")] = False,
    config: ConfigOption = None,
) -> None:
    """Add an STP."""
    new = _port(
        stp_id,
        port=port,
        vlans=vlans,
        capacity=capacity,
        description=description,
        alias=alias,
        enabled=not disabled,
    )

    async def work(db: Database) -> bool:
        async with db.transaction() as session:
            if await session.run_sync(store.get_port, stp_id) is not None:
                return False
            await session.run_sync(store.save_port, new)
            return True

    if not run_with_database(config, work):
        fail(f"STP '{stp_id}' exists already (use 'nsgw stp modify')")
    typer.echo(f"added STP {stp_id}")


@app.command("list")
def list_(config: ConfigOption = None) -> None:
    """List the STPs."""

    async def work(db: Database) -> list[tuple[Port, int]]:
        async with db.sessions() as session:
            ports = await session.run_sync(store.list_ports)
            return [(p, len(await session.run_sync(store.port_in_use, p.id))) for p in ports]

    rows = run_with_database(config, work)
    table = Table("id", "port", "vlans", "capacity", "enabled", "in use", "alias", "description")
    for port, users in rows:
        table.add_row(
            port.id,
            port.port,
            str(port.vlans),
            f"{port.capacity} Mbit/s",
            "yes" if port.enabled else "no",
            str(users),
            port.alias,
            port.description,
        )
    console.print(table)


async def _change(db: Database, stp_id: str, **changes: object) -> Port | None:
    async with db.transaction() as session:
        current = await session.run_sync(store.get_port, stp_id)
        if current is None:
            return None
        values: dict[str, object] = {
            "port": current.port,
            "vlans": str(current.vlans),
            "capacity": current.capacity,
            "description": current.description,
            "alias": current.alias,
            "enabled": current.enabled,
        }
        values.update({k: v for k, v in changes.items() if v is not None})
        updated = _port(stp_id, **values)
        await session.run_sync(store.save_port, updated)
        return updated


def _changed(config: Path | None, stp_id: str, verb: str, **changes: object) -> None:
    async def work(db: Database) -> Port | None:
        return await _change(db, stp_id, **changes)

    if run_with_database(config, work) is None:
        fail(f"no STP '{stp_id}'")
    typer.echo(f"{verb} STP {stp_id}")


@app.command("modify")
def modify(  # noqa: PLR0917
    stp_id: IdArg,
    port: Annotated[str | None, typer.Option(help="device port behind the STP")] = None,
    vlans: Annotated[str | None, typer.Option(help="VLAN ranges")] = None,
    capacity: Annotated[int | None, typer.Option(help="capacity in Mbit/s")] = None,
    description: Annotated[str | None, typer.Option(help="free text")] = None,
    alias: Annotated[str | None, typer.Option(help="the peer domain's STP id")] = None,
    config: ConfigOption = None,
) -> None:
    """Change fields of an STP (those not given are kept)."""
    _changed(
        config,
        stp_id,
        "modified",
        port=port,
        vlans=vlans,
        capacity=capacity,
        description=description,
        alias=alias,
    )


@app.command("enable")
def enable(stp_id: IdArg, config: ConfigOption = None) -> None:
    """Offer the STP for new reservations."""
    _changed(config, stp_id, "enabled", enabled=True)


@app.command("disable")
def disable(stp_id: IdArg, config: ConfigOption = None) -> None:
    """Stop offering the STP for new reservations (existing ones are kept)."""
    _changed(config, stp_id, "disabled", enabled=False)


@app.command("delete")
def delete(stp_id: IdArg, config: ConfigOption = None) -> None:
    """Delete an STP; refused while a reservation uses it."""

    async def work(db: Database) -> str:
        async with db.transaction() as session:
            users = await session.run_sync(store.port_in_use, stp_id)
            if users:
                return f"in use by {len(users)} reservation(s), e.g. {users[0]}"
            if not await session.run_sync(store.delete_port, stp_id):
                return "does not exist"
            return ""

    problem = run_with_database(config, work)
    if problem:
        fail(f"cannot delete STP '{stp_id}': {problem}")
    typer.echo(f"deleted STP {stp_id}")


@app.command("load")
def load(
    path: Annotated[Path, typer.Argument(help="topology file (TOML)", dir_okay=False)],
    config: ConfigOption = None,
) -> None:
    """Add or update the STPs of a topology file."""
    try:
        ports = load_topology_file(path)
    except TopologyFileError as exc:
        fail(str(exc))

    async def work(db: Database) -> None:
        async with db.transaction() as session:
            for port in ports:
                await session.run_sync(store.save_port, port)

    run_with_database(config, work)
    typer.echo(f"loaded {len(ports)} STP(s) from {path}")
