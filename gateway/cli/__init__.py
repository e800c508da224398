"""The ``nsgw`` command line."""

from __future__ import annotations

import typer

from gateway.cli.config_cmd import app as config_app
from gateway.cli.connections import app as connections_app
from gateway.cli.nsi_soap_cmd import app as nsi_soap_app
from gateway.cli.nso import app as nso_app
from gateway.cli.nso_sim import nso_sim
from gateway.cli.ops import app as ops_app
from gateway.cli.peers import app as peers_app
from gateway.cli.reservations import app as reservations_app
from gateway.cli.serve import serve
from gateway.cli.stp import app as stp_app
from gateway.cli.tokens import app as tokens_app

app = typer.Typer(
    name="nsgw",
    help="nsgw: network service integration gateway (gRPC API, NSO adapter, NSI proxy and agent).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(serve)
app.add_typer(config_app, name="config")
app.add_typer(nsi_soap_app, name="nsi-soap")
app.add_typer(nso_app, name="nso")
app.command("nso-sim")(nso_sim)
app.add_typer(ops_app, name="ops")
app.add_typer(connections_app, name="connections")
app.add_typer(peers_app, name="peers")
app.add_typer(tokens_app, name="tokens")
app.add_typer(stp_app, name="stp")
app.add_typer(reservations_app, name="reservations")


def main() -> None:
    app()
