"""Who may call the provider endpoint: mutual TLS and subject DN allow-lists.

The peer's subject DN comes from its verified TLS client certificate, or,
behind a trusted ingress that terminates TLS, from a header that ingress
sets.  DNs are compared as RFC 4514 names: attribute types by OID, values
case-insensitively with insignificant spaces removed, RDN order significant.
A DN may further be bound to the requesterNSA ids it may claim.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from cryptography import x509

from adapters.nsi_soap.distinguished_names import (
    CanonicalDn,
    InvalidDnError,
    canonical_dn,
    canonical_name,
)
from adapters.nsi_soap.faults import unauthorized

__all__ = ["CanonicalDn", "InvalidDnError", "PeerPolicy", "canonical_dn", "canonical_name"]


def server_ssl_context(
    cert: Path, key: Path, client_ca: Path | None, password: str | None = None
) -> ssl.SSLContext:
    """TLS for the HTTP server; with ``client_ca`` clients may present certificates.

    Client certificates are optional at the TLS layer so that a peer without
    one gets an NSI 00302 fault it can read, rather than a failed handshake.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key, password=password or None)
    if client_ca is not None:
        context.load_verify_locations(cafile=str(client_ca))
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def client_ssl_context(
    ca: Path | None, cert: Path | None = None, key: Path | None = None
) -> ssl.SSLContext:
    """TLS for outbound callbacks, with a client certificate when given."""
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


def peer_dn_from_tls(request: web.Request) -> str | None:
    """The RFC 4514 subject DN of the verified client certificate, if any."""
    transport = request.transport
    if transport is None:
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    return x509.load_der_x509_certificate(der).subject.rfc4514_string()


@dataclass
class PeerPolicy:
    """The allow-list and NSA bindings; empty allow-list and no TLS: open (loopback default)."""

    allowed_dns: Iterable[str] = ()
    dn_header: str = ""
    nsa_bindings: Mapping[str, Iterable[str]] = field(default_factory=dict)
    require_certificate: bool = False

    def __post_init__(self) -> None:
        self._allowed = {canonical_dn(dn) for dn in self.allowed_dns}
        self._bindings = {
            canonical_dn(dn): frozenset(nsas) for dn, nsas in self.nsa_bindings.items()
        }

    @property
    def enforced(self) -> bool:
        return bool(self._allowed or self._bindings or self.require_certificate or self.dn_header)

    def peer_dn(self, request: web.Request) -> str | None:
        if self.dn_header:
            return request.headers.get(self.dn_header) or None
        return peer_dn_from_tls(request)

    def authorise_peer(self, request: web.Request) -> CanonicalDn | None:
        """The caller's canonical DN, or NsiError 00302; None when nothing is enforced."""
        if not self.enforced:
            return None
        dn = self.peer_dn(request)
        if dn is None:
            raise unauthorized("no client certificate presented")
        try:
            canonical = canonical_dn(dn)
        except InvalidDnError:
            raise unauthorized("the client's distinguished name cannot be read") from None
        if self._allowed and canonical not in self._allowed:
            raise unauthorized(f"subject '{dn}' is not allowed")
        return canonical

    def authorise_nsa(self, dn: CanonicalDn | None, requester_nsa: str) -> None:
        """00302 if ``dn`` is bound to NSA ids and ``requester_nsa`` is not one of them."""
        if dn is None or not self._bindings:
            return
        allowed = self._bindings.get(dn)
        if allowed is None:  # this DN is not bound: any requesterNSA
            return
        if requester_nsa not in allowed:
            raise unauthorized(f"requesterNSA '{requester_nsa}' is not bound to this certificate")
