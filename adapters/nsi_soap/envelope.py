"""SOAP 1.1 envelopes: taking a peer's apart strictly, and building ours."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from adapters.nsi_soap.elements import Element, local_name, namespace_of
from adapters.nsi_soap.faults import missing_parameter, payload_error
from adapters.nsi_soap.namespaces import CONNECTION_TYPES, HEADERS, NSMAP, SOAP_ENV, qname


@dataclass(frozen=True)
class Message:
    """The nsiHeader and the single body element of an NSI SOAP message."""

    header: Element
    body: Element

    @property
    def operation(self) -> str:
        return local_name(self.body)


def open_envelope(root: Element) -> Message:
    """Check the envelope's shape; 00100/00101 naming what is wrong."""
    if root.tag != qname(SOAP_ENV, "Envelope"):
        raise payload_error(
            etree.QName(root).text, f"not a SOAP 1.1 Envelope (expected namespace {SOAP_ENV})"
        )
    header_element = root.find(qname(SOAP_ENV, "Header"))
    body_element = root.find(qname(SOAP_ENV, "Body"))
    if body_element is None:
        raise missing_parameter("Envelope/Body")
    if header_element is None:
        raise missing_parameter("Header/nsiHeader")
    nsi_header = header_element.find(qname(HEADERS, "nsiHeader"))
    if nsi_header is None:
        raise missing_parameter("Header/nsiHeader")
    items = [item for item in body_element if isinstance(item.tag, str)]
    if len(items) != 1:
        raise payload_error("Body", f"expected one NSI message, found {len(items)} elements")
    body = items[0]
    if namespace_of(body) != CONNECTION_TYPES:
        raise payload_error(
            f"Body/{local_name(body)}",
            f"namespace {namespace_of(body) or '(none)'} is not {CONNECTION_TYPES}",
        )
    return Message(nsi_header, body)


# What a body may use besides its own namespace, declared once on its element.
_BODY_NSMAP = {prefix: uri for prefix, uri in NSMAP.items() if uri not in (SOAP_ENV, HEADERS)}
_ENVELOPE_OPEN = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n"
    + f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}">'.encode()
)
_ENVELOPE_CLOSE = b"</soapenv:Body></soapenv:Envelope>"


def new_body(name: str) -> Element:
    """An empty body element ``ctypes:<name>``."""
    return etree.Element(qname(CONNECTION_TYPES, name), nsmap=_BODY_NSMAP)


def build_envelope(header: Element | None, body: Element) -> bytes:
    """The SOAP envelope of a header (the nsiHeader) and a body element.

    The envelope's own tags never change, so they are constant bytes around
    the header and the body, each serialized by lxml as the root of its own
    tree (with the namespace declarations it uses, and character references
    for anything outside ASCII).  Moving both trees into an envelope tree
    first cost more than building them.
    """
    parts = [_ENVELOPE_OPEN]
    if header is not None:
        parts += (b"<soapenv:Header>", etree.tostring(header), b"</soapenv:Header>")
    parts += (b"<soapenv:Body>", etree.tostring(body), _ENVELOPE_CLOSE)
    return b"".join(parts)
