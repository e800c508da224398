"""The NSI providers nsgw reserves at: configured peers plus this domain's own provider.

This domain is reached like any peer: its NSA id is ours and its provider URL
is our own SOAP provider endpoint (registered automatically unless
``nsi_peers`` lists our NSA id or ``requester_self_peer`` is off).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

import httpx

from adapters.nsi_soap.requester_client import PeerEndpoint
from adapters.nsi_soap.security import client_ssl_context
from gateway.config import Settings
from gateway.requester.peer_settings import NsiPeer


class UnknownPeerError(LookupError):
    def __init__(self, nsa_id: str, known: list[str]) -> None:
        super().__init__(
            f"no NSI provider {nsa_id!r} is configured (known: {', '.join(known) or 'none'})"
        )
        self.nsa_id = nsa_id


def our_nsa_id(settings: Settings) -> str:
    """The NSA id we act as: requester_nsa_id, else this domain's nsa_id."""
    return settings.requester_nsa_id or settings.nsa_id


def _loopback(host: str) -> str:
    if host in ("0.0.0.0", ""):  # noqa: S104 (comparing, not binding)
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def own_base_url(settings: Settings, port: int) -> str:
    scheme = "https" if settings.soap_tls_cert is not None else "http"
    host = _loopback(settings.http_host)
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


@dataclass
class Peer:
    config: NsiPeer
    is_self: bool = False
    _http: httpx.AsyncClient | None = field(default=None, repr=False)

    @property
    def nsa_id(self) -> str:
        return self.config.nsa_id

    @property
    def endpoint(self) -> PeerEndpoint:
        return PeerEndpoint(
            provider_nsa=self.config.nsa_id,
            url=self.config.provider_url,
            timeout=self.config.timeout,
            retries=self.config.retries,
        )

    def tls(self) -> ssl.SSLContext | bool:
        if self.config.ca_file is None and self.config.client_cert is None:
            return True
        return client_ssl_context(
            self.config.ca_file, self.config.client_cert, self.config.client_key
        )

    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(verify=self.tls(), follow_redirects=False)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


class PeerRegistry:
    """Peers by NSA id."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.own_nsa = our_nsa_id(settings)
        self._peers: dict[str, Peer] = {}
        for config in settings.nsi_peers:
            if config.nsa_id in self._peers:
                raise ValueError(f"nsi_peers lists {config.nsa_id} twice")
            self._peers[config.nsa_id] = Peer(config, is_self=config.nsa_id == self.own_nsa)
        self._auto_self = settings.requester_self_peer and self.own_nsa not in self._peers
        self.bind_http_port(settings.http_port)

    def bind_http_port(self, port: int) -> None:
        """Our own provider endpoint's URL, once the HTTP port is known."""
        if not self._auto_self:
            return
        settings = self._settings
        url = own_base_url(settings, port) + settings.soap_provider_path
        config = NsiPeer(
            nsa_id=self.own_nsa, provider_url=url, timeout=settings.soap_grpc_deadline + 5
        )
        self._peers[self.own_nsa] = Peer(config, is_self=True)

    def reply_to(self, port: int) -> str:
        settings = self._settings
        if settings.requester_reply_to:
            return settings.requester_reply_to
        return own_base_url(settings, port) + settings.soap_requester_path

    def get(self, nsa_id: str) -> Peer:
        peer = self._peers.get(nsa_id)
        if peer is None:
            raise UnknownPeerError(nsa_id, sorted(self._peers))
        return peer

    def all(self) -> list[Peer]:
        return [self._peers[key] for key in sorted(self._peers)]

    def confirm_timeout(self, nsa_id: str) -> float:
        peer = self._peers.get(nsa_id)
        if peer is not None and peer.config.confirm_timeout is not None:
            return peer.config.confirm_timeout
        return self._settings.requester_confirm_timeout

    async def close(self) -> None:
        for peer in self._peers.values():
            await peer.close()
