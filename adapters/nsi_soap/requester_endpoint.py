"""The requester endpoint: the 17 callbacks providers send us, over SOAP.

For each POST: authorise the peer by its certificate DN (00302), read at most
``max_bytes``, parse hardened, check the envelope, the operation (one of the
17), the SOAPAction and the protocolVersion, read the message, and hand it to
the :class:`CallbackHandler` (the gateway's requester service), which
correlates and applies it or raises :class:`NsiError`.  The provider gets an
``acknowledgment``, or a SOAP fault with the serviceException; nothing is
handed on unless every check passed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from adapters.nsi_soap.envelope import build_envelope, new_body
from adapters.nsi_soap.faults import NsiError, build_fault, payload_error
from adapters.nsi_soap.header import build_header
from adapters.nsi_soap.namespaces import (
    CONTENT_TYPE,
    REQUESTER_OPERATIONS,
    REQUESTER_PROTOCOL,
    SOAP_ACTION_BASE,
)
from adapters.nsi_soap.requester_readers import read_requester_message
from adapters.nsi_soap.security import CanonicalDn, PeerPolicy
from adapters.nsi_soap.xmlparse import UnsafeXmlError, XmlLimits
from nsgw_proto.nsi import connection_common_pb2 as common_pb2


class CallbackHandler(Protocol):
    """Applies a provider's callback; raises NsiError to refuse it (nothing changed)."""

    async def handle_callback(
        self, operation: str, message: Any, peer_dn: CanonicalDn | None
    ) -> None: ...


@dataclass
class RequesterEndpointConfig:
    requester_nsa: str = ""
    limits: XmlLimits = field(default_factory=XmlLimits)


def _soap_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, headers={"Content-Type": CONTENT_TYPE})


class RequesterEndpoint:
    """The aiohttp handler of the requester SOAP endpoint."""

    def __init__(
        self,
        handler: CallbackHandler,
        config: RequesterEndpointConfig,
        policy: PeerPolicy,
        on_refusal: Callable[[str, str], None] | None = None,
    ) -> None:
        self._handler = handler
        self._config = config
        self._policy = policy
        self._on_refusal = on_refusal

    async def handle(self, request: web.Request) -> web.Response:
        header: common_pb2.Header | None = None
        try:
            peer = self._policy.authorise_peer(request)
            data = await self._read_body(request)
            try:
                operation, message, _extras = read_requester_message(data, self._config.limits)
            except UnsafeXmlError as exc:
                raise payload_error("Envelope", str(exc)) from None
            header = message.header
            if operation not in REQUESTER_OPERATIONS:
                raise payload_error(f"Body/{operation}", "not a message a provider sends")
            action = (request.headers.get("SOAPAction") or "").strip().strip('"').strip()
            if action and action != SOAP_ACTION_BASE + operation:
                raise payload_error(
                    "SOAPAction", f"'{action}' does not match the body element {operation}"
                )
            if message.header.protocol_version != REQUESTER_PROTOCOL:
                raise NsiError(
                    "00104",
                    f"protocolVersion '{message.header.protocol_version}' "
                    f"(expected {REQUESTER_PROTOCOL})",
                    element="nsiHeader/protocolVersion",
                )
            await self._handler.handle_callback(operation, message, peer)
        except NsiError as error:
            return self._fault(error, header)
        assert header is not None
        reply = build_header(header, protocol_version=REQUESTER_PROTOCOL)
        return _soap_response(build_envelope(reply, new_body("acknowledgment")))

    def _fault(self, error: NsiError, header: common_pb2.Header | None) -> web.Response:
        exception = error.to_proto(self._config.requester_nsa)
        reply = build_header(header, protocol_version=REQUESTER_PROTOCOL) if header else None
        if self._on_refusal is not None:
            self._on_refusal(error.error_id, error.detail)
        return _soap_response(build_fault(exception, header=reply), 500)

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self._config.limits.max_bytes
        if request.content_length is not None and request.content_length > limit:
            raise payload_error("Envelope", f"message larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.content.iter_chunked(65536):
                size += len(chunk)
                if size > limit:
                    raise payload_error("Envelope", f"message larger than {limit} bytes")
                chunks.append(chunk)
        except asyncio.IncompleteReadError:
            raise payload_error("Envelope", "message shorter than its Content-Length") from None
        return b"".join(chunks)


def add_route(app: web.Application, path: str, endpoint: RequesterEndpoint) -> None:
    app.router.add_post(path, endpoint.handle)
