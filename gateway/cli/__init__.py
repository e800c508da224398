"""The ``nsgw`` command line.

Each sub-command lives in a module of its own.  ``nsgw NAME ...`` imports
only the module of NAME, so ``nsgw ops list`` does not pay for loading the
agent, the SOAP proxy and the NSO simulator; the full command set is built
for help, for an unknown name, and for ``gateway.cli.app``.
"""

from __future__ import annotations

import importlib
import sys

import typer

HELP = "nsgw: network service integration gateway (gRPC API, NSO adapter, NSI proxy and agent)."

# name -> (module, attribute): a typer.Typer of sub-commands, or the function of one command.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("gateway.cli.serve", "serve"),
    "call": ("gateway.cli.call", "call"),
    "config": ("gateway.cli.config_cmd", "app"),
    "nsi-soap": ("gateway.cli.nsi_soap_cmd", "app"),
    "nso": ("gateway.cli.nso", "app"),
    "nso-sim": ("gateway.cli.nso_sim", "nso_sim"),
    "ops": ("gateway.cli.ops", "app"),
    "connections": ("gateway.cli.connections", "app"),
    "peers": ("gateway.cli.peers", "app"),
    "tokens": ("gateway.cli.tokens", "app"),
    "stp": ("gateway.cli.stp", "app"),
    "reservations": ("gateway.cli.reservations", "app"),
}


def _root() -> None:
    """nsgw: network service integration gateway (gRPC API, NSO adapter, NSI proxy and agent)."""


def build_app(only: str | None = None) -> typer.Typer:
    """The command line with every sub-command, or with ``only`` that one."""
    app = typer.Typer(
        name="nsgw",
        help=HELP,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    # A callback keeps the app a group even with one sub-command loaded.
    app.callback()(_root)
    for name, (module, attribute) in COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(importlib.import_module(module), attribute)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)
    return app


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    first = sys.argv[1] if len(sys.argv) > 1 else None
    build_app(first if first in COMMANDS else None)()
