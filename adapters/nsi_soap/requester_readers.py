"""The 17 requester messages, SOAP -> proto (for the requester role, and for checks).

The inverse of requester_bodies/requester_messages: reading a callback a
provider sent gives the same ConnectionRequester request message that
produced it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.nsi_soap.criteria import read_confirm_criteria, read_result_criteria
from adapters.nsi_soap.elements import (
    Element,
    child,
    children,
    local_name,
    namespace_of,
    optional_text,
    parse_bool,
    parse_datetime,
    parse_int,
    path_of,
    required,
    required_text,
)
from adapters.nsi_soap.envelope import open_envelope
from adapters.nsi_soap.faults import payload_error, read_service_exception, read_type_value_pairs
from adapters.nsi_soap.header import HeaderExtras, read_header
from adapters.nsi_soap.namespaces import CONNECTION_TYPES
from adapters.nsi_soap.requester_bodies import (
    EVENT_TYPES,
    LIFECYCLE_STATES,
    PROVISION_STATES,
    RESERVATION_STATES,
)
from adapters.nsi_soap.xmlparse import DEFAULT_LIMITS, XmlLimits, parse_document
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2


def _enum(element: Element, values: dict[str, int]) -> int:
    raw = (element.text or "").strip()
    if raw not in values:
        raise payload_error(path_of(element), f"'{raw}' is not one of {', '.join(values)}")
    return values[raw]


def _data_plane_status(element: Element) -> common_pb2.DataPlaneStatus:
    return common_pb2.DataPlaneStatus(
        active=parse_bool(required(element, None, "active")),
        version=parse_int(required(element, None, "version")),
        version_consistent=parse_bool(required(element, None, "versionConsistent")),
    )


def _states(element: Element) -> common_pb2.ConnectionStates:
    return common_pb2.ConnectionStates(
        reservation_state=_enum(required(element, None, "reservationState"), RESERVATION_STATES),  # type: ignore[arg-type]
        provision_state=_enum(required(element, None, "provisionState"), PROVISION_STATES),  # type: ignore[arg-type]
        lifecycle_state=_enum(required(element, None, "lifecycleState"), LIFECYCLE_STATES),  # type: ignore[arg-type]
        data_plane_status=_data_plane_status(required(element, None, "dataPlaneStatus")),
    )


def _reserve_confirmed(body: Element) -> requester_pb2.ReserveConfirmedRequest:
    description = child(body, None, "description")
    return requester_pb2.ReserveConfirmedRequest(
        connection_id=required_text(body, None, "connectionId"),
        global_reservation_id=optional_text(body, None, "globalReservationId"),
        description=(description.text or "") if description is not None else "",
        criteria=read_confirm_criteria(required(body, None, "criteria")),
    )


def _generic_confirmed(body: Element) -> requester_pb2.GenericConfirmedRequest:
    return requester_pb2.GenericConfirmedRequest(
        connection_id=required_text(body, None, "connectionId")
    )


def _generic_failed(body: Element) -> requester_pb2.GenericFailedRequest:
    return requester_pb2.GenericFailedRequest(
        connection_id=required_text(body, None, "connectionId"),
        connection_states=_states(required(body, None, "connectionStates")),
        service_exception=read_service_exception(required(body, None, "serviceException")),
    )


def _error(body: Element) -> requester_pb2.ErrorRequest:
    return requester_pb2.ErrorRequest(
        service_exception=read_service_exception(required(body, None, "serviceException"))
    )


def _notification(body: Element) -> common_pb2.Notification:
    return common_pb2.Notification(
        connection_id=required_text(body, None, "connectionId"),
        notification_id=parse_int(required(body, None, "notificationId")),
        time_stamp=parse_datetime(required(body, None, "timeStamp")),
    )


def _error_event(body: Element) -> requester_pb2.ErrorEventRequest:
    event = requester_pb2.ErrorEventRequest(
        notification=_notification(body),
        event=_enum(required(body, None, "event"), EVENT_TYPES),  # type: ignore[arg-type]
        originating_connection_id=required_text(body, None, "originatingConnectionId"),
        originating_nsa=required_text(body, None, "originatingNSA"),
    )
    info = child(body, None, "additionalInfo")
    if info is not None:
        event.additional_info.extend(read_type_value_pairs(info, "attribute"))
    exception = child(body, None, "serviceException")
    if exception is not None:
        event.service_exception.CopyFrom(read_service_exception(exception))
    return event


def _reserve_timeout(body: Element) -> requester_pb2.ReserveTimeoutRequest:
    return requester_pb2.ReserveTimeoutRequest(
        notification=_notification(body),
        timeout_value=parse_int(required(body, None, "timeoutValue")),
        originating_connection_id=required_text(body, None, "originatingConnectionId"),
        originating_nsa=required_text(body, None, "originatingNSA"),
    )


def _data_plane_state_change(body: Element) -> requester_pb2.DataPlaneStateChangeRequest:
    return requester_pb2.DataPlaneStateChangeRequest(
        notification=_notification(body),
        data_plane_status=_data_plane_status(required(body, None, "dataPlaneStatus")),
    )


def _message_delivery_timeout(body: Element) -> requester_pb2.MessageDeliveryTimeoutRequest:
    return requester_pb2.MessageDeliveryTimeoutRequest(
        notification=_notification(body), correlation_id=required_text(body, None, "correlationId")
    )


def _query_result(element: Element) -> requester_pb2.QueryResult:
    description = child(element, None, "description")
    result = requester_pb2.QueryResult(
        connection_id=required_text(element, None, "connectionId"),
        global_reservation_id=optional_text(element, None, "globalReservationId"),
        description=(description.text or "") if description is not None else "",
        criteria=[read_result_criteria(item) for item in children(element, None, "criteria")],
        requester_nsa=required_text(element, None, "requesterNSA"),
        connection_states=_states(required(element, None, "connectionStates")),
    )
    for name in ("notificationId", "resultId"):
        found = child(element, None, name)
        if found is not None:
            setattr(
                result,
                "notification_id" if name == "notificationId" else "result_id",
                parse_int(found),
            )
    return result


def _query_confirmed(body: Element) -> requester_pb2.QueryConfirmedRequest:
    message = requester_pb2.QueryConfirmedRequest(
        reservation=[_query_result(item) for item in children(body, None, "reservation")]
    )
    modified = child(body, None, "lastModified")
    if modified is not None:
        message.last_modified.CopyFrom(parse_datetime(modified))
    return message


def _query_notification_confirmed(body: Element) -> requester_pb2.QueryNotificationConfirmedRequest:
    message = requester_pb2.QueryNotificationConfirmedRequest()
    for item in body:
        name = local_name(item)
        if name == "errorEvent":
            message.error_event.append(_error_event(item))
        elif name == "reserveTimeout":
            message.reserve_timeout.append(_reserve_timeout(item))
        elif name == "dataPlaneStateChange":
            message.data_plane_state_change.append(_data_plane_state_change(item))
        elif name == "messageDeliveryTimeout":
            message.message_delivery_timeout.append(_message_delivery_timeout(item))
        else:
            raise payload_error(path_of(item), "not a notification")
    return message


_RESULT_BODIES: dict[str, tuple[str, Callable[[Element], Any]]] = {
    "reserveConfirmed": ("reserve_confirmed", _reserve_confirmed),
    "reserveFailed": ("reserve_failed", _generic_failed),
    "reserveCommitConfirmed": ("reserve_commit_confirmed", _generic_confirmed),
    "reserveCommitFailed": ("reserve_commit_failed", _generic_failed),
    "reserveAbortConfirmed": ("reserve_abort_confirmed", _generic_confirmed),
    "provisionConfirmed": ("provision_confirmed", _generic_confirmed),
    "releaseConfirmed": ("release_confirmed", _generic_confirmed),
    "terminateConfirmed": ("terminate_confirmed", _generic_confirmed),
    "error": ("error", _error),
}


def _query_result_confirmed(body: Element) -> requester_pb2.QueryResultConfirmedRequest:
    message = requester_pb2.QueryResultConfirmedRequest()
    for item in children(body, None, "result"):
        response = message.result.add(
            result_id=parse_int(required(item, None, "resultId")),
            correlation_id=required_text(item, None, "correlationId"),
            time_stamp=parse_datetime(required(item, None, "timeStamp")),
        )
        bodies = [found for found in item if namespace_of(found) == CONNECTION_TYPES]
        if len(bodies) != 1 or local_name(bodies[0]) not in _RESULT_BODIES:
            raise payload_error(path_of(item), "a result needs exactly one result body")
        field, reader = _RESULT_BODIES[local_name(bodies[0])]
        getattr(response, field).CopyFrom(reader(bodies[0]))
    return message


READERS: dict[str, Callable[[Element], Any]] = {
    **{name: reader for name, (_, reader) in _RESULT_BODIES.items()},
    "querySummaryConfirmed": _query_confirmed,
    "queryRecursiveConfirmed": _query_confirmed,
    "querySummarySyncConfirmed": _query_confirmed,
    "queryNotificationConfirmed": _query_notification_confirmed,
    "queryNotificationSyncConfirmed": _query_notification_confirmed,
    "queryResultConfirmed": _query_result_confirmed,
    "queryResultSyncConfirmed": _query_result_confirmed,
    "errorEvent": _error_event,
    "dataPlaneStateChange": _data_plane_state_change,
    "reserveTimeout": _reserve_timeout,
    "messageDeliveryTimeout": _message_delivery_timeout,
}


def read_requester_message(
    data: bytes, limits: XmlLimits = DEFAULT_LIMITS
) -> tuple[str, Any, HeaderExtras]:
    """(operation, ConnectionRequester request, header extensions) of a requester message."""
    message = open_envelope(parse_document(data, limits))
    operation = message.operation
    reader = READERS.get(operation)
    if reader is None:
        raise payload_error(f"Body/{operation}", "not an NSI requester message")
    header, extras = read_header(message.header)
    request = reader(message.body)
    request.header.CopyFrom(header)
    return operation, request, extras
