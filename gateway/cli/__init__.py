"""The ``nsgw`` command line."""

from __future__ import annotations

import typer

from gateway.cli.config_cmd import app as config_app
from gateway.cli.reservations import app as reservations_app
from gateway.cli.serve import serve
from gateway.cli.stp import app as stp_app

app = typer.Typer(
    name="nsgw",
    help="nsgw: network service integration gateway (gRPC API, NSO adapter, NSI proxy and agent).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(serve)
app.add_typer(config_app, name="config")
app.add_typer(stp_app, name="stp")
app.add_typer(reservations_app, name="reservations")


def main() -> None:
    app()
