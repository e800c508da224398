"""Fully populated NSI messages (proto) for mapping and validation tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2
from nsgw_proto.nsi import policy_pb2, services_pb2

REQUESTER_NSA = "urn:ogf:network:requester.example.net:2025:nsa"
PROVIDER_NSA = "urn:ogf:network:example.net:2025:nsa"
SOURCE = "urn:ogf:network:example.net:2025:topology:port-1?vlan=100-199"
DEST = "urn:ogf:network:example.net:2025:topology:port-2?vlan=200"
SESSION_SECURITY = (
    '<sessionSecurityAttr xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" name="token">'
    '<saml:Attribute Name="user"><saml:AttributeValue>alice</saml:AttributeValue></saml:Attribute>'
    "</sessionSecurityAttr>"
)
CONNECTION_TRACE = (
    '<gns:ConnectionTrace xmlns:gns="http://nordu.net/namespaces/2013/12/gnsbod">'
    '<Connection index="0">urn:ogf:network:aggregator.example.net:2025:nsa:conn-7</Connection>'
    "</gns:ConnectionTrace>"
)


def correlation_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def stamp(year: int = 2026, hour: int = 12) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(datetime(year, 12, 1, hour, 0, tzinfo=UTC))
    return value


def path_trace() -> policy_pb2.PathTrace:
    trace = policy_pb2.PathTrace(
        id="urn:ogf:network:aggregator.example.net:2025:nsa", connection_id="agg-1"
    )
    path = trace.paths.add()
    path.segments.add(id=PROVIDER_NSA, connection_id="seg-1", stps=[SOURCE, DEST])
    path.segments.add(id="urn:ogf:network:other.net:2025:nsa", connection_id="seg-2", stps=[DEST])
    return trace


def header(
    *,
    reply_to: str = "http://127.0.0.1:9/requester",
    correlation: str | None = None,
    with_trace: bool = True,
) -> common_pb2.Header:
    value = common_pb2.Header(
        protocol_version="application/vnd.ogf.nsi.cs.v2.provider+soap",
        correlation_id=correlation or correlation_id(),
        requester_nsa=REQUESTER_NSA,
        provider_nsa=PROVIDER_NSA,
        reply_to=reply_to,
        session_security_attributes=SESSION_SECURITY if with_trace else "",
    )
    if with_trace:
        value.path_trace.CopyFrom(path_trace())
    return value


def p2ps() -> services_pb2.PointToPointService:
    return services_pb2.PointToPointService(
        capacity=1000,
        directionality=services_pb2.UNI_DIRECTIONAL,
        symmetric_path=True,
        source_stp=SOURCE,
        dest_stp=DEST,
        eros=[
            SOURCE.split("?", maxsplit=1)[0],
            "urn:ogf:network:example.net:2025:topology:core-1",
            DEST.split("?", maxsplit=1)[0],
        ],
        parameters={"mtu": "9000", "burstsize": "1500"},
    )


def reserve_request(**header_args: Any) -> provider_pb2.ReserveRequest:
    return provider_pb2.ReserveRequest(
        header=header(**header_args),
        global_reservation_id="urn:uuid:0f4b8c2e-1111-4a4a-9b9b-abcdefabcdef",
        description=" lab link, leading space kept ",
        criteria=provider_pb2.ReservationRequestCriteria(
            version=1,
            schedule=common_pb2.Schedule(start_time=stamp(hour=10), end_time=stamp(hour=18)),
            service_type="http://services.ogf.org/nsi/2013/12/descriptions/EVTS.A-GOLE",
            ptps=p2ps(),
        ),
    )


def states() -> common_pb2.ConnectionStates:
    return common_pb2.ConnectionStates(
        reservation_state=common_pb2.RESERVE_HELD,
        provision_state=common_pb2.PROVISIONED,
        lifecycle_state=common_pb2.PASSED_END_TIME,
        data_plane_status=common_pb2.DataPlaneStatus(
            active=True, version=3, version_consistent=True
        ),
    )


def service_exception() -> common_pb2.ServiceException:
    exception = common_pb2.ServiceException(
        nsa_id=PROVIDER_NSA,
        connection_id="conn-1",
        service_type="http://services.ogf.org/nsi/2013/12/descriptions/EVTS.A-GOLE",
        error_id="00705",
        text="CAPACITY_UNAVAILABLE: Insufficient capacity available for reservation [port-1]",
    )
    exception.variables.add(
        type="sourceSTP",
        namespace="http://schemas.ogf.org/nsi/2013/12/services/point2point",
        value=SOURCE,
    )
    exception.child_exception.add(
        nsa_id="urn:ogf:network:other.net:2025:nsa",
        error_id="00800",
        text="GENERIC_RM_ERROR: child",
    )
    return exception


def notification(number: int) -> common_pb2.Notification:
    return common_pb2.Notification(
        connection_id="conn-1", notification_id=number, time_stamp=stamp(hour=13)
    )


def callback_header() -> common_pb2.Header:
    value = header()
    value.protocol_version = "application/vnd.ogf.nsi.cs.v2.requester+soap"
    return value


def query_result(number: int) -> requester_pb2.QueryResult:
    result = requester_pb2.QueryResult(
        connection_id=f"conn-{number}",
        global_reservation_id="urn:uuid:0f4b8c2e-1111-4a4a-9b9b-abcdefabcdef",
        description="lab link",
        requester_nsa=REQUESTER_NSA,
        connection_states=states(),
        notification_id=4,
        result_id=2,
    )
    criteria = result.criteria.add(
        version=2,
        schedule=common_pb2.Schedule(start_time=stamp(hour=10)),
        service_type="http://services.ogf.org/nsi/2013/12/descriptions/EVTS.A-GOLE",
        ptps=p2ps(),
    )
    criteria.child.add(
        order=0,
        connection_id="child-1",
        provider_nsa="urn:ogf:network:other.net:2025:nsa",
        service_type="EVTS",
    )
    return result


def error_event(number: int = 1) -> requester_pb2.ErrorEventRequest:
    event = requester_pb2.ErrorEventRequest(
        header=callback_header(),
        notification=notification(number),
        event=common_pb2.FORCED_END,
        originating_connection_id="conn-1",
        originating_nsa=PROVIDER_NSA,
        service_exception=service_exception(),
    )
    event.additional_info.add(type="reason", value="maintenance")
    return event


def reserve_timeout(number: int = 2) -> requester_pb2.ReserveTimeoutRequest:
    return requester_pb2.ReserveTimeoutRequest(
        header=callback_header(),
        notification=notification(number),
        timeout_value=120,
        originating_connection_id="conn-1",
        originating_nsa=PROVIDER_NSA,
    )


def data_plane_change(number: int = 3) -> requester_pb2.DataPlaneStateChangeRequest:
    return requester_pb2.DataPlaneStateChangeRequest(
        header=callback_header(),
        notification=notification(number),
        data_plane_status=common_pb2.DataPlaneStatus(
            active=True, version=1, version_consistent=True
        ),
    )


def delivery_timeout(number: int = 4) -> requester_pb2.MessageDeliveryTimeoutRequest:
    return requester_pb2.MessageDeliveryTimeoutRequest(
        header=callback_header(), notification=notification(number), correlation_id=correlation_id()
    )


def reserve_confirmed() -> requester_pb2.ReserveConfirmedRequest:
    return requester_pb2.ReserveConfirmedRequest(
        header=callback_header(),
        connection_id="conn-1",
        global_reservation_id="urn:uuid:0f4b8c2e-1111-4a4a-9b9b-abcdefabcdef",
        description="lab link",
        criteria=requester_pb2.ReservationConfirmCriteria(
            version=1,
            schedule=common_pb2.Schedule(start_time=stamp(hour=10)),
            serviceType="http://services.ogf.org/nsi/2013/12/descriptions/EVTS.A-GOLE",
            ptps=p2ps(),
        ),
    )


def failed() -> requester_pb2.GenericFailedRequest:
    return requester_pb2.GenericFailedRequest(
        header=callback_header(),
        connection_id="conn-1",
        connection_states=states(),
        service_exception=service_exception(),
    )


def confirmed() -> requester_pb2.GenericConfirmedRequest:
    return requester_pb2.GenericConfirmedRequest(header=callback_header(), connection_id="conn-1")


def bare(message: Any) -> Any:
    """A copy without header, as messages nested in query results are."""
    copy = type(message)()
    copy.CopyFrom(message)
    copy.ClearField("header")
    return copy


def callbacks() -> dict[str, Any]:
    """One fully populated message for each of the 17 requester operations."""
    results = requester_pb2.QueryResultConfirmedRequest(header=callback_header())
    results.result.add(
        result_id=1,
        correlation_id=correlation_id(),
        time_stamp=stamp(),
        reserve_confirmed=bare(reserve_confirmed()),
    )
    results.result.add(
        result_id=2,
        correlation_id=correlation_id(),
        time_stamp=stamp(),
        reserve_commit_failed=bare(failed()),
    )
    results.result.add(
        result_id=3,
        correlation_id=correlation_id(),
        time_stamp=stamp(),
        provision_confirmed=bare(confirmed()),
    )
    results.result.add(
        result_id=4,
        correlation_id=correlation_id(),
        time_stamp=stamp(),
        error=requester_pb2.ErrorRequest(service_exception=service_exception()),
    )
    query = requester_pb2.QueryConfirmedRequest(
        header=callback_header(),
        reservation=[query_result(1), query_result(2)],
        last_modified=stamp(),
    )
    return {
        "reserveConfirmed": reserve_confirmed(),
        "reserveFailed": failed(),
        "reserveCommitConfirmed": confirmed(),
        "reserveCommitFailed": failed(),
        "reserveAbortConfirmed": confirmed(),
        "provisionConfirmed": confirmed(),
        "releaseConfirmed": confirmed(),
        "terminateConfirmed": confirmed(),
        "querySummaryConfirmed": query,
        "queryRecursiveConfirmed": query,
        "queryNotificationConfirmed": requester_pb2.QueryNotificationConfirmedRequest(
            header=callback_header(),
            error_event=[bare(error_event(1))],
            reserve_timeout=[bare(reserve_timeout(2))],
            data_plane_state_change=[bare(data_plane_change(3))],
            message_delivery_timeout=[bare(delivery_timeout(4))],
        ),
        "queryResultConfirmed": results,
        "error": requester_pb2.ErrorRequest(
            header=callback_header(), service_exception=service_exception()
        ),
        "errorEvent": error_event(),
        "dataPlaneStateChange": data_plane_change(),
        "reserveTimeout": reserve_timeout(),
        "messageDeliveryTimeout": delivery_timeout(),
    }
