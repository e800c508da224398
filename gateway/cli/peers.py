"""``nsgw peers``: the NSI providers this gateway reserves at, and a check of one."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from adapters.nsi_soap.requester_client import (
    ProviderFault,
    RequesterClient,
    RequesterClientError,
)
from gateway.cli.common import ConfigOption, fail, settings_or_exit
from gateway.requester.peers import PeerRegistry, UnknownPeerError
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2

app = typer.Typer(help="NSI providers (peers) of the requester.", no_args_is_help=True)
console = Console()


@app.command("list")
def list_(config: ConfigOption = None) -> None:
    """The configured peers, this domain's own provider included."""
    registry = PeerRegistry(settings_or_exit(config))
    table = Table("NSA id", "provider URL", "TLS", "timeout", "retries", "callbacks from")
    for peer in registry.all():
        cfg = peer.config
        tls = "client cert" if cfg.client_cert else ("CA" if cfg.ca_file else "")
        name = f"{peer.nsa_id} (this domain)" if peer.is_self else peer.nsa_id
        table.add_row(
            name, cfg.provider_url, tls, f"{cfg.timeout:g}s", str(cfg.retries),
            cfg.callback_dn or "any",
        )  # fmt: skip
    console.print(table)


@app.command()
def check(
    nsa_id: Annotated[str, typer.Argument(help="the peer's NSA id")],
    config: ConfigOption = None,
) -> None:
    """Reach the peer (TLS included) and ask querySummarySync; exit 1 if that fails."""
    settings = settings_or_exit(config)
    registry = PeerRegistry(settings)
    try:
        peer = registry.get(nsa_id)
    except UnknownPeerError as exc:
        fail(str(exc))

    async def ask() -> int:
        try:
            client = RequesterClient(
                registry.own_nsa, registry.reply_to(settings.http_port), peer.http()
            )
            reply = await client.call(
                peer.endpoint, "querySummarySync", provider_pb2.QueryRequest()
            )
        finally:
            await registry.close()
        return len(reply.body.reservation)

    try:
        count = asyncio.run(ask())
    except ProviderFault as exc:
        # It answered in NSI: reachable, but refused us (e.g. 00302).
        console.print(f"[yellow]{nsa_id} answered with a fault[/]: {exc}", highlight=False)
        raise typer.Exit(1) from None
    except (RequesterClientError, OSError) as exc:
        console.print(f"[red]{nsa_id} unreachable[/]: {exc}", highlight=False)
        raise typer.Exit(1) from None
    console.print(
        f"[green]{nsa_id} OK[/]: querySummarySync answered at {peer.config.provider_url} "
        f"({count} reservation(s) of ours)",
        highlight=False,
    )
