"""A small NSI provider over real gRPC that holds reservations: the e2e tests' provider side.

It answers at once and delivers the outcome later through the ConnectionRequester
service of the proxy, in order, like a provider agent.  It keeps just enough
state (criteria versions, the three state machines, notifications and results)
to answer the lifecycle and the queries consistently.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2
from nsgw_proto.nsi import connection_requester_pb2_grpc as requester_grpc

REQUESTER_PROTOCOL = "application/vnd.ogf.nsi.cs.v2.requester+soap"


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp


@dataclass
class Reservation:
    connection_id: str
    global_reservation_id: str
    description: str
    requester_nsa: str
    criteria: requester_pb2.ReservationConfirmCriteria
    states: common_pb2.ConnectionStates = field(default_factory=common_pb2.ConnectionStates)
    notifications: list[requester_pb2.DataPlaneStateChangeRequest] = field(default_factory=list)
    results: list[requester_pb2.ResultResponse] = field(default_factory=list)


class NsiProviderDouble(provider_grpc.ConnectionProviderServicer):
    def __init__(self) -> None:
        self.reservations: dict[str, Reservation] = {}
        self.requester_target = ""
        self._outgoing: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    # --- delivery of callbacks, in order ---------------------------------------------

    async def _deliver(self) -> None:
        async with grpc.aio.insecure_channel(self.requester_target) as channel:
            stub = requester_grpc.ConnectionRequesterStub(channel)
            while True:
                method, message = await self._outgoing.get()
                await getattr(stub, method)(message, timeout=10)

    def _send(self, method: str, message: Any) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._deliver())
        self._outgoing.put_nowait((method, message))

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    @staticmethod
    def _callback_header(header: common_pb2.Header) -> common_pb2.Header:
        echoed = common_pb2.Header()
        echoed.CopyFrom(header)
        echoed.protocol_version = REQUESTER_PROTOCOL
        echoed.session_security_attributes = ""
        return echoed

    def _result(self, reservation: Reservation, header: common_pb2.Header, **body: Any) -> None:
        reservation.results.append(
            requester_pb2.ResultResponse(
                result_id=len(reservation.results) + 1,
                correlation_id=header.correlation_id,
                time_stamp=_now(),
                **body,
            )
        )

    def _unknown(
        self, header: common_pb2.Header, connection_id: str
    ) -> common_pb2.GenericAcknowledgment:
        ack = common_pb2.GenericAcknowledgment(header=header)
        ack.service_exception.CopyFrom(
            common_pb2.ServiceException(
                nsa_id=header.provider_nsa,
                connection_id=connection_id,
                error_id="00203",
                text=f"RESERVATION_NONEXISTENT: no such connection [{connection_id}]",
            )
        )
        return ack

    # --- reservation ------------------------------------------------------------------

    async def Reserve(self, request: Any, context: Any) -> Any:
        header = request.header
        existing = self.reservations.get(request.connection_id) if request.connection_id else None
        if request.connection_id and existing is None:
            ack = self._unknown(header, request.connection_id)
            return provider_pb2.ReserveResponse(
                header=header, service_exception=ack.service_exception
            )
        wanted = request.criteria
        if existing is None:
            criteria = requester_pb2.ReservationConfirmCriteria(
                version=max(wanted.version, 1),
                schedule=wanted.schedule,
                serviceType=wanted.service_type,
                ptps=wanted.ptps,
            )
            reservation = Reservation(
                connection_id=str(uuid.uuid4()),
                global_reservation_id=request.global_reservation_id,
                description=request.description,
                requester_nsa=header.requester_nsa,
                criteria=criteria,
            )
            self.reservations[reservation.connection_id] = reservation
        else:
            reservation = existing
            reservation.criteria.version = wanted.version or reservation.criteria.version + 1
            if wanted.HasField("schedule"):
                for name in ("start_time", "end_time"):
                    if wanted.schedule.HasField(name):
                        getattr(reservation.criteria.schedule, name).CopyFrom(
                            getattr(wanted.schedule, name)
                        )
            if wanted.HasField("ptps") and wanted.ptps.capacity:
                reservation.criteria.ptps.capacity = wanted.ptps.capacity
        reservation.states.reservation_state = common_pb2.RESERVE_HELD
        confirmed = requester_pb2.ReserveConfirmedRequest(
            header=self._callback_header(header),
            connection_id=reservation.connection_id,
            global_reservation_id=reservation.global_reservation_id,
            description=reservation.description,
            criteria=reservation.criteria,
        )
        bare = requester_pb2.ReserveConfirmedRequest()
        bare.CopyFrom(confirmed)
        bare.ClearField("header")
        self._result(reservation, header, reserve_confirmed=bare)
        self._send("ReserveConfirmed", confirmed)
        return provider_pb2.ReserveResponse(header=header, connection_id=reservation.connection_id)

    async def _generic(
        self,
        request: Any,
        method: str,
        result_field: str,
        change: Any,
    ) -> common_pb2.GenericAcknowledgment:
        reservation = self.reservations.get(request.connection_id)
        if reservation is None:
            return self._unknown(request.header, request.connection_id)
        change(reservation)
        header = self._callback_header(request.header)
        confirmed = requester_pb2.GenericConfirmedRequest(
            header=header, connection_id=reservation.connection_id
        )
        self._result(
            reservation,
            request.header,
            **{
                result_field: requester_pb2.GenericConfirmedRequest(
                    connection_id=reservation.connection_id
                )
            },
        )
        self._send(method, confirmed)
        return common_pb2.GenericAcknowledgment(header=request.header)

    def _data_plane(
        self, reservation: Reservation, header: common_pb2.Header, active: bool
    ) -> None:
        reservation.states.data_plane_status.active = active
        reservation.states.data_plane_status.version = reservation.criteria.version
        reservation.states.data_plane_status.version_consistent = True
        change = requester_pb2.DataPlaneStateChangeRequest(
            header=self._callback_header(header),
            notification=common_pb2.Notification(
                connection_id=reservation.connection_id,
                notification_id=len(reservation.notifications) + 1,
                time_stamp=_now(),
            ),
            data_plane_status=reservation.states.data_plane_status,
        )
        kept = requester_pb2.DataPlaneStateChangeRequest()
        kept.CopyFrom(change)
        kept.ClearField("header")
        reservation.notifications.append(kept)
        self._send("DataPlaneStateChange", change)

    async def ReserveCommit(self, request: Any, context: Any) -> Any:
        def commit(reservation: Reservation) -> None:
            reservation.states.reservation_state = common_pb2.RESERVE_START

        return await self._generic(
            request, "ReserveCommitConfirmed", "reserve_commit_confirmed", commit
        )

    async def ReserveAbort(self, request: Any, context: Any) -> Any:
        def abort(reservation: Reservation) -> None:
            reservation.states.reservation_state = common_pb2.RESERVE_START

        return await self._generic(
            request, "ReserveAbortConfirmed", "reserve_abort_confirmed", abort
        )

    async def Provision(self, request: Any, context: Any) -> Any:
        def provision(reservation: Reservation) -> None:
            reservation.states.provision_state = common_pb2.PROVISIONED

        ack = await self._generic(request, "ProvisionConfirmed", "provision_confirmed", provision)
        if not ack.HasField("service_exception"):
            self._data_plane(self.reservations[request.connection_id], request.header, True)
        return ack

    async def Release(self, request: Any, context: Any) -> Any:
        def release(reservation: Reservation) -> None:
            reservation.states.provision_state = common_pb2.RELEASED

        ack = await self._generic(request, "ReleaseConfirmed", "release_confirmed", release)
        if not ack.HasField("service_exception"):
            self._data_plane(self.reservations[request.connection_id], request.header, False)
        return ack

    async def Terminate(self, request: Any, context: Any) -> Any:
        def terminate(reservation: Reservation) -> None:
            reservation.states.lifecycle_state = common_pb2.TERMINATED

        return await self._generic(request, "TerminateConfirmed", "terminate_confirmed", terminate)

    # --- queries ------------------------------------------------------------------------

    def _summary(self, request: Any) -> requester_pb2.QueryConfirmedRequest:
        reply = requester_pb2.QueryConfirmedRequest(header=self._callback_header(request.header))
        for reservation in self.reservations.values():
            if request.connection_id and reservation.connection_id not in request.connection_id:
                continue
            if (
                request.global_reservation_id
                and reservation.global_reservation_id not in request.global_reservation_id
            ):
                continue
            if reservation.requester_nsa != request.header.requester_nsa:
                continue
            result = reply.reservation.add(
                connection_id=reservation.connection_id,
                global_reservation_id=reservation.global_reservation_id,
                description=reservation.description,
                requester_nsa=reservation.requester_nsa,
                connection_states=reservation.states,
                notification_id=len(reservation.notifications),
                result_id=len(reservation.results),
            )
            result.criteria.add(
                version=reservation.criteria.version,
                schedule=reservation.criteria.schedule,
                service_type=reservation.criteria.serviceType,
                ptps=reservation.criteria.ptps,
            )
        return reply

    def _notifications(self, request: Any) -> requester_pb2.QueryNotificationConfirmedRequest:
        reply = requester_pb2.QueryNotificationConfirmedRequest(
            header=self._callback_header(request.header)
        )
        reservation = self.reservations.get(request.connection_id)
        for item in reservation.notifications if reservation else []:
            number = item.notification.notification_id
            if request.start_notification_id and number < request.start_notification_id:
                continue
            if request.end_notification_id and number > request.end_notification_id:
                continue
            reply.data_plane_state_change.append(item)
        return reply

    def _results(self, request: Any) -> requester_pb2.QueryResultConfirmedRequest:
        reply = requester_pb2.QueryResultConfirmedRequest(
            header=self._callback_header(request.header)
        )
        reservation = self.reservations.get(request.connection_id)
        for item in reservation.results if reservation else []:
            if request.start_result_id and item.result_id < request.start_result_id:
                continue
            if request.end_result_id and item.result_id > request.end_result_id:
                continue
            reply.result.append(item)
        return reply

    async def QuerySummary(self, request: Any, context: Any) -> Any:
        self._send("QuerySummaryConfirmed", self._summary(request))
        return common_pb2.GenericAcknowledgment(header=request.header)

    async def QueryRecursive(self, request: Any, context: Any) -> Any:
        self._send("QueryRecursiveConfirmed", self._summary(request))
        return common_pb2.GenericAcknowledgment(header=request.header)

    async def QuerySummarySync(self, request: Any, context: Any) -> Any:
        return self._summary(request)

    async def QueryNotification(self, request: Any, context: Any) -> Any:
        self._send("QueryNotificationConfirmed", self._notifications(request))
        return common_pb2.GenericAcknowledgment(header=request.header)

    async def QueryNotificationSync(self, request: Any, context: Any) -> Any:
        return self._notifications(request)

    async def QueryResult(self, request: Any, context: Any) -> Any:
        self._send("QueryResultConfirmed", self._results(request))
        return common_pb2.GenericAcknowledgment(header=request.header)

    async def QueryResultSync(self, request: Any, context: Any) -> Any:
        return self._results(request)
