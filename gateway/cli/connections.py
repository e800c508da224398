"""``nsgw connections``: create, list, show, watch and terminate NSI connections."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from google.protobuf import json_format
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gateway.cli.common import fail
from gateway.cli.ops import _run, _time, connection, state_name
from gateway.client import NsgwClient
from gateway.client.operations import is_ended
from nsgw_proto.nsgw.v1 import connection_resources_pb2 as res_pb2
from nsgw_proto.nsgw.v1 import operations_pb2

app = typer.Typer(help="NSI connections at this domain or at peer providers.", no_args_is_help=True)
app.callback()(connection)
console = Console()

STATES = {
    name.removeprefix("CONNECTION_STATE_").lower(): value
    for name, value in res_pb2.ConnectionState.items()
    if value != res_pb2.CONNECTION_STATE_UNSPECIFIED
}
STYLES = {"active": "green", "failed": "red", "terminated": "dim", "reserving": "yellow"}


def simple(state: int) -> Text:
    name = res_pb2.ConnectionState.Name(state).removeprefix("CONNECTION_STATE_").lower()  # type: ignore[arg-type]
    return Text(name, style=STYLES.get(name, "cyan"))


def _when(text: str | None, option: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option}: {text!r} is not an ISO 8601 time (e.g. 2026-12-01T10:00:00Z)")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _summary(conn: res_pb2.Connection) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_row("name", conn.name)
    grid.add_row("provider", conn.provider_nsa)
    grid.add_row("connection id", conn.connection_id)
    grid.add_row("state", simple(conn.state))
    states = conn.nsi_states
    grid.add_row(
        "NSI states",
        f"{states.reservation_state} / {states.provision_state} / {states.lifecycle_state} / "
        f"data plane {'active' if states.data_plane_active else 'inactive'}",
    )
    grid.add_row("source", conn.source_stp)
    grid.add_row("destination", conn.dest_stp)
    grid.add_row("capacity", f"{conn.capacity_mbps} Mbit/s")
    grid.add_row("version", str(conn.version))
    if conn.description:
        grid.add_row("description", conn.description)
    if conn.failure:
        grid.add_row("failure", Text(conn.failure, style="red"))
    grid.add_row("created", f"{_time(conn.create_time)} by {conn.creator}")
    return grid


async def _follow_operation(client: NsgwClient, name: str) -> operations_pb2.Operation:
    """Print progress lines as they come; the ended operation."""
    async for update in client.operations.watch(name):
        if update.HasField("progress"):
            console.print(f"  {_time(update.progress.time)}  {update.progress.message}")
        elif is_ended(update.operation):
            return await client.operations.get(name)
    return await client.operations.get(name)


def _report(op: operations_pb2.Operation) -> None:
    if op.state == operations_pb2.OPERATION_STATE_SUCCEEDED:
        console.print(_summary(op.connection))
        return
    console.print(
        f"[red]{op.name} {state_name(op)}[/]: [{op.error.reason}] {op.error.message}",
        highlight=False,
    )
    raise typer.Exit(1)


@app.command()
def create(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="source STP, urn:ogf:network:...[?vlan=...]")],
    dest: Annotated[str, typer.Argument(help="destination STP")],
    *,
    capacity: Annotated[int, typer.Option("--capacity", min=1, help="Mbit/s")] = 100,
    provider: Annotated[
        str, typer.Option("--provider", help="provider NSA id; default: this domain")
    ] = "",
    start: Annotated[str | None, typer.Option("--start", help="ISO 8601 start")] = None,
    end: Annotated[str | None, typer.Option("--end", help="ISO 8601 end")] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    reserve_only: Annotated[bool, typer.Option("--reserve-only", help="no commit")] = False,
    no_provision: Annotated[bool, typer.Option("--no-provision", help="commit only")] = False,
    request_id: Annotated[str, typer.Option("--request-id", help="for safe retries")] = "",
    no_wait: Annotated[bool, typer.Option("--no-wait", help="print the operation, exit")] = False,
) -> None:
    """Reserve, commit and provision a connection, showing progress live."""
    starts, ends = _when(start, "--start"), _when(end, "--end")

    async def work(client: NsgwClient) -> operations_pb2.Operation:
        op = await client.connections.create(
            source, dest, capacity, provider_nsa=provider, start=starts, end=ends,
            description=description, reserve_only=reserve_only, no_provision=no_provision,
            request_id=request_id,
        )  # fmt: skip
        console.print(f"{op.name} started")
        return op if no_wait else await _follow_operation(client, op.name)

    op = _run(ctx, work)
    if not no_wait:
        _report(op)


@app.command("list")
def list_(
    ctx: typer.Context,
    state: Annotated[
        list[str] | None, typer.Option("--state", help=f"only ({', '.join(STATES)})")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    names: Annotated[bool, typer.Option("--names", help="only the names, one per line")] = False,
) -> None:
    """List connections, newest first."""
    states = []
    for name in state or []:
        if name.lower() not in STATES:
            fail(f"unknown state {name!r}: use one of {', '.join(STATES)}")
        states.append(STATES[name.lower()])
    page = _run(ctx, lambda client: client.connections.list(states=states, page_size=limit))
    if as_json or names:
        for conn in page.connections:
            typer.echo(conn.name if names else json_format.MessageToJson(conn, indent=None))
        return
    table = Table("name", "provider", "state", "source", "destination", "Mbit/s", "created")
    for conn in page.connections:
        table.add_row(
            conn.name, conn.provider_nsa, simple(conn.state), conn.source_stp, conn.dest_stp,
            str(conn.capacity_mbps), _time(conn.create_time),
        )  # fmt: skip
    console.print(table)
    if not page.connections:
        console.print("no connections")


@app.command()
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="connections/{id} or the id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one connection with its simple and raw NSI states."""
    conn = _run(ctx, lambda client: client.connections.get(name))
    if as_json:
        typer.echo(json_format.MessageToJson(conn))
    else:
        console.print(_summary(conn))


@app.command()
def watch(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="connections/{id} or the id")],
    until: Annotated[
        str | None, typer.Option("--until", help="stop at this state (e.g. active)")
    ] = None,
) -> None:
    """Print state changes and NSI notifications as they happen (Ctrl-C to stop)."""
    if until is not None and until.lower() not in STATES:
        fail(f"unknown state {until!r}: use one of {', '.join(STATES)}")

    async def follow(client: NsgwClient) -> None:
        async for event in client.connections.watch(name):
            line = Text(f"{_time(event.time)}  ")
            line.append(simple(event.connection.state))
            if event.HasField("notification"):
                note = event.notification
                line.append(f"  {note.type} #{note.notification_id}: {note.text}")
            console.print(line)
            if until is not None and event.connection.state == STATES[until.lower()]:
                return

    try:
        _run(ctx, follow)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@app.command()
def terminate(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="connections/{id} or the id")],
    request_id: Annotated[str, typer.Option("--request-id")] = "",
) -> None:
    """Terminate a connection for good, showing progress live."""

    async def work(client: NsgwClient) -> operations_pb2.Operation:
        op = await client.connections.terminate(name, request_id=request_id)
        return await _follow_operation(client, op.name)

    _report(_run(ctx, work))
