"""The 13 provider requests, SOAP <-> proto, and the synchronous replies.

Reading turns a request body into the ConnectionProvider request message
(the header is added by the caller).  Building the requests is the reverse,
used by a requester (and by the tests and benchmarks).  The replies are
``reserveResponse``, ``acknowledgment`` and the three ``*SyncConfirmed``
bodies, all with the requester protocolVersion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message as ProtoMessage

from adapters.nsi_soap import requester_bodies as bodies
from adapters.nsi_soap.criteria import add_request_criteria, read_request_criteria
from adapters.nsi_soap.elements import (
    Element,
    child,
    children,
    format_datetime,
    local_name,
    optional_text,
    parse_datetime,
    parse_int,
    required,
    required_text,
    sub,
    text,
)
from adapters.nsi_soap.envelope import build_envelope, new_body
from adapters.nsi_soap.faults import payload_error
from adapters.nsi_soap.header import HeaderExtras, build_header
from adapters.nsi_soap.namespaces import PROVIDER_PROTOCOL, REQUESTER_PROTOCOL
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2

GENERIC_OPERATIONS = ("reserveCommit", "reserveAbort", "provision", "release", "terminate")
QUERY_OPERATIONS = ("querySummary", "querySummarySync", "queryRecursive")
SYNC_OPERATIONS = ("querySummarySync", "queryNotificationSync", "queryResultSync")


def _read_reserve(body: Element) -> provider_pb2.ReserveRequest:
    description = child(body, None, "description")
    return provider_pb2.ReserveRequest(
        connection_id=optional_text(body, None, "connectionId"),
        global_reservation_id=optional_text(body, None, "globalReservationId"),
        # the description is free text: kept exactly, surrounding spaces included
        description=(description.text or "") if description is not None else "",
        criteria=read_request_criteria(required(body, None, "criteria")),
    )


def _read_generic(body: Element) -> provider_pb2.GenericRequest:
    return provider_pb2.GenericRequest(connection_id=required_text(body, None, "connectionId"))


def _read_query(body: Element) -> provider_pb2.QueryRequest:
    request = provider_pb2.QueryRequest(
        connection_id=[text(item) for item in children(body, None, "connectionId")],
        global_reservation_id=[text(item) for item in children(body, None, "globalReservationId")],
    )
    if request.connection_id and request.global_reservation_id:
        raise payload_error(
            "globalReservationId", "filter by connectionId or globalReservationId, not both"
        )
    since = child(body, None, "ifModifiedSince")
    if since is not None:
        request.if_modified_since.CopyFrom(parse_datetime(since))
    return request


def _range(body: Element, name: str) -> int:
    element = child(body, None, name)
    return 0 if element is None else parse_int(element)


def _read_query_notification(body: Element) -> provider_pb2.QueryNotificationRequest:
    return provider_pb2.QueryNotificationRequest(
        connection_id=required_text(body, None, "connectionId"),
        start_notification_id=_range(body, "startNotificationId"),
        end_notification_id=_range(body, "endNotificationId"),
    )


def _read_query_result(body: Element) -> provider_pb2.QueryResultRequest:
    return provider_pb2.QueryResultRequest(
        connection_id=required_text(body, None, "connectionId"),
        start_result_id=_range(body, "startResultId"),
        end_result_id=_range(body, "endResultId"),
    )


READERS: dict[str, Callable[[Element], Any]] = {
    "reserve": _read_reserve,
    **dict.fromkeys(GENERIC_OPERATIONS, _read_generic),
    **dict.fromkeys(QUERY_OPERATIONS, _read_query),
    "queryNotification": _read_query_notification,
    "queryNotificationSync": _read_query_notification,
    "queryResult": _read_query_result,
    "queryResultSync": _read_query_result,
}

# The ConnectionProvider method each operation calls.
GRPC_METHODS: dict[str, str] = {
    operation: operation[0].upper() + operation[1:] for operation in READERS
}


def read_provider_request(body: Element, header: common_pb2.Header) -> Any:
    """The ConnectionProvider request for a provider operation's body."""
    request = READERS[local_name(body)](body)
    request.header.CopyFrom(header)
    return request


# --- building requests (the requester's side) -------------------------------------------


def _fill_request(operation: str, body: Element, request: Any) -> None:
    if operation == "reserve":
        if request.connection_id:
            sub(body, None, "connectionId", request.connection_id)
        if request.global_reservation_id:
            sub(body, None, "globalReservationId", request.global_reservation_id)
        if request.description:
            sub(body, None, "description", request.description)
        add_request_criteria(body, request.criteria)
    elif operation in GENERIC_OPERATIONS:
        sub(body, None, "connectionId", request.connection_id)
    elif operation in QUERY_OPERATIONS:
        for connection_id in request.connection_id:
            sub(body, None, "connectionId", connection_id)
        for global_id in request.global_reservation_id:
            sub(body, None, "globalReservationId", global_id)
        if request.HasField("if_modified_since"):
            sub(body, None, "ifModifiedSince", format_datetime(request.if_modified_since))
    else:
        prefix = "Notification" if operation.startswith("queryNotification") else "Result"
        sub(body, None, "connectionId", request.connection_id)
        start = getattr(request, f"start_{prefix.lower()}_id")
        end = getattr(request, f"end_{prefix.lower()}_id")
        if start:
            sub(body, None, f"start{prefix}Id", str(start))
        if end:
            sub(body, None, f"end{prefix}Id", str(end))


def build_provider_request(
    operation: str, request: ProtoMessage, extras: HeaderExtras | None = None
) -> bytes:
    """A provider request envelope (original request: replyTo etc. included)."""
    body = new_body(operation)
    _fill_request(operation, body, request)
    header = build_header(
        request.header,  # type: ignore[attr-defined]
        extras,
        protocol_version=PROVIDER_PROTOCOL,
        original_request=True,
    )
    return build_envelope(header, body)


# --- synchronous replies -----------------------------------------------------------------


def _reply_header(header: common_pb2.Header, extras: HeaderExtras | None) -> Element:
    return build_header(header, extras, protocol_version=REQUESTER_PROTOCOL)


def build_reserve_response(
    header: common_pb2.Header, connection_id: str, extras: HeaderExtras | None = None
) -> bytes:
    body = new_body("reserveResponse")
    sub(body, None, "connectionId", connection_id)
    return build_envelope(_reply_header(header, extras), body)


def build_acknowledgment(header: common_pb2.Header, extras: HeaderExtras | None = None) -> bytes:
    return build_envelope(_reply_header(header, extras), new_body("acknowledgment"))


def build_sync_reply(
    operation: str,
    header: common_pb2.Header,
    reply: ProtoMessage,
    extras: HeaderExtras | None = None,
) -> bytes:
    """The ``<operation>Confirmed`` body answering a ``*Sync`` query."""
    body = new_body(f"{operation}Confirmed")
    if isinstance(reply, requester_pb2.QueryConfirmedRequest):
        bodies.fill_query_confirmed(body, reply, recursive=False)
    elif isinstance(reply, requester_pb2.QueryNotificationConfirmedRequest):
        bodies.fill_query_notification_confirmed(body, reply)
    elif isinstance(reply, requester_pb2.QueryResultConfirmedRequest):
        bodies.fill_query_result_confirmed(body, reply)
    else:
        raise TypeError(f"no sync reply for {type(reply).__name__}")
    return build_envelope(_reply_header(header, extras), body)
