"""``nsgw ops``: list, show, watch and cancel operations of a running gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from google.protobuf import json_format
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gateway.cli.api_options import (
    DEFAULT_SERVER,
    CaOption,
    CertOption,
    KeyOption,
    ServerOption,
    TokenOption,
    make_client,
)
from gateway.cli.common import fail
from gateway.client import ApiCallError, NsgwClient
from gateway.client.operations import is_ended
from nsgw_proto.nsgw.v1 import operations_pb2

app = typer.Typer(help="Follow and cancel operations of a running gateway.", no_args_is_help=True)
console = Console()
T = TypeVar("T")

STATE_NAMES = {
    name.removeprefix("OPERATION_STATE_").lower(): value
    for name, value in operations_pb2.OperationState.items()
    if value != operations_pb2.OPERATION_STATE_UNSPECIFIED
}
STATE_STYLES = {
    "pending": "yellow",
    "running": "cyan",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "magenta",
}


def state_name(op: operations_pb2.Operation) -> str:
    return operations_pb2.OperationState.Name(op.state).removeprefix("OPERATION_STATE_").lower()


def _styled_state(op: operations_pb2.Operation) -> Text:
    name = state_name(op)
    return Text(name, style=STATE_STYLES.get(name, ""))


@dataclass(frozen=True)
class _Connection:
    server: str
    token: str | None
    ca: Path | None
    cert: Path | None
    key: Path | None


@app.callback()
def connection(
    ctx: typer.Context,
    *,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    ca: CaOption = None,
    cert: CertOption = None,
    key: KeyOption = None,
) -> None:
    """Where the gateway is and how to authenticate (also from NSGW_API_* variables)."""
    ctx.obj = _Connection(server, token, ca, cert, key)


def _run(ctx: typer.Context, action: Callable[[NsgwClient], Awaitable[T]]) -> T:
    conn: _Connection = ctx.obj

    async def main() -> T:
        async with make_client(conn.server, conn.token, conn.ca, conn.cert, conn.key) as client:
            return await action(client)

    try:
        return asyncio.run(main())
    except ApiCallError as exc:
        report_api_error(exc)


def report_api_error(exc: ApiCallError) -> NoReturn:
    """One line with the status, reason and message, one per field violation; exit 1."""
    reason = f" [{exc.reason}]" if exc.reason else ""
    lines = [f"{exc.code.name}{reason}: {exc.message}"]
    lines += [f"  {field}: {description}" for field, description in exc.field_violations]
    fail("\n".join(lines), code=1)


def _time(stamp: object) -> str:
    from google.protobuf.timestamp_pb2 import Timestamp  # noqa: PLC0415

    if not isinstance(stamp, Timestamp) or not (stamp.seconds or stamp.nanos):
        return ""
    return stamp.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")


def _print_json(op: operations_pb2.Operation) -> None:
    typer.echo(json_format.MessageToJson(op))


@app.command("list")
def list_(
    ctx: typer.Context,
    *,
    state: Annotated[
        list[str] | None,
        typer.Option("--state", help=f"only these states ({', '.join(STATE_NAMES)}); repeatable"),
    ] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="only these kinds")] = None,
    target: Annotated[str, typer.Option("--target", help="only this target")] = "",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="at most this many")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """List operations, newest first."""
    states = []
    for name in state or []:
        if name.lower() not in STATE_NAMES:
            fail(f"unknown state {name!r}: use one of {', '.join(STATE_NAMES)}")
        states.append(STATE_NAMES[name.lower()])

    async def fetch(client: NsgwClient) -> list[operations_pb2.Operation]:
        found: list[operations_pb2.Operation] = []
        async for op in client.operations.list_all(
            states=states, kinds=kind or [], target=target, page_size=min(limit, 100)
        ):
            found.append(op)
            if len(found) >= limit:
                break
        return found

    ops = _run(ctx, fetch)
    if as_json:
        for op in ops:
            typer.echo(json_format.MessageToJson(op, indent=None))
        return
    table = Table("name", "kind", "target", "state", "caller", "created", "ended")
    for op in ops:
        table.add_row(
            op.name,
            op.kind,
            op.target,
            _styled_state(op),
            op.caller,
            _time(op.create_time),
            _time(op.end_time),
        )
    console.print(table)
    if not ops:
        console.print("no operations match")


def _details(op: operations_pb2.Operation) -> Group:
    head = Table.grid(padding=(0, 2))
    head.add_row("name", op.name)
    head.add_row("kind", op.kind)
    head.add_row("target", op.target)
    head.add_row("state", _styled_state(op))
    head.add_row("caller", op.caller)
    head.add_row("request id", op.request_id)
    head.add_row("created", _time(op.create_time))
    if op.HasField("end_time"):
        head.add_row("ended", _time(op.end_time))
    if op.HasField("error"):
        head.add_row("error", f"[{op.error.reason}] {op.error.message}")
    which = op.WhichOneof("result")
    if which:
        result = json_format.MessageToJson(getattr(op, which), indent=2)
        head.add_row(f"result ({which})", result)
    progress = Table("#", "time", "progress", box=None)
    for item in op.progress:
        progress.add_row(str(item.index), _time(item.time), item.message)
    return Group(head, progress)


@app.command()
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="operations/{id} or the id")],
    as_json: Annotated[bool, typer.Option("--json", help="the Operation as JSON")] = False,
) -> None:
    """Show one operation with its progress, result or error."""
    op = _run(ctx, lambda client: client.operations.get(name))
    if as_json:
        _print_json(op)
    else:
        console.print(_details(op))


async def follow_operation(
    client: NsgwClient, name: str, from_index: int = 0
) -> operations_pb2.Operation:
    """Show an operation live, from progress message ``from_index``, until it ends."""
    latest = await client.operations.get(name)
    latest.ClearField("progress")
    with Live(_details(latest), console=console, refresh_per_second=8, transient=False) as live:
        async for update in client.operations.watch(name, from_index):
            if update.HasField("progress"):
                latest.progress.append(update.progress)
            else:
                progress = list(latest.progress)
                latest.CopyFrom(update.operation)
                latest.ClearField("progress")
                latest.progress.extend(progress)
            live.update(_details(latest))
    if not console.is_terminal:
        console.line()  # Live leaves its last frame without a line end when not on a terminal
    return latest


@app.command()
def watch(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="operations/{id} or the id")],
    from_index: Annotated[
        int, typer.Option("--from", min=0, help="first progress message to show")
    ] = 0,
) -> None:
    """Follow an operation live until it ends; exit 0 when it succeeded, 1 otherwise."""

    final = _run(ctx, lambda client: follow_operation(client, name, from_index))
    if not is_ended(final) or final.state != operations_pb2.OPERATION_STATE_SUCCEEDED:
        raise typer.Exit(1)


@app.command()
def cancel(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="operations/{id} or the id")],
) -> None:
    """Ask an operation to stop (it ends CANCELLED)."""
    op = _run(ctx, lambda client: client.operations.cancel(name))
    console.print(f"{op.name}: cancel requested ({state_name(op)})")
