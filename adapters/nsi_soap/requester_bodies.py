"""The bodies of requester messages (callbacks and query results), proto -> XML.

Shared by the callbacks (requester_messages) and by the synchronous query
replies of the provider endpoint, which carry the same confirmed bodies.
Zero notification/result ids mean "none" (both start at 1) and are left out.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from adapters.nsi_soap.criteria import add_confirm_criteria, add_result_criteria
from adapters.nsi_soap.elements import Element, format_datetime, sub, xml_bool
from adapters.nsi_soap.faults import add_service_exception, add_type_value_pairs, payload_error
from adapters.nsi_soap.namespaces import CONNECTION_TYPES
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2


def camel(enum_name: str, *, lower_first: bool = False) -> str:
    """RESERVE_HELD -> ReserveHeld (or reserveHeld)."""
    words = [word.capitalize() for word in enum_name.split("_")]
    joined = "".join(words)
    return joined[0].lower() + joined[1:] if lower_first else joined


RESERVATION_STATES = {camel(name): value for name, value in common_pb2.ReservationState.items()}
PROVISION_STATES = {camel(name): value for name, value in common_pb2.ProvisionState.items()}
LIFECYCLE_STATES = {camel(name): value for name, value in common_pb2.LifecycleState.items()}
EVENT_TYPES = {
    camel(name, lower_first=True): value
    for name, value in common_pb2.EventType.items()
    if value != common_pb2.UNSPECIFIED
}


def _stamp(stamp: Timestamp, present: bool) -> str:
    if present:
        return format_datetime(stamp)
    now = Timestamp()
    now.FromDatetime(datetime.now(UTC))
    return format_datetime(now)


def add_data_plane_status(parent: Element, status: common_pb2.DataPlaneStatus) -> None:
    element = sub(parent, None, "dataPlaneStatus")
    sub(element, None, "active", xml_bool(status.active))
    sub(element, None, "version", str(status.version))
    sub(element, None, "versionConsistent", xml_bool(status.version_consistent))


def add_connection_states(parent: Element, states: common_pb2.ConnectionStates) -> None:
    element = sub(parent, None, "connectionStates")
    sub(
        element,
        None,
        "reservationState",
        camel(common_pb2.ReservationState.Name(states.reservation_state)),
    )
    sub(
        element,
        None,
        "provisionState",
        camel(common_pb2.ProvisionState.Name(states.provision_state)),
    )
    sub(
        element,
        None,
        "lifecycleState",
        camel(common_pb2.LifecycleState.Name(states.lifecycle_state)),
    )
    add_data_plane_status(element, states.data_plane_status)


# --- confirmed / failed / error bodies -------------------------------------------------


def fill_reserve_confirmed(
    element: Element, message: requester_pb2.ReserveConfirmedRequest
) -> None:
    sub(element, None, "connectionId", message.connection_id)
    if message.global_reservation_id:
        sub(element, None, "globalReservationId", message.global_reservation_id)
    if message.description:
        sub(element, None, "description", message.description)
    add_confirm_criteria(element, message.criteria)


def fill_generic_confirmed(
    element: Element, message: requester_pb2.GenericConfirmedRequest
) -> None:
    sub(element, None, "connectionId", message.connection_id)


def fill_generic_failed(element: Element, message: requester_pb2.GenericFailedRequest) -> None:
    sub(element, None, "connectionId", message.connection_id)
    add_connection_states(element, message.connection_states)
    add_service_exception(element, message.service_exception)


def fill_error(element: Element, message: requester_pb2.ErrorRequest) -> None:
    add_service_exception(element, message.service_exception)


# --- notifications ---------------------------------------------------------------------


def _notification_base(element: Element, notification: common_pb2.Notification) -> None:
    sub(element, None, "connectionId", notification.connection_id)
    sub(element, None, "notificationId", str(notification.notification_id))
    sub(
        element,
        None,
        "timeStamp",
        _stamp(notification.time_stamp, notification.HasField("time_stamp")),
    )


def fill_error_event(element: Element, message: requester_pb2.ErrorEventRequest) -> None:
    if message.event == common_pb2.UNSPECIFIED:
        raise payload_error("errorEvent/event", "the event type is unspecified")
    _notification_base(element, message.notification)
    sub(element, None, "event", camel(common_pb2.EventType.Name(message.event), lower_first=True))
    sub(element, None, "originatingConnectionId", message.originating_connection_id)
    sub(element, None, "originatingNSA", message.originating_nsa)
    if message.additional_info:
        add_type_value_pairs(
            sub(element, None, "additionalInfo"), "attribute", message.additional_info
        )
    if message.HasField("service_exception"):
        add_service_exception(element, message.service_exception)


def fill_reserve_timeout(element: Element, message: requester_pb2.ReserveTimeoutRequest) -> None:
    _notification_base(element, message.notification)
    sub(element, None, "timeoutValue", str(message.timeout_value))
    sub(element, None, "originatingConnectionId", message.originating_connection_id)
    sub(element, None, "originatingNSA", message.originating_nsa)


def fill_data_plane_state_change(
    element: Element, message: requester_pb2.DataPlaneStateChangeRequest
) -> None:
    _notification_base(element, message.notification)
    add_data_plane_status(element, message.data_plane_status)


def fill_message_delivery_timeout(
    element: Element, message: requester_pb2.MessageDeliveryTimeoutRequest
) -> None:
    _notification_base(element, message.notification)
    sub(element, None, "correlationId", message.correlation_id)


# --- query results -------------------------------------------------------------------------


def _add_reservation(
    parent: Element, result: requester_pb2.QueryResult, *, recursive: bool
) -> None:
    element = sub(parent, None, "reservation")
    sub(element, None, "connectionId", result.connection_id)
    if result.global_reservation_id:
        sub(element, None, "globalReservationId", result.global_reservation_id)
    if result.description:
        sub(element, None, "description", result.description)
    for criteria in result.criteria:
        # A recursive child must carry its own states and criteria, which the
        # contract's ChildResult does not have: children are summary-only.
        add_result_criteria(element, criteria, with_children=not recursive)
    sub(element, None, "requesterNSA", result.requester_nsa)
    add_connection_states(element, result.connection_states)
    if result.notification_id:
        sub(element, None, "notificationId", str(result.notification_id))
    if result.result_id:
        sub(element, None, "resultId", str(result.result_id))


def fill_query_confirmed(
    element: Element, message: requester_pb2.QueryConfirmedRequest, *, recursive: bool
) -> None:
    for result in message.reservation:
        _add_reservation(element, result, recursive=recursive)
    if not recursive and message.HasField("last_modified"):
        sub(element, None, "lastModified", format_datetime(message.last_modified))


def fill_query_notification_confirmed(
    element: Element, message: requester_pb2.QueryNotificationConfirmedRequest
) -> None:
    items: list[tuple[int, str, object]] = []
    for event in message.error_event:
        items.append((event.notification.notification_id, "errorEvent", event))
    for timeout in message.reserve_timeout:
        items.append((timeout.notification.notification_id, "reserveTimeout", timeout))
    for change in message.data_plane_state_change:
        items.append((change.notification.notification_id, "dataPlaneStateChange", change))
    for lost in message.message_delivery_timeout:
        items.append((lost.notification.notification_id, "messageDeliveryTimeout", lost))
    for _, name, item in sorted(items, key=lambda entry: entry[0]):
        body = sub(element, CONNECTION_TYPES, name)
        if isinstance(item, requester_pb2.ErrorEventRequest):
            fill_error_event(body, item)
        elif isinstance(item, requester_pb2.ReserveTimeoutRequest):
            fill_reserve_timeout(body, item)
        elif isinstance(item, requester_pb2.DataPlaneStateChangeRequest):
            fill_data_plane_state_change(body, item)
        elif isinstance(item, requester_pb2.MessageDeliveryTimeoutRequest):
            fill_message_delivery_timeout(body, item)


def fill_query_result_confirmed(
    element: Element, message: requester_pb2.QueryResultConfirmedRequest
) -> None:
    for response in message.result:
        item = sub(element, None, "result")
        sub(item, None, "resultId", str(response.result_id))
        sub(item, None, "correlationId", response.correlation_id)
        sub(item, None, "timeStamp", _stamp(response.time_stamp, response.HasField("time_stamp")))
        kind = response.WhichOneof("type")
        if kind is None:
            raise payload_error("queryResultConfirmed/result", "a result without a body")
        body = sub(item, CONNECTION_TYPES, camel(kind.upper(), lower_first=True))
        value = getattr(response, kind)
        if isinstance(value, requester_pb2.ReserveConfirmedRequest):
            fill_reserve_confirmed(body, value)
        elif isinstance(value, requester_pb2.GenericFailedRequest):
            fill_generic_failed(body, value)
        elif isinstance(value, requester_pb2.GenericConfirmedRequest):
            fill_generic_confirmed(body, value)
        elif isinstance(value, requester_pb2.ErrorRequest):
            fill_error(body, value)
