"""The 17 requester messages (callbacks), proto -> SOAP.

Each callback goes to the requester with the requester protocolVersion, the
correlationId of the request it answers, and the header extensions that
request carried (connectionTrace and others) put back verbatim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message as ProtoMessage

from adapters.nsi_soap import requester_bodies as bodies
from adapters.nsi_soap.elements import Element
from adapters.nsi_soap.envelope import build_envelope, new_body
from adapters.nsi_soap.header import HeaderExtras, build_header
from adapters.nsi_soap.namespaces import REQUESTER_PROTOCOL
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2


@dataclass(frozen=True)
class Callback:
    """How one requester operation is built: its proto type and body filler."""

    operation: str
    request_type: type[ProtoMessage]
    fill: Callable[[Element, Any], None]


def _query(recursive: bool) -> Callable[[Element, Any], None]:
    def fill(element: Element, message: Any) -> None:
        bodies.fill_query_confirmed(element, message, recursive=recursive)

    return fill


CALLBACKS: dict[str, Callback] = {
    callback.operation: callback
    for callback in (
        Callback(
            "reserveConfirmed", requester_pb2.ReserveConfirmedRequest, bodies.fill_reserve_confirmed
        ),
        Callback("reserveFailed", requester_pb2.GenericFailedRequest, bodies.fill_generic_failed),
        Callback(
            "reserveCommitConfirmed",
            requester_pb2.GenericConfirmedRequest,
            bodies.fill_generic_confirmed,
        ),
        Callback(
            "reserveCommitFailed", requester_pb2.GenericFailedRequest, bodies.fill_generic_failed
        ),
        Callback(
            "reserveAbortConfirmed",
            requester_pb2.GenericConfirmedRequest,
            bodies.fill_generic_confirmed,
        ),
        Callback(
            "provisionConfirmed",
            requester_pb2.GenericConfirmedRequest,
            bodies.fill_generic_confirmed,
        ),
        Callback(
            "releaseConfirmed", requester_pb2.GenericConfirmedRequest, bodies.fill_generic_confirmed
        ),
        Callback(
            "terminateConfirmed",
            requester_pb2.GenericConfirmedRequest,
            bodies.fill_generic_confirmed,
        ),
        Callback("querySummaryConfirmed", requester_pb2.QueryConfirmedRequest, _query(False)),
        Callback("queryRecursiveConfirmed", requester_pb2.QueryConfirmedRequest, _query(True)),
        Callback(
            "queryNotificationConfirmed",
            requester_pb2.QueryNotificationConfirmedRequest,
            bodies.fill_query_notification_confirmed,
        ),
        Callback(
            "queryResultConfirmed",
            requester_pb2.QueryResultConfirmedRequest,
            bodies.fill_query_result_confirmed,
        ),
        Callback("error", requester_pb2.ErrorRequest, bodies.fill_error),
        Callback("errorEvent", requester_pb2.ErrorEventRequest, bodies.fill_error_event),
        Callback(
            "dataPlaneStateChange",
            requester_pb2.DataPlaneStateChangeRequest,
            bodies.fill_data_plane_state_change,
        ),
        Callback(
            "reserveTimeout", requester_pb2.ReserveTimeoutRequest, bodies.fill_reserve_timeout
        ),
        Callback(
            "messageDeliveryTimeout",
            requester_pb2.MessageDeliveryTimeoutRequest,
            bodies.fill_message_delivery_timeout,
        ),
    )
}


def build_callback(operation: str, message: Any, extras: HeaderExtras | None = None) -> bytes:
    """The SOAP envelope of a callback; raises NsiError if the message cannot be expressed."""
    callback = CALLBACKS[operation]
    if not isinstance(message, callback.request_type):
        raise TypeError(f"{operation} takes {callback.request_type.__name__}")
    body = new_body(operation)
    callback.fill(body, message)
    header = build_header(
        message.header,  # type: ignore[attr-defined]
        extras,
        protocol_version=REQUESTER_PROTOCOL,
    )
    return build_envelope(header, body)


def connection_of(message: Any) -> str:
    """The connection a callback is about (empty for query results)."""
    if hasattr(message, "connection_id"):
        return str(message.connection_id)
    if hasattr(message, "notification"):
        return str(message.notification.connection_id)
    if isinstance(message, requester_pb2.ErrorRequest):
        return message.service_exception.connection_id
    return ""
