"""``nsgw config``: inspect the effective configuration."""

from __future__ import annotations

import tomli_w
import typer

from gateway.cli.common import ConfigOption, settings_or_exit
from gateway.config import masked_items

app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)


@app.command("show")
def show(config: ConfigOption = None) -> None:
    """Print the effective settings as TOML (usable as a config file), secrets masked."""
    settings = settings_or_exit(config)
    items = masked_items(settings)
    for name, value in items:
        if value is None:
            typer.echo(f"# {name} is not set")
    typer.echo(tomli_w.dumps({name: value for name, value in items if value is not None}))
