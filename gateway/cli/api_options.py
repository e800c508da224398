"""Options shared by the commands that call the nsgw.v1 API (``nsgw ops``...)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import fail
from gateway.client import NsgwClient, TlsOptions

ServerOption = Annotated[
    str,
    typer.Option(
        "--server", "-s", envvar="NSGW_API_SERVER", help="gateway gRPC address (host:port)"
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="NSGW_API_TOKEN",
        help="API token (prefer the NSGW_API_TOKEN variable: options show in ps)",
        show_default=False,
    ),
]
CaOption = Annotated[
    Path | None,
    typer.Option(
        "--ca", envvar="NSGW_API_CA", help="PEM CA of the gateway: use TLS", dir_okay=False
    ),
]
CertOption = Annotated[
    Path | None,
    typer.Option(
        "--cert", envvar="NSGW_API_CERT", help="PEM client certificate (mTLS)", dir_okay=False
    ),
]
KeyOption = Annotated[
    Path | None,
    typer.Option("--key", envvar="NSGW_API_KEY", help="PEM client key (mTLS)", dir_okay=False),
]
DEFAULT_SERVER = "127.0.0.1:50051"


def _read(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"cannot read the {what} {path}: {exc.strerror}")


def make_client(
    server: str, token: str | None, ca: Path | None, cert: Path | None, key: Path | None
) -> NsgwClient:
    if (cert is None) != (key is None):
        fail("--cert and --key go together")
    tls = None
    if ca is not None or cert is not None:
        tls = TlsOptions(
            ca=_read(ca, "CA file"),
            cert=_read(cert, "certificate"),
            key=_read(key, "key"),
        )
    return NsgwClient(server, token=token, tls=tls)
