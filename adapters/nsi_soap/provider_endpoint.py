"""The provider endpoint: NSI provider operations over SOAP -> ConnectionProvider gRPC.

For each POST: authorise the peer (00302), read at most ``max_bytes``, parse
hardened, check envelope, operation and SOAPAction, read the nsiHeader,
check the requesterNSA binding, translate, call the ConnectionProvider with
a deadline, and answer the synchronous reply or a SOAP fault carrying the
serviceException.  Nothing is forwarded unless every check passed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from adapters.nsi_soap.envelope import open_envelope
from adapters.nsi_soap.faults import NsiError, build_fault, internal_error, payload_error
from adapters.nsi_soap.header import HeaderExtras, build_header, read_header
from adapters.nsi_soap.namespaces import (
    CONTENT_TYPE,
    PROVIDER_OPERATIONS,
    PROVIDER_PROTOCOL,
    REQUESTER_PROTOCOL,
    SOAP_ACTION_BASE,
)
from adapters.nsi_soap.provider_messages import (
    GRPC_METHODS,
    SYNC_OPERATIONS,
    build_acknowledgment,
    build_reserve_response,
    build_sync_reply,
    read_provider_request,
)
from adapters.nsi_soap.provider_target import ConnectionProvider, ProviderFailed
from adapters.nsi_soap.requester_service import RequestMemory
from adapters.nsi_soap.security import CanonicalDn, PeerPolicy
from adapters.nsi_soap.xmlparse import UnsafeXmlError, XmlLimits, parse_document
from nsgw_proto.nsi import connection_common_pb2 as common_pb2


@dataclass
class EndpointConfig:
    provider_nsa: str = ""
    deadline: float = 10.0
    limits: XmlLimits = field(default_factory=XmlLimits)


class _Refusal(Exception):
    def __init__(self, error: NsiError, header: common_pb2.Header | None, sync: bool) -> None:
        super().__init__(error.text)
        self.error, self.header, self.sync = error, header, sync


def _soap_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, headers={"Content-Type": CONTENT_TYPE})


def _requested_action(request: web.Request) -> str | None:
    raw = request.headers.get("SOAPAction")
    if raw is None:
        return None
    return raw.strip().strip('"').strip()


class ProviderEndpoint:
    """The aiohttp handler of the provider SOAP endpoint."""

    def __init__(
        self,
        provider: ConnectionProvider,
        config: EndpointConfig,
        policy: PeerPolicy,
        memory: RequestMemory,
        on_refusal: Callable[[str, str], None] | None = None,
    ) -> None:
        self.provider = provider
        self._config = config
        self._policy = policy
        self._memory = memory
        self._on_refusal = on_refusal

    async def handle(self, request: web.Request) -> web.Response:
        try:
            return await self._handle(request)
        except _Refusal as refusal:
            return self._fault(refusal)

    def _fault(self, refusal: _Refusal) -> web.Response:
        header = refusal.header
        nsa_id = self._config.provider_nsa or (header.provider_nsa if header else "")
        exception = refusal.error.to_proto(nsa_id)
        reply_header = build_header(header, protocol_version=REQUESTER_PROTOCOL) if header else None
        if self._on_refusal is not None:
            self._on_refusal(refusal.error.error_id, refusal.error.detail)
        return _soap_response(build_fault(exception, header=reply_header, sync=refusal.sync), 500)

    async def _read_body(self, request: web.Request, sync: bool) -> bytes:
        limit = self._config.limits.max_bytes
        if request.content_length is not None:
            if request.content_length > limit:
                raise _Refusal(
                    payload_error("Envelope", f"message larger than {limit} bytes"), None, sync
                )
            try:
                return await request.content.readexactly(request.content_length)
            except asyncio.IncompleteReadError:
                raise _Refusal(
                    payload_error("Envelope", "message shorter than its Content-Length"),
                    None,
                    sync,
                ) from None
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_chunked(65536):
            size += len(chunk)
            if size > limit:
                raise _Refusal(
                    payload_error("Envelope", f"message larger than {limit} bytes"), None, sync
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def _handle(self, request: web.Request) -> web.Response:
        action = _requested_action(request)
        hinted_sync = (
            action is not None and action.removeprefix(SOAP_ACTION_BASE) in SYNC_OPERATIONS
        )
        try:
            peer = self._policy.authorise_peer(request)
        except NsiError as error:
            raise _Refusal(error, None, hinted_sync) from None
        data = await self._read_body(request, hinted_sync)
        header: common_pb2.Header | None = None
        sync = hinted_sync
        try:
            try:
                root = parse_document(data, self._config.limits)
            except UnsafeXmlError as exc:
                raise payload_error("Envelope", str(exc)) from None
            message = open_envelope(root)
            operation = message.operation
            if operation not in PROVIDER_OPERATIONS:
                raise payload_error(f"Body/{operation}", "not an NSI provider operation")
            sync = operation in SYNC_OPERATIONS
            if action and action != SOAP_ACTION_BASE + operation:
                raise payload_error(
                    "SOAPAction", f"'{action}' does not match the body element {operation}"
                )
            header, extras = read_header(message.header)
            if header.protocol_version != PROVIDER_PROTOCOL:
                raise NsiError(
                    "00104",
                    f"protocolVersion '{header.protocol_version}' (expected {PROVIDER_PROTOCOL})",
                    element="nsiHeader/protocolVersion",
                )
            self._authorise_nsa(peer, header)
            grpc_request = read_provider_request(message.body, header)
        except NsiError as error:
            raise _Refusal(error, header, sync) from None
        try:
            await self._memory.keep(header.correlation_id, header.reply_to, extras)
        except Exception:  # storage is the gateway's (it logs); refuse, forward nothing
            raise _Refusal(
                internal_error("the request could not be recorded"), header, sync
            ) from None
        reply = await self._call(operation, grpc_request, header, sync)
        try:
            return self._reply(operation, header, extras, reply, sync)
        except (ValueError, NsiError) as exc:  # the provider's answer cannot be expressed
            detail = exc.detail if isinstance(exc, NsiError) else str(exc)
            refusal = internal_error(f"the provider's reply cannot be sent: {detail}")
            raise _Refusal(refusal, header, sync) from None

    def _authorise_nsa(self, peer: CanonicalDn | None, header: common_pb2.Header) -> None:
        self._policy.authorise_nsa(peer, header.requester_nsa)

    async def _call(
        self, operation: str, grpc_request: Any, header: common_pb2.Header, sync: bool
    ) -> Any:
        deadline = self._config.deadline
        try:
            return await self.provider.call(GRPC_METHODS[operation], grpc_request, deadline)
        except ProviderFailed as exc:
            if exc.timed_out:
                detail = f"the provider did not answer {operation} within {deadline}s"
            else:
                detail = f"the provider failed {operation}: {exc.detail}"
            raise _Refusal(internal_error(detail), header, sync) from None

    def _reply(
        self,
        operation: str,
        header: common_pb2.Header,
        extras: HeaderExtras,
        reply: Any,
        sync: bool,
    ) -> web.Response:
        if sync:
            return _soap_response(build_sync_reply(operation, header, reply, extras))
        if reply.HasField("service_exception") and reply.service_exception.error_id:
            exception = reply.service_exception
            if not exception.nsa_id:
                exception.nsa_id = self._config.provider_nsa or header.provider_nsa
            reply_header = build_header(header, extras, protocol_version=REQUESTER_PROTOCOL)
            return _soap_response(build_fault(exception, header=reply_header), 500)
        if operation == "reserve":
            return _soap_response(build_reserve_response(header, reply.connection_id, extras))
        return _soap_response(build_acknowledgment(header, extras))


def add_route(app: web.Application, path: str, endpoint: ProviderEndpoint) -> None:
    app.router.add_post(path, endpoint.handle)
