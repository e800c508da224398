"""The 17 callbacks proto -> SOAP: valid against the XSDs, and read back field by field."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from adapters.nsi_soap.faults import NsiError
from adapters.nsi_soap.header import HeaderExtras
from adapters.nsi_soap.namespaces import CONNECTION_TYPES, REQUESTER_OPERATIONS, qname
from adapters.nsi_soap.requester_messages import CALLBACKS, build_callback
from adapters.nsi_soap.requester_readers import read_requester_message
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2
from tests.adapters.nsi_soap import samples
from tests.adapters.nsi_soap.schemas import NsiSchemas

CALLBACK_SAMPLES = samples.callbacks()


def test_all_seventeen_operations() -> None:
    assert sorted(CALLBACKS) == sorted(REQUESTER_OPERATIONS)
    assert sorted(CALLBACK_SAMPLES) == sorted(REQUESTER_OPERATIONS)


def expected_after_round_trip(operation: str, message: Any) -> Any:
    expected = type(message)()
    expected.CopyFrom(message)
    expected.header.protocol_version = "application/vnd.ogf.nsi.cs.v2.requester+soap"
    expected.header.reply_to = ""  # only on original requests
    expected.header.session_security_attributes = ""
    if operation == "queryRecursiveConfirmed":
        # the schema has no lastModified here, and a recursive child needs states and
        # criteria the contract's ChildResult does not carry
        expected.ClearField("last_modified")
        for reservation in expected.reservation:
            for criteria in reservation.criteria:
                criteria.ClearField("child")
    return expected


def c14n(xml: str) -> bytes:
    return etree.tostring(etree.fromstring(xml), method="c14n", exclusive=True)


@pytest.mark.parametrize("operation", REQUESTER_OPERATIONS)
def test_callback_is_valid_and_lossless(operation: str, nsi_schemas: NsiSchemas) -> None:
    message = CALLBACK_SAMPLES[operation]
    data = build_callback(operation, message, HeaderExtras([samples.CONNECTION_TRACE]))
    root = nsi_schemas.check(data)
    assert root.find(f".//{qname(CONNECTION_TYPES, operation)}") is not None
    read_operation, back, extras = read_requester_message(data)
    assert read_operation == operation
    assert back == expected_after_round_trip(operation, message)
    assert [c14n(x) for x in extras.extensions] == [c14n(samples.CONNECTION_TRACE)]


def test_query_summary_carries_children_states_and_ids(nsi_schemas: NsiSchemas) -> None:
    root = nsi_schemas.check(
        build_callback("querySummaryConfirmed", CALLBACK_SAMPLES["querySummaryConfirmed"])
    )
    reservation = root.find(f".//{qname(CONNECTION_TYPES, 'querySummaryConfirmed')}/reservation")
    assert reservation is not None
    assert reservation.findtext("criteria/children/child/connectionId") == "child-1"
    assert reservation.findtext("connectionStates/reservationState") == "ReserveHeld"
    assert reservation.findtext("connectionStates/lifecycleState") == "PassedEndTime"
    assert reservation.findtext("notificationId") == "4"
    assert reservation.findtext("resultId") == "2"
    assert reservation.findtext("criteria/{*}p2ps/ero/orderedSTP/stp") is not None


def test_message_delivery_timeout_names_the_lost_correlation_id(nsi_schemas: NsiSchemas) -> None:
    message = CALLBACK_SAMPLES["messageDeliveryTimeout"]
    root = nsi_schemas.check(build_callback("messageDeliveryTimeout", message))
    body = root.find(f".//{qname(CONNECTION_TYPES, 'messageDeliveryTimeout')}")
    assert body is not None
    assert body.findtext("correlationId") == message.correlation_id


def test_unspecified_event_is_refused() -> None:
    event = samples.error_event()
    event.event = common_pb2.UNSPECIFIED
    with pytest.raises(NsiError, match="unspecified"):
        build_callback("errorEvent", event)


def test_wrong_message_type_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        build_callback("reserveConfirmed", requester_pb2.GenericConfirmedRequest())
