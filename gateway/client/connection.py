"""Connecting to the gateway: target, API token and TLS."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

import grpc

from gateway.client.connections import ConnectionsClient
from gateway.client.operations import OperationsClient


@dataclass(frozen=True)
class TlsOptions:
    """PEM bytes: the CA that signed the server, and the client's certificate for mTLS."""

    ca: bytes | None = None
    cert: bytes | None = None
    key: bytes | None = None
    # Expected server name when it differs from the target host (e.g. tests).
    server_name: str | None = None


class NsgwClient:
    """One channel to the gateway; ``operations`` follows and cancels operations."""

    def __init__(self, target: str, *, token: str | None = None, tls: TlsOptions | None = None):
        self.target = target
        options: list[tuple[str, str | int]] = []
        if tls is None:
            self.channel = grpc.aio.insecure_channel(target)
        else:
            if tls.server_name:
                options.append(("grpc.ssl_target_name_override", tls.server_name))
            credentials = grpc.ssl_channel_credentials(
                root_certificates=tls.ca, private_key=tls.key, certificate_chain=tls.cert
            )
            self.channel = grpc.aio.secure_channel(target, credentials, options=options)
        metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.operations = OperationsClient(self.channel, metadata)
        self.connections = ConnectionsClient(self.channel, metadata)

    def __repr__(self) -> str:  # never shows the token
        return f"NsgwClient({self.target!r})"

    async def close(self) -> None:
        await self.channel.close(None)

    async def __aenter__(self) -> NsgwClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
