"""``nsgw reservations``: what the NSI provider agent holds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from gateway.agent import store
from gateway.agent.backends.nso_records import NsoServiceRecord, load_record
from gateway.agent.domain.reservation import Criteria
from gateway.cli.agent_db import run_with_database
from gateway.cli.common import ConfigOption, fail
from gateway.db import Database

app = typer.Typer(help="Inspect the NSI provider agent's reservations.", no_args_is_help=True)
console = Console(width=200)


def _time(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _vlans(c: Criteria | None) -> str:
    if c is None or c.source_vlan is None:
        return "-"
    return f"{c.source_vlan}/{c.dest_vlan}"


@app.command("list")
def list_(
    limit: Annotated[int, typer.Option(help="show at most this many, newest first")] = 100,
    config: ConfigOption = None,
) -> None:
    """List reservations with their states, schedule and VLANs."""

    async def work(db: Database) -> list[tuple[store.ReservationRow, dict[int, Criteria]]]:
        async with db.sessions() as session:
            rows = list(
                await session.scalars(
                    select(store.ReservationRow)
                    .order_by(store.ReservationRow.created_at.desc())
                    .limit(limit)
                )
            )
            return [(row, await session.run_sync(store.load_versions, row)) for row in rows]

    table = Table(
        "connection id", "reservation", "provision", "lifecycle", "data plane",
        "version", "start", "end", "Mbit/s", "VLANs",
    )  # fmt: skip
    for row, versions in run_with_database(config, work):
        c = versions.get(row.committed_version or -1) or versions.get(row.held_version or -1)
        table.add_row(
            row.connection_id,
            row.reservation_state,
            row.provision_state or "-",
            row.lifecycle_state,
            "active" if row.data_plane_active else "inactive",
            str(c.version) if c else "-",
            _time(c.start if c else None),
            _time(c.end if c else None),
            str(c.capacity) if c else "-",
            _vlans(c),
        )
    console.print(table)


@app.command("show")
def show(
    connection_id: Annotated[str, typer.Argument(help="connection id")],
    config: ConfigOption = None,
) -> None:
    """Show one reservation: states and every criteria version."""

    async def work(
        db: Database,
    ) -> tuple[store.ReservationRecord, list[tuple[str, Criteria]], NsoServiceRecord | None] | None:
        async with db.sessions() as session:
            row = await session.run_sync(store.load_row, connection_id)
            if row is None:
                return None
            versions = await session.run_sync(store.history, connection_id)
            return row, versions, await session.run_sync(load_record, connection_id)

    found = run_with_database(config, work)
    if found is None:
        fail(f"no reservation '{connection_id}'")
    row, versions, nso = found
    for label, value in (
        ("connection id", row.connection_id),
        ("global reservation id", row.global_reservation_id),
        ("description", row.description),
        ("requester NSA", row.requester_nsa),
        ("reservation state", row.reservation_state),
        ("provision state", row.provision_state or "-"),
        ("lifecycle state", row.lifecycle_state),
        ("data plane", "active" if row.data_plane_active else "inactive"),
        ("committed version", str(row.committed_version or "-")),
        ("last modified", _time(row.last_modified)),
    ):
        typer.echo(f"{label:>22}: {value}")
    table = Table("version", "status", "start", "end", "Mbit/s", "source", "dest", "VLANs")
    for status, c in versions:
        table.add_row(
            str(c.version),
            status,
            _time(c.start),
            _time(c.end),
            str(c.capacity),
            c.source_stp,
            c.dest_stp,
            _vlans(c),
        )
    console.print(table)
    if nso is not None:
        _show_nso(nso)


def _show_nso(nso: NsoServiceRecord) -> None:
    """What the NSO backend knows: service path, state, dry-run diff, last health check."""
    if nso.health_in_sync is None:
        health = "not checked yet"
    else:
        health = f"{nso.health_detail} at {_time(nso.health_checked_at)}"
    typer.echo("")
    for label, value in (
        ("NSO service", nso.service_path),
        ("NSO state", nso.state),
        ("last NSO error", nso.last_error or "-"),
        ("last health check", health),
    ):
        typer.echo(f"{label:>22}: {value}")
    version = f" (version {nso.dry_run_version})" if nso.dry_run_version is not None else ""
    typer.echo(f"{'dry-run diff':>22}{version}:")
    for line in (nso.dry_run_diff or "-").splitlines():
        typer.echo(f"    {line}")
