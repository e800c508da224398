"""The ``connection.provider.ConnectionProvider`` gRPC servicer.

Translates protobuf to the domain and back.  An immediate refusal travels in
the ack's ``service_exception`` (error id, text, variables naming the input),
never as a gRPC error status; an unexpected fault becomes 00500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import grpc

from gateway.agent import messages as msg
from gateway.agent.domain.errors import ErrorCode, NsiError
from gateway.agent.service import AgentService, RequestContext
from gateway.logs import get_logger
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2

log = get_logger(__name__)
Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")
EXCEPTION_METADATA = "nsi-service-exception-bin"


def _context(request: Any, operation: str) -> RequestContext:
    header = request.header
    return RequestContext(
        correlation_id=header.correlation_id,
        requester_nsa=header.requester_nsa,
        provider_nsa=header.provider_nsa,
        reply_to=header.reply_to,
        protocol_version=header.protocol_version,
        operation=operation,
        payload_hash=msg.payload_hash(request),
    )


def _ack_header(request: Any) -> common_pb2.Header:
    header = common_pb2.Header()
    header.CopyFrom(request.header)
    return header


class ConnectionProviderServicer(provider_grpc.ConnectionProviderServicer):
    def __init__(self, service: AgentService) -> None:
        self._service = service

    @property
    def _nsa(self) -> str:
        return self._service.config.nsa_id

    async def _guard(self, call: Awaitable[T], connection_id: str = "") -> tuple[T | None, Any]:
        """Run a call; an NsiError or fault becomes a ServiceException."""
        try:
            return await call, None
        except NsiError as exc:
            return None, msg.service_exception(exc, self._nsa, connection_id)
        except Exception:
            log.exception("provider agent request failed")
            error = NsiError(ErrorCode.GENERIC_INTERNAL_ERROR, "see the provider's log")
            return None, msg.service_exception(error, self._nsa, connection_id)

    async def Reserve(
        self, request: provider_pb2.ReserveRequest, context: Context
    ) -> provider_pb2.ReserveResponse:
        ctx = _context(request, "reserve")
        criteria = msg.criteria_request(request.criteria)
        if not request.connection_id:
            criteria = replace(criteria, capacity=msg.new_capacity_given(request.criteria))
        cid, error = await self._guard(
            self._service.reserve(
                ctx,
                request.connection_id,
                request.global_reservation_id,
                request.description,
                criteria,
            ),
            request.connection_id,
        )
        response = provider_pb2.ReserveResponse(
            header=_ack_header(request), connection_id=cid or request.connection_id
        )
        if error is not None:
            response.service_exception.CopyFrom(error)
        return response

    async def _generic(
        self,
        request: provider_pb2.GenericRequest,
        operation: str,
        call: Callable[[RequestContext, str], Awaitable[None]],
    ) -> common_pb2.GenericAcknowledgment:
        ctx = _context(request, operation)
        _, error = await self._guard(call(ctx, request.connection_id), request.connection_id)
        ack = common_pb2.GenericAcknowledgment(header=_ack_header(request))
        if error is not None:
            ack.service_exception.CopyFrom(error)
        return ack

    async def ReserveCommit(
        self, request: provider_pb2.GenericRequest, context: Context
    ) -> common_pb2.GenericAcknowledgment:
        return await self._generic(request, "reserveCommit", self._service.commit)

    async def ReserveAbort(
        self, request: provider_pb2.GenericRequest, context: Context
    ) -> common_pb2.GenericAcknowledgment:
        return await self._generic(request, "reserveAbort", self._service.abort)

    async def Provision(
        self, request: provider_pb2.GenericRequest, context: Context
    ) -> common_pb2.GenericAcknowledgment:
        return await self._generic(request, "provision", self._service.provision)

    async def Release(
        self, request: provider_pb2.GenericRequest, context: Context
    ) -> common_pb2.GenericAcknowledgment:
        return await self._generic(request, "release", self._service.release)

    async def Terminate(
        self, request: provider_pb2.GenericRequest, context: Context
    ) -> common_pb2.GenericAcknowledgment:
        return await self._generic(request, "terminate", self._service.terminate)

    # -- queries ------------------------------------------------------------
    def _summary(
        self, request: provider_pb2.QueryRequest, operation: str
    ) -> tuple[RequestContext, Awaitable[requester_pb2.QueryConfirmedRequest]]:
        ctx = _context(request, operation)
        since = (
            msg.from_timestamp(request.if_modified_since)
            if request.HasField("if_modified_since")
            else None
        )
        return ctx, self._service.query_summary(
            ctx, list(request.connection_id), list(request.global_reservation_id), since
        )

    async def _async_query(
        self, request: Any, ctx: RequestContext, method: str, answer: Awaitable[Any]
    ) -> common_pb2.GenericAcknowledgment:
        ack = common_pb2.GenericAcknowledgment(header=_ack_header(request))

        async def run() -> None:
            result = await answer
            await self._service.send_query_answer(ctx, method, result)

        _, error = await self._guard(run())
        if error is not None:
            ack.service_exception.CopyFrom(error)
        return ack

    async def _sync_or_abort(self, answer: Awaitable[T], context: Context) -> T:
        """A synchronous query's answer.  Its reply type has no serviceException field, so
        a refusal is a gRPC status (FAILED_PRECONDITION, details ``<errorId>: text``)
        with the ServiceException itself in the trailing metadata ``nsi-service-exception-bin``.
        """
        result, error = await self._guard(answer)
        if error is None:
            assert result is not None
            return result
        context.set_trailing_metadata(((EXCEPTION_METADATA, error.SerializeToString()),))
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{error.error_id}: {error.text}")
        raise AssertionError("unreachable")  # context.abort raises

    async def QuerySummary(
        self, request: provider_pb2.QueryRequest, context: Context
    ) -> common_pb2.GenericAcknowledgment:
        ctx, answer = self._summary(request, "querySummary")
        return await self._async_query(request, ctx, "QuerySummaryConfirmed", answer)

    async def QueryRecursive(
        self, request: provider_pb2.QueryRequest, context: Context
    ) -> common_pb2.GenericAcknowledgment:
        ctx, answer = self._summary(request, "queryRecursive")
        return await self._async_query(request, ctx, "QueryRecursiveConfirmed", answer)

    async def QuerySummarySync(
        self, request: provider_pb2.QueryRequest, context: Context
    ) -> requester_pb2.QueryConfirmedRequest:
        _, answer = self._summary(request, "querySummarySync")
        return await self._sync_or_abort(answer, context)

    async def QueryNotification(
        self, request: provider_pb2.QueryNotificationRequest, context: Context
    ) -> common_pb2.GenericAcknowledgment:
        ctx = _context(request, "queryNotification")
        answer = self._service.query_notifications(
            ctx,
            request.connection_id,
            request.start_notification_id,
            request.end_notification_id,
        )
        return await self._async_query(request, ctx, "QueryNotificationConfirmed", answer)

    async def QueryNotificationSync(
        self, request: provider_pb2.QueryNotificationRequest, context: Context
    ) -> requester_pb2.QueryNotificationConfirmedRequest:
        ctx = _context(request, "queryNotificationSync")
        answer = self._service.query_notifications(
            ctx,
            request.connection_id,
            request.start_notification_id,
            request.end_notification_id,
        )
        return await self._sync_or_abort(answer, context)

    async def QueryResult(
        self, request: provider_pb2.QueryResultRequest, context: Context
    ) -> common_pb2.GenericAcknowledgment:
        ctx = _context(request, "queryResult")
        answer = self._service.query_results(
            ctx, request.connection_id, request.start_result_id, request.end_result_id
        )
        return await self._async_query(request, ctx, "QueryResultConfirmed", answer)

    async def QueryResultSync(
        self, request: provider_pb2.QueryResultRequest, context: Context
    ) -> requester_pb2.QueryResultConfirmedRequest:
        ctx = _context(request, "queryResultSync")
        answer = self._service.query_results(
            ctx, request.connection_id, request.start_result_id, request.end_result_id
        )
        return await self._sync_or_abort(answer, context)
