"""The 13 provider requests SOAP <-> proto, and the synchronous replies, against the XSDs."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from adapters.nsi_soap.envelope import open_envelope
from adapters.nsi_soap.header import HeaderExtras, read_header
from adapters.nsi_soap.namespaces import CONNECTION_TYPES, PROVIDER_OPERATIONS, qname
from adapters.nsi_soap.provider_messages import (
    build_acknowledgment,
    build_provider_request,
    build_reserve_response,
    build_sync_reply,
    read_provider_request,
)
from tests.adapters.nsi_soap import samples
from tests.adapters.nsi_soap.requests import provider_requests
from tests.adapters.nsi_soap.schemas import NsiSchemas

REQUESTS = provider_requests()


def test_every_operation_has_a_sample() -> None:
    assert sorted(REQUESTS) == sorted(PROVIDER_OPERATIONS)


def _normalised(request: Any) -> Any:
    copy = type(request)()
    copy.CopyFrom(request)
    copy.header.session_security_attributes = ""
    return copy


@pytest.mark.parametrize("operation", PROVIDER_OPERATIONS)
def test_request_is_valid_and_maps_back_field_by_field(
    operation: str, nsi_schemas: NsiSchemas
) -> None:
    request = REQUESTS[operation]
    data = build_provider_request(operation, request, HeaderExtras([samples.CONNECTION_TRACE]))
    message = open_envelope(nsi_schemas.check(data))
    assert message.operation == operation
    header, extras = read_header(message.header)
    assert len(extras.extensions) == 1
    back = read_provider_request(message.body, header)
    assert _normalised(back) == _normalised(request)


def test_reserve_response_and_acknowledgment(nsi_schemas: NsiSchemas) -> None:
    header = samples.header()
    extras = HeaderExtras([samples.CONNECTION_TRACE])
    root = nsi_schemas.check(build_reserve_response(header, "conn-9", extras))
    response = root.find(f".//{qname(CONNECTION_TYPES, 'reserveResponse')}")
    assert response is not None
    assert response.findtext("connectionId") == "conn-9"
    assert root.findtext(".//correlationId") == header.correlation_id
    assert root.findtext(".//protocolVersion") == "application/vnd.ogf.nsi.cs.v2.requester+soap"
    assert root.find(".//replyTo") is None
    assert root.find(".//{http://nordu.net/namespaces/2013/12/gnsbod}ConnectionTrace") is not None
    ack = nsi_schemas.check(build_acknowledgment(header))
    assert ack.find(f".//{qname(CONNECTION_TYPES, 'acknowledgment')}") is not None


@pytest.mark.parametrize(
    ("operation", "callback"),
    [
        ("querySummarySync", "querySummaryConfirmed"),
        ("queryNotificationSync", "queryNotificationConfirmed"),
        ("queryResultSync", "queryResultConfirmed"),
    ],
)
def test_sync_replies_are_valid(operation: str, callback: str, nsi_schemas: NsiSchemas) -> None:
    reply = samples.callbacks()[callback]
    root = nsi_schemas.check(build_sync_reply(operation, samples.header(), reply))
    body = root.find(f".//{qname(CONNECTION_TYPES, operation + 'Confirmed')}")
    assert body is not None
    assert len(body) > 0


def test_hand_written_request_from_a_peer_maps(nsi_schemas: NsiSchemas) -> None:
    """A request written by hand (not by our builder): ERO out of order, no start time."""
    data = b"""<?xml version="1.0" encoding="UTF-8"?>
<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/">
 <S:Header>
  <h:nsiHeader xmlns:h="http://schemas.ogf.org/nsi/2013/12/framework/headers">
   <protocolVersion>application/vnd.ogf.nsi.cs.v2.provider+soap</protocolVersion>
   <correlationId>urn:uuid:1c6f4a76-7b55-4d5c-9b11-2c7f2c0a9e01</correlationId>
   <requesterNSA>urn:ogf:network:a.net:2020:nsa</requesterNSA>
   <providerNSA>urn:ogf:network:b.net:2020:nsa</providerNSA>
   <replyTo>https://a.net/nsi/requester</replyTo>
  </h:nsiHeader>
 </S:Header>
 <S:Body>
  <c:reserve xmlns:c="http://schemas.ogf.org/nsi/2013/12/connection/types"
             xmlns:p="http://schemas.ogf.org/nsi/2013/12/services/point2point">
   <description>two words</description>
   <criteria version="0">
    <schedule><endTime>2027-01-01T00:00:00+01:00</endTime></schedule>
    <serviceType>EVTS</serviceType>
    <p:p2ps>
     <capacity>100</capacity>
     <directionality>Bidirectional</directionality>
     <sourceSTP>urn:ogf:network:b.net:2020:a?vlan=1</sourceSTP>
     <destSTP>urn:ogf:network:b.net:2020:b?vlan=2</destSTP>
     <ero>
      <orderedSTP order="2"><stp>urn:ogf:network:b.net:2020:z</stp></orderedSTP>
      <orderedSTP order="1"><stp>urn:ogf:network:b.net:2020:y</stp></orderedSTP>
     </ero>
    </p:p2ps>
   </criteria>
  </c:reserve>
 </S:Body>
</S:Envelope>"""
    message = open_envelope(nsi_schemas.check(data))
    header, _ = read_header(message.header)
    request = read_provider_request(message.body, header)
    assert header.reply_to == "https://a.net/nsi/requester"
    assert request.connection_id == ""
    assert request.description == "two words"
    assert not request.criteria.schedule.HasField("start_time")
    assert request.criteria.schedule.end_time.seconds == 1798758000  # 2026-12-31T23:00Z
    assert list(request.criteria.ptps.eros) == [
        "urn:ogf:network:b.net:2020:y",
        "urn:ogf:network:b.net:2020:z",
    ]
    assert request.criteria.ptps.directionality == 0  # Bidirectional
    assert etree.QName(message.body).localname == "reserve"
