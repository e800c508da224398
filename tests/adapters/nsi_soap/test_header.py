"""nsiHeader <-> connection.common.Header, with extensions carried through."""

from __future__ import annotations

import pytest
from lxml import etree

from adapters.nsi_soap.faults import NsiError
from adapters.nsi_soap.header import HeaderExtras, build_header, read_header
from adapters.nsi_soap.namespaces import PROVIDER_PROTOCOL, REQUESTER_PROTOCOL
from tests.adapters.nsi_soap import samples


def c14n(xml: str) -> bytes:
    return etree.tostring(etree.fromstring(xml), method="c14n", exclusive=True)


def test_round_trip_keeps_every_field_and_extension() -> None:
    header = samples.header()
    extras = HeaderExtras([samples.CONNECTION_TRACE])
    element = build_header(
        header, extras, protocol_version=PROVIDER_PROTOCOL, original_request=True
    )
    back, back_extras = read_header(etree.fromstring(etree.tostring(element)))
    # sessionSecurityAttr is verbatim XML: compared canonically below.
    assert c14n(back.session_security_attributes) == c14n(header.session_security_attributes)
    back.session_security_attributes = header.session_security_attributes
    assert back == header
    assert back.path_trace.paths[0].segments[1].connection_id == "seg-2"
    assert [c14n(x) for x in back_extras.extensions] == [c14n(samples.CONNECTION_TRACE)]


def test_callback_header_has_no_reply_to_or_security_attributes() -> None:
    element = build_header(samples.header(), protocol_version=REQUESTER_PROTOCOL)
    assert element.find("replyTo") is None
    assert element.find("sessionSecurityAttr") is None
    assert element.findtext("protocolVersion") == REQUESTER_PROTOCOL


def _header_xml(body: str) -> etree._Element:
    return etree.fromstring(
        '<h:nsiHeader xmlns:h="http://schemas.ogf.org/nsi/2013/12/framework/headers">'
        f"{body}</h:nsiHeader>"
    )


def test_missing_correlation_id_is_00101_naming_it() -> None:
    element = _header_xml(
        "<protocolVersion>p</protocolVersion><requesterNSA>a</requesterNSA>"
        "<providerNSA>b</providerNSA>"
    )
    with pytest.raises(NsiError) as caught:
        read_header(element)
    assert caught.value.error_id == "00101"
    assert caught.value.element == "nsiHeader/correlationId"


def test_malformed_correlation_id_is_00100() -> None:
    element = _header_xml(
        "<protocolVersion>p</protocolVersion><correlationId>42</correlationId>"
        "<requesterNSA>a</requesterNSA><providerNSA>b</providerNSA>"
    )
    with pytest.raises(NsiError) as caught:
        read_header(element)
    assert caught.value.error_id == "00100"
    assert "correlationId" in caught.value.text
