"""The ConnectionRequester gRPC service: provider callbacks -> queued SOAP messages.

A provider agent calls one of the 17 methods; the servicer builds the SOAP
requester message, addresses it to the ``replyTo`` of the original request
(echoed by the agent, or remembered from the request) and hands it to a
durable :class:`CallbackQueue`, ordered by connection.  It answers as soon
as the message is queued: delivery, retries and give-up are the queue's.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

import grpc

from adapters.nsi_soap.delivery import SOAP_ACTION_ATTRIBUTE
from adapters.nsi_soap.faults import NsiError, missing_parameter, payload_error
from adapters.nsi_soap.header import HeaderExtras
from adapters.nsi_soap.namespaces import soap_action
from adapters.nsi_soap.requester_messages import build_callback, connection_of
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2
from nsgw_proto.nsi import connection_requester_pb2_grpc as requester_grpc

SERVICE_NAME = "connection.requester.ConnectionRequester"


class CallbackQueue(Protocol):
    """Durable, ordered delivery of SOAP callbacks (the gateway's outbox)."""

    async def put(
        self, ordering_key: str, destination: str, payload: bytes, attributes: dict[str, Any]
    ) -> None: ...


@dataclass(frozen=True)
class SoapCallback:
    """A requester message ready to POST, and the key that orders it among its connection's."""

    ordering_key: str
    destination: str
    payload: bytes
    attributes: dict[str, Any]


# ConnectionRequester method -> the SOAP requester operation it becomes
CALLBACK_OPERATIONS: dict[str, str] = {
    method: method[0].lower() + method[1:]
    for method in requester_grpc.ConnectionRequesterServicer.__dict__
    if method[0].isupper()
}


@dataclass(frozen=True)
class RememberedRequest:
    reply_to: str
    extras: HeaderExtras


class RequestRecords(Protocol):
    """Durable storage of what a request's callbacks need back (the gateway's database)."""

    async def save(self, correlation_id: str, request: RememberedRequest) -> None: ...

    async def load(self, correlation_id: str) -> RememberedRequest | None: ...


class RequestMemory:
    """replyTo and header extensions of recent requests, by correlationId.

    Held in memory (bounded) and, when ``records`` is given, written through
    to durable storage for requests that carry extensions (connectionTrace...):
    the contract has no field for them, so after a restart they can only come
    from there.  replyTo is a contract field the agent echoes, so requests
    without extensions cost no write.
    """

    def __init__(self, capacity: int = 100_000, records: RequestRecords | None = None) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, RememberedRequest] = OrderedDict()
        self._records = records

    async def keep(self, correlation_id: str, reply_to: str, extras: HeaderExtras) -> None:
        """Remember a request; durably (before it is forwarded) if it carries extensions."""
        self.remember(correlation_id, reply_to, extras)
        if extras and self._records is not None:
            await self._records.save(correlation_id, RememberedRequest(reply_to, extras))

    async def find(self, correlation_id: str) -> RememberedRequest | None:
        """What was remembered of a request, from memory or else from durable storage."""
        found = self.recall(correlation_id)
        if found is None and self._records is not None:
            found = await self._records.load(correlation_id)
        return found

    def remember(self, correlation_id: str, reply_to: str, extras: HeaderExtras) -> None:
        if not reply_to and not extras:
            return
        self._entries[correlation_id] = RememberedRequest(reply_to, extras)
        self._entries.move_to_end(correlation_id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def recall(self, correlation_id: str) -> RememberedRequest | None:
        return self._entries.get(correlation_id)

    def __len__(self) -> int:
        return len(self._entries)


class RequesterService(requester_grpc.ConnectionRequesterServicer):
    """All 17 ConnectionRequester methods."""

    def __init__(self, queue: CallbackQueue, memory: RequestMemory, nsa_id: str = "") -> None:
        self._queue = queue
        self._memory = memory
        self._nsa_id = nsa_id

    async def prepare(self, operation: str, request: Any) -> SoapCallback:
        """The SOAP requester message for a provider's callback, addressed to its replyTo.

        Raises :class:`NsiError` when it has nowhere to go or cannot be expressed.
        """
        header: common_pb2.Header = request.header
        remembered = await self._memory.find(header.correlation_id)
        destination = header.reply_to or (remembered.reply_to if remembered else "")
        if not destination:
            raise missing_parameter("header/reply_to")
        try:
            payload = build_callback(operation, request, remembered.extras if remembered else None)
        except ValueError as exc:  # text XML cannot carry (control characters)
            raise payload_error(operation, str(exc)) from None
        connection_id = connection_of(request)
        return SoapCallback(
            ordering_key=connection_id or header.correlation_id,
            destination=destination,
            payload=payload,
            attributes={
                SOAP_ACTION_ATTRIBUTE: soap_action(operation),
                "operation": operation,
                "correlation_id": header.correlation_id,
                "connection_id": connection_id,
            },
        )

    async def _enqueue(
        self, operation: str, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.GenericAcknowledgment:
        header: common_pb2.Header = request.header
        ack = common_pb2.GenericAcknowledgment(header=header)
        try:
            callback = await self.prepare(operation, request)
        except NsiError as error:
            ack.service_exception.CopyFrom(error.to_proto(self._nsa_id or header.provider_nsa))
            return ack
        try:
            await self._queue.put(
                callback.ordering_key, callback.destination, callback.payload, callback.attributes
            )
        except Exception as exc:  # the queue is the gateway's; report, do not crash
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"callback not queued: {exc}")
        return ack

    async def ReserveFailed(self, request: Any, context: Any) -> Any:
        return await self._enqueue("reserveFailed", request, context)

    async def ReserveConfirmed(self, request: Any, context: Any) -> Any:
        return await self._enqueue("reserveConfirmed", request, context)

    async def ReserveCommitConfirmed(self, request: Any, context: Any) -> Any:
        return await self._enqueue("reserveCommitConfirmed", request, context)

    async def ReserveCommitFailed(self, request: Any, context: Any) -> Any:
        return await self._enqueue("reserveCommitFailed", request, context)

    async def ReserveAbortConfirmed(self, request: Any, context: Any) -> Any:
        return await self._enqueue("reserveAbortConfirmed", request, context)

    async def ProvisionConfirmed(self, request: Any, context: Any) -> Any:
        return await self._enqueue("provisionConfirmed", request, context)

    async def ReleaseConfirmed(self, request: Any, context: Any) -> Any:
        return await self._enqueue("releaseConfirmed", request, context)

    async def TerminateConfirmed(self, request: Any, context: Any) -> Any:
        return await self._enqueue("terminateConfirmed", request, context)

    async def Error(self, request: Any, context: Any) -> Any:
        return await self._enqueue("error", request, context)

    async def ErrorEvent(self, request: Any, context: Any) -> Any:
        return await self._enqueue("errorEvent", request, context)

    async def DataPlaneStateChange(self, request: Any, context: Any) -> Any:
        return await self._enqueue("dataPlaneStateChange", request, context)

    async def ReserveTimeout(self, request: Any, context: Any) -> Any:
        return await self._enqueue("reserveTimeout", request, context)

    async def MessageDeliveryTimeout(self, request: Any, context: Any) -> Any:
        return await self._enqueue("messageDeliveryTimeout", request, context)

    async def QuerySummaryConfirmed(self, request: Any, context: Any) -> Any:
        return await self._enqueue("querySummaryConfirmed", request, context)

    async def QueryRecursiveConfirmed(self, request: Any, context: Any) -> Any:
        return await self._enqueue("queryRecursiveConfirmed", request, context)

    async def QueryNotificationConfirmed(self, request: Any, context: Any) -> Any:
        return await self._enqueue("queryNotificationConfirmed", request, context)

    async def QueryResultConfirmed(self, request: Any, context: Any) -> Any:
        ack = await self._enqueue("queryResultConfirmed", request, context)
        if ack.HasField("service_exception"):  # this reply type has no room for it
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, ack.service_exception.text)
        return requester_pb2.QueryResultConfirmedResponse(header=ack.header)


def add_to_server(service: RequesterService, server: grpc.aio.Server) -> str:
    requester_grpc.add_ConnectionRequesterServicer_to_server(service, server)
    return SERVICE_NAME
