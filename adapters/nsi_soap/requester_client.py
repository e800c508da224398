"""The requester's SOAP client: the 13 provider operations sent to one NSI provider.

Every request carries a correct nsiHeader: a fresh correlationId (unless the
caller re-sends an earlier request, which keeps its correlationId, as NSI
requires), our requesterNSA, the peer's providerNSA and, on original
requests, replyTo = our requester endpoint.  A request that did not reach the
provider, timed out or met a 5xx without a SOAP fault is re-sent byte for
byte (same correlationId) until ``retries`` run out; a SOAP fault becomes a
:class:`ProviderFault` carrying the peer's serviceException.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from google.protobuf.message import Message as ProtoMessage
from lxml import etree

from adapters.nsi_soap.elements import local_name
from adapters.nsi_soap.envelope import open_envelope
from adapters.nsi_soap.faults import NsiError, read_service_exception
from adapters.nsi_soap.namespaces import (
    CONNECTION_TYPES,
    CONTENT_TYPE,
    PROVIDER_OPERATIONS,
    SOAP_ENV,
    qname,
    soap_action,
)
from adapters.nsi_soap.provider_messages import SYNC_OPERATIONS, build_provider_request
from adapters.nsi_soap.requester_readers import READERS
from adapters.nsi_soap.xmlparse import DEFAULT_LIMITS, UnsafeXmlError, XmlLimits, parse_document
from nsgw_proto.nsi import connection_common_pb2 as common_pb2


def new_correlation_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


class RequesterClientError(Exception):
    """A provider request that did not get a usable answer."""


class ProviderUnreachableError(RequesterClientError):
    """No answer (connection refused, timeout, 5xx without a fault) after every retry."""


class BadReplyError(RequesterClientError):
    """The provider answered something that is not the reply the operation needs."""


class ProviderFault(RequesterClientError):
    """The provider refused the request with a SOAP fault carrying a serviceException."""

    def __init__(self, operation: str, exception: common_pb2.ServiceException) -> None:
        self.operation = operation
        self.exception = exception
        super().__init__(
            f"{operation} refused by {exception.nsa_id or 'the provider'}: "
            f"{exception.error_id} {exception.text}".strip()
        )

    @property
    def error_id(self) -> str:
        return self.exception.error_id


@dataclass(frozen=True)
class PeerEndpoint:
    """Where and how to reach one provider."""

    provider_nsa: str
    url: str
    timeout: float = 30.0
    retries: int = 2
    retry_delay: float = 0.5


@dataclass(frozen=True)
class PreparedRequest:
    """An encoded request: kept so that a re-send is the same bytes, same correlationId."""

    operation: str
    correlation_id: str
    payload: bytes


@dataclass(frozen=True)
class Reply:
    """The synchronous answer: the connectionId of a reserveResponse, or a *Sync body."""

    operation: str
    correlation_id: str
    connection_id: str = ""
    body: Any = None


class RequesterClient:
    """Builds and sends provider requests for one requester NSA."""

    def __init__(
        self,
        requester_nsa: str,
        reply_to: str,
        http: httpx.AsyncClient,
        limits: XmlLimits = DEFAULT_LIMITS,
    ) -> None:
        self.requester_nsa = requester_nsa
        self.reply_to = reply_to
        self._http = http
        self._limits = limits

    def prepare(
        self,
        peer: PeerEndpoint,
        operation: str,
        request: ProtoMessage,
        correlation_id: str | None = None,
    ) -> PreparedRequest:
        """Encode ``request`` (its header is filled here) for ``peer``."""
        if operation not in PROVIDER_OPERATIONS:
            raise ValueError(f"{operation} is not an NSI provider operation")
        correlation_id = correlation_id or new_correlation_id()
        header: common_pb2.Header = request.header  # type: ignore[attr-defined]
        header.Clear()
        header.correlation_id = correlation_id
        header.requester_nsa = self.requester_nsa
        header.provider_nsa = peer.provider_nsa
        if operation not in SYNC_OPERATIONS:
            header.reply_to = self.reply_to
        return PreparedRequest(
            operation, correlation_id, build_provider_request(operation, request)
        )

    async def send(self, peer: PeerEndpoint, prepared: PreparedRequest) -> Reply:
        """POST ``prepared`` to the peer (re-sent unchanged on transport failures)."""
        headers = {"Content-Type": CONTENT_TYPE, "SOAPAction": soap_action(prepared.operation)}
        problem = ""
        for attempt in range(peer.retries + 1):
            if attempt:
                await asyncio.sleep(peer.retry_delay * attempt)
            try:
                response = await self._http.post(
                    peer.url, content=prepared.payload, headers=headers, timeout=peer.timeout
                )
            except httpx.TimeoutException:
                problem = f"no answer within {peer.timeout}s"
                continue
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code >= 500 and not _looks_like_fault(response.content):
                problem = f"HTTP {response.status_code}"
                continue
            return self._read_reply(prepared, response)
        raise ProviderUnreachableError(
            f"{prepared.operation} to {peer.provider_nsa} ({peer.url}) failed after "
            f"{peer.retries + 1} attempt(s): {problem}"
        )

    async def call(self, peer: PeerEndpoint, operation: str, request: ProtoMessage) -> Reply:
        """Prepare and send in one step (a fresh correlationId)."""
        return await self.send(peer, self.prepare(peer, operation, request))

    def _read_reply(self, prepared: PreparedRequest, response: httpx.Response) -> Reply:
        operation = prepared.operation
        try:
            root = parse_document(response.content, self._limits)
        except UnsafeXmlError as exc:
            raise BadReplyError(f"{operation}: the reply is not usable XML: {exc}") from None
        except etree.XMLSyntaxError as exc:
            raise BadReplyError(f"{operation}: the reply is not XML: {exc}") from None
        fault = root.find(f"{qname(SOAP_ENV, 'Body')}/{qname(SOAP_ENV, 'Fault')}")
        if fault is not None:
            raise ProviderFault(operation, _fault_exception(fault))
        if response.status_code != 200:
            raise BadReplyError(f"{operation}: HTTP {response.status_code} without a SOAP fault")
        try:
            message = open_envelope(root)
        except NsiError as exc:
            raise BadReplyError(f"{operation}: {exc.detail}") from None
        name = message.operation
        if operation == "reserve":
            if name != "reserveResponse":
                raise BadReplyError(f"reserve answered with {name}, not reserveResponse")
            found = message.body.find("connectionId")
            connection_id = (found.text or "").strip() if found is not None else ""
            if not connection_id:
                raise BadReplyError("reserveResponse without a connectionId")
            return Reply(operation, prepared.correlation_id, connection_id=connection_id)
        if operation in SYNC_OPERATIONS:
            if name != f"{operation}Confirmed":
                raise BadReplyError(f"{operation} answered with {name}")
            try:
                body = READERS[name](message.body)
            except NsiError as exc:
                raise BadReplyError(f"{operation}: {exc.detail}") from None
            return Reply(operation, prepared.correlation_id, body=body)
        if name != "acknowledgment":
            raise BadReplyError(f"{operation} answered with {name}, not acknowledgment")
        return Reply(operation, prepared.correlation_id)


def _looks_like_fault(content: bytes) -> bool:
    head = content[:65536]
    return b"Fault>" in head and b"Envelope" in head


def _fault_exception(fault: etree._Element) -> common_pb2.ServiceException:
    """The serviceException in a fault's detail (ctypes:serviceException or ctypes:error)."""
    detail = fault.find("detail")
    if detail is not None:
        for item in detail:
            if not isinstance(item.tag, str):
                continue
            if item.tag == qname(CONNECTION_TYPES, "serviceException"):
                return read_service_exception(item)
            if item.tag == qname(CONNECTION_TYPES, "error"):
                nested = item.find("serviceException")
                if nested is not None:
                    return read_service_exception(nested)
            if local_name(item) == "serviceException":
                return read_service_exception(item)
    string = fault.find("faultstring")
    text = (string.text or "").strip() if string is not None else ""
    return common_pb2.ServiceException(error_id="00500", text=text or "SOAP fault without detail")
