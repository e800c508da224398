"""Delivery of the agent's callbacks: ConnectionRequester gRPC calls from the outbox.

Each outbox message of channel ``nsi-agent-callback`` is one call: the
payload is the serialized request, the ``method`` attribute names the
ConnectionRequester method, the destination is the requester's gRPC target.
An unreachable or slow requester is retried (DeliveryError); a requester that
does not know the method or rejects the message is given up at once
(DeliveryRefused); either way, on give-up the agent records a
messageDeliveryTimeout notification for the connection.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import grpc
from google.protobuf.message import Message

from gateway.logs import get_logger
from gateway.outbox import DeliveryError, DeliveryRefused, Envelope
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2

log = get_logger(__name__)

SERVICE = "connection.requester.ConnectionRequester"

# method -> (request class, response class)
METHODS: dict[str, tuple[Any, Any]] = {
    "ReserveFailed": (requester_pb2.GenericFailedRequest, common_pb2.GenericAcknowledgment),
    "ReserveConfirmed": (requester_pb2.ReserveConfirmedRequest, common_pb2.GenericAcknowledgment),
    "ReserveCommitConfirmed": (
        requester_pb2.GenericConfirmedRequest,
        common_pb2.GenericAcknowledgment,
    ),
    "ReserveCommitFailed": (requester_pb2.GenericFailedRequest, common_pb2.GenericAcknowledgment),
    "ReserveAbortConfirmed": (
        requester_pb2.GenericConfirmedRequest,
        common_pb2.GenericAcknowledgment,
    ),
    "ProvisionConfirmed": (requester_pb2.GenericConfirmedRequest, common_pb2.GenericAcknowledgment),
    "ReleaseConfirmed": (requester_pb2.GenericConfirmedRequest, common_pb2.GenericAcknowledgment),
    "TerminateConfirmed": (requester_pb2.GenericConfirmedRequest, common_pb2.GenericAcknowledgment),
    "Error": (requester_pb2.ErrorRequest, common_pb2.GenericAcknowledgment),
    "ErrorEvent": (requester_pb2.ErrorEventRequest, common_pb2.GenericAcknowledgment),
    "DataPlaneStateChange": (
        requester_pb2.DataPlaneStateChangeRequest,
        common_pb2.GenericAcknowledgment,
    ),
    "ReserveTimeout": (requester_pb2.ReserveTimeoutRequest, common_pb2.GenericAcknowledgment),
    "MessageDeliveryTimeout": (
        requester_pb2.MessageDeliveryTimeoutRequest,
        common_pb2.GenericAcknowledgment,
    ),
    "QuerySummaryConfirmed": (
        requester_pb2.QueryConfirmedRequest,
        common_pb2.GenericAcknowledgment,
    ),
    "QueryRecursiveConfirmed": (
        requester_pb2.QueryConfirmedRequest,
        common_pb2.GenericAcknowledgment,
    ),
    "QueryNotificationConfirmed": (
        requester_pb2.QueryNotificationConfirmedRequest,
        common_pb2.GenericAcknowledgment,
    ),
    "QueryResultConfirmed": (
        requester_pb2.QueryResultConfirmedRequest,
        requester_pb2.QueryResultConfirmedResponse,
    ),
}

_RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.CANCELLED,
}


class LocalRequester(Protocol):
    """A ConnectionRequester in this process (the SOAP proxy), called without gRPC.

    The agent's outbox keeps each callback and retries it; the requester sends
    it on at once.
    """

    async def deliver_now(self, method: str, request: Any, attempts: int) -> None:
        """Raises DeliveryError to be retried, DeliveryRefused to be given up."""
        ...

    def gave_up(self, attributes: dict[str, Any], destination: str, reason: str) -> None:
        """Told that a callback was given up."""
        ...


def request_of(message: Envelope) -> Message:
    """The ConnectionRequester request an outbox message holds."""
    method = str(message.attributes.get("method", ""))
    if method not in METHODS:
        raise DeliveryRefused(f"unknown ConnectionRequester method {method!r}")
    request: Message = METHODS[method][0].FromString(message.payload)
    return request


class RequesterCallbacks:
    """The outbox delivery function: one ConnectionRequester call per message."""

    def __init__(self, *, deadline: float = 10.0) -> None:
        self._deadline = deadline
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._lock = asyncio.Lock()

    async def _channel(self, target: str) -> grpc.aio.Channel:
        async with self._lock:
            channel = self._channels.get(target)
            if channel is None:
                channel = grpc.aio.insecure_channel(target)
                self._channels[target] = channel
            return channel

    async def __call__(self, message: Envelope) -> None:
        method = str(message.attributes.get("method", ""))
        if method not in METHODS:
            raise DeliveryRefused(f"unknown ConnectionRequester method {method!r}")
        if not message.destination:
            raise DeliveryRefused("no requester target configured")
        _, response_class = METHODS[method]
        channel = await self._channel(message.destination)
        call = channel.unary_unary(
            f"/{SERVICE}/{method}",
            request_serializer=lambda payload: payload,
            response_deserializer=response_class.FromString,
        )
        try:
            await call(message.payload, timeout=self._deadline)
        except grpc.aio.AioRpcError as exc:
            detail = f"{method} to {message.destination}: {exc.code().name} {exc.details() or ''}"
            if exc.code() in _RETRYABLE:
                raise DeliveryError(detail) from None
            raise DeliveryRefused(detail) from None

    async def close(self) -> None:
        async with self._lock:
            channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close(None)
