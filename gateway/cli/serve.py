"""``nsgw serve``: run the gateway process."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from gateway.assembly import build_components
from gateway.cli.common import ConfigOption, fail, settings_or_exit
from gateway.config import ConfigError
from gateway.logs import configure_logging
from gateway.process import Gateway


def serve(
    config: ConfigOption = None,
    log_format: Annotated[str | None, typer.Option("--log-format", help="console or json")] = None,
    grpc_port: Annotated[int | None, typer.Option(help="gRPC port")] = None,
    http_port: Annotated[int | None, typer.Option(help="HTTP port")] = None,
) -> None:
    """Serve the gRPC API and the HTTP endpoints until SIGINT or SIGTERM."""
    settings = settings_or_exit(
        config, log_format=log_format, grpc_port=grpc_port, http_port=http_port
    )
    configure_logging(settings.log_format, settings.log_level)
    try:
        gateway = Gateway(settings, build_components(settings))
        asyncio.run(gateway.run())
    except OSError as exc:
        fail(f"cannot start: {exc}", code=1)
    except ConfigError as exc:
        fail(str(exc))
