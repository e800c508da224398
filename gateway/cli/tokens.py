"""``nsgw tokens``: prepare API tokens for the ``api_tokens`` setting."""

from __future__ import annotations

import sys

import typer

from gateway.access.tokens import hash_token
from gateway.cli.common import fail

app = typer.Typer(help="Prepare API tokens.", no_args_is_help=True)


@app.command("hash")
def hash_(
    name: str = typer.Option("", "--name", help="print a ready api_tokens entry with this name"),
) -> None:
    """Read a token from stdin and print its SHA-256 (what api_tokens stores)."""
    token = sys.stdin.readline().strip()
    if not token:
        fail("no token on stdin: e.g. `openssl rand -hex 32 | tee token | nsgw tokens hash`")
    if len(token) < 16:
        fail("the token is too short: use at least 16 characters (32 random bytes recommended)")
    digest = hash_token(token)
    if name:
        typer.echo(f'{{ name = "{name}", sha256 = "{digest}" }}')
    else:
        typer.echo(digest)
