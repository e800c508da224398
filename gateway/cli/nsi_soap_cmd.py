"""``nsgw nsi-soap``: helpers for setting up the NSI SOAP proxy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509

from adapters.nsi_soap.security import canonical_dn, canonical_name
from gateway.cli.common import ConfigOption, fail, settings_or_exit

app = typer.Typer(help="NSI SOAP proxy set-up helpers.", no_args_is_help=True)


@app.command("dn")
def subject_dn(
    certificate: Annotated[
        Path, typer.Argument(help="PEM certificate of a peer NSA", dir_okay=False)
    ],
    config: ConfigOption = None,
) -> None:
    """Print a certificate's subject DN (RFC 4514) and whether soap_allowed_dns admits it."""
    try:
        cert = x509.load_pem_x509_certificate(certificate.read_bytes())
    except FileNotFoundError:
        fail(f"{certificate} does not exist")
    except ValueError:
        fail(f"{certificate} is not a PEM certificate")
    settings = settings_or_exit(config)
    typer.echo(cert.subject.rfc4514_string())
    allowed = {canonical_dn(dn) for dn in settings.soap_allowed_dns}
    if not allowed:
        typer.echo("soap_allowed_dns is empty: any verified client certificate is accepted")
    elif canonical_name(cert.subject) in allowed:
        typer.echo("allowed by soap_allowed_dns")
    else:
        typer.echo("NOT in soap_allowed_dns")
