"""``nsgw config``: inspect the effective configuration."""

from __future__ import annotations

import json

import typer

from gateway.cli.common import ConfigOption, settings_or_exit
from gateway.config import masked_items

app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)


@app.command("show")
def show(config: ConfigOption = None) -> None:
    """Print the effective settings (defaults, config file, NSGW_* variables), secrets masked."""
    settings = settings_or_exit(config)
    for name, value in masked_items(settings):
        typer.echo(f"{name} = {json.dumps(value)}")
