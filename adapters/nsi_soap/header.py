"""The nsiHeader in both directions.

The fields the gRPC contract knows (protocolVersion, correlationId,
requesterNSA, providerNSA, replyTo, sessionSecurityAttr, pathTrace) map to
``connection.common.Header``; sessionSecurityAttr travels as its XML,
verbatim.  Every other extension (connectionTrace and anything a peer adds)
has no field in the contract and is kept as serialized XML, verbatim, so it
can be put back on the messages that answer the request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree

from adapters.nsi_soap.elements import (
    Element,
    children,
    local_name,
    namespace_of,
    parse_int,
    required_text,
    sub,
    text,
)
from adapters.nsi_soap.faults import missing_parameter, payload_error
from adapters.nsi_soap.namespaces import HEADERS, PATH_TRACE, qname
from adapters.nsi_soap.xmlparse import parse_fragment
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import policy_pb2

CORRELATION_ID = re.compile(
    r"urn:uuid:[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}"
)


@dataclass
class HeaderExtras:
    """What an nsiHeader carries beyond the gRPC contract, as verbatim XML."""

    extensions: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.extensions)


def _serialize(element: Element) -> str:
    return etree.tostring(element, encoding="unicode", with_tail=False)


def read_path_trace(element: Element) -> policy_pb2.PathTrace:
    trace = policy_pb2.PathTrace(
        id=element.get("id", ""), connection_id=required_text(element, None, "connectionId")
    )
    if not trace.id:
        raise missing_parameter("nsiHeader/pathTrace/@id")
    for path_element in children(element, None, "path"):
        path = trace.paths.add()
        segments = children(path_element, None, "segment")
        for segment_element in sorted(segments, key=lambda s: parse_int(s, s.get("order", "0"))):
            stps = sorted(
                children(segment_element, None, "stp"),
                key=lambda s: parse_int(s, s.get("order", "0")),
            )
            path.segments.add(
                id=segment_element.get("id", ""),
                connection_id=required_text(segment_element, None, "connectionId"),
                stps=[text(stp) for stp in stps],
            )
    return trace


def add_path_trace(parent: Element, trace: policy_pb2.PathTrace) -> None:
    element = sub(parent, PATH_TRACE, "pathTrace")
    element.set("id", trace.id)
    sub(element, None, "connectionId", trace.connection_id)
    for path in trace.paths:
        path_element = sub(element, None, "path")
        for order, segment in enumerate(path.segments):
            segment_element = sub(path_element, None, "segment")
            segment_element.set("id", segment.id)
            segment_element.set("order", str(order))
            sub(segment_element, None, "connectionId", segment.connection_id)
            for stp_order, stp in enumerate(segment.stps):
                sub(segment_element, None, "stp", stp).set("order", str(stp_order))


def read_header(element: Element) -> tuple[common_pb2.Header, HeaderExtras]:
    """The nsiHeader as the contract's Header plus the extensions it cannot hold."""
    header = common_pb2.Header(
        protocol_version=required_text(element, None, "protocolVersion"),
        correlation_id=required_text(element, None, "correlationId"),
        requester_nsa=required_text(element, None, "requesterNSA"),
        provider_nsa=required_text(element, None, "providerNSA"),
    )
    if not CORRELATION_ID.fullmatch(header.correlation_id):
        raise payload_error(
            "nsiHeader/correlationId", f"'{header.correlation_id}' is not a urn:uuid identifier"
        )
    extras = HeaderExtras()
    security: list[str] = []
    for item in element:
        if not isinstance(item.tag, str):
            continue
        namespace, name = namespace_of(item), local_name(item)
        if namespace is None:
            if name == "replyTo":
                header.reply_to = text(item)
            elif name == "sessionSecurityAttr":
                security.append(_serialize(item))
            elif name not in ("protocolVersion", "correlationId", "requesterNSA", "providerNSA"):
                raise payload_error(f"nsiHeader/{name}", "unknown header element")
        elif namespace == HEADERS:
            raise payload_error(f"nsiHeader/{name}", "unknown header element")
        elif namespace == PATH_TRACE and name == "pathTrace" and not header.HasField("path_trace"):
            header.path_trace.CopyFrom(read_path_trace(item))
        else:
            extras.extensions.append(_serialize(item))
    header.session_security_attributes = "".join(security)
    return header, extras


def build_header(
    header: common_pb2.Header,
    extras: HeaderExtras | None = None,
    *,
    protocol_version: str,
    original_request: bool = False,
    extensions: Sequence[str] = (),
) -> Element:
    """The nsiHeader element; replyTo and sessionSecurityAttr only on original requests."""
    element = etree.Element(qname(HEADERS, "nsiHeader"), nsmap={"head": HEADERS})
    sub(element, None, "protocolVersion", protocol_version)
    sub(element, None, "correlationId", header.correlation_id)
    sub(element, None, "requesterNSA", header.requester_nsa)
    sub(element, None, "providerNSA", header.provider_nsa)
    if original_request:
        if header.reply_to:
            sub(element, None, "replyTo", header.reply_to)
        for attribute in parse_fragment(header.session_security_attributes):
            element.append(attribute)
    if header.HasField("path_trace"):
        add_path_trace(element, header.path_trace)
    for extension in [*(extras.extensions if extras else []), *extensions]:
        element.extend(parse_fragment(extension))
    return element
