"""TLS and mutual TLS for the gRPC port."""

from __future__ import annotations

from pathlib import Path

import grpc

from gateway.config import ConfigError, Settings


def _read(path: Path, setting: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror}") from None


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials for the gRPC server, or None for plaintext (nothing configured).

    With ``grpc_tls_client_ca`` set, clients must present a certificate signed
    by that CA (mutual TLS).
    """
    cert, key, client_ca = (
        settings.grpc_tls_cert,
        settings.grpc_tls_key,
        settings.grpc_tls_client_ca,
    )
    if cert is None and key is None:
        if client_ca is not None:
            raise ConfigError("grpc_tls_client_ca needs grpc_tls_cert and grpc_tls_key")
        return None
    if cert is None or key is None:
        raise ConfigError("grpc_tls_cert and grpc_tls_key must be set together")
    pair = (_read(key, "grpc_tls_key"), _read(cert, "grpc_tls_cert"))
    if client_ca is None:
        return grpc.ssl_server_credentials([pair])
    return grpc.ssl_server_credentials(
        [pair],
        root_certificates=_read(client_ca, "grpc_tls_client_ca"),
        require_client_auth=True,
    )
