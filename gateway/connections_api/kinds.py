"""The operation kinds of ``nsgw.v1.Connections``: each a sequence of NSI requests.

Every step is one provider request, sent once per operation (a resumed
operation finds the request it already sent and waits for it again), so the
kinds are resumable: after a restart the connection is reconciled and the
operation continues where it stood.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from gateway.connections_api.messages import PREFIX, connection_to_proto
from gateway.operations.engine import OperationContext, OperationEngine, OperationKind
from gateway.operations.model import OperationFailed
from gateway.requester import store
from gateway.requester.service import RequesterService, StepFailed
from nsgw_proto.nsgw.v1 import connection_resources_pb2 as resources_pb2
from nsgw_proto.nsgw.v1 import connections_pb2
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import services_pb2

P2P_SERVICE_TYPE = "http://services.ogf.org/nsi/2013/12/descriptions/EVTS.A-GOLE"

CREATE = "connections.CreateConnection"
MODIFY = "connections.ModifyConnection"
PROVISION = "connections.ProvisionConnection"
RELEASE = "connections.ReleaseConnection"
TERMINATE = "connections.TerminateConnection"


def _code_of(error_id: str) -> str:
    """The gRPC code an NSI error class maps to."""
    if error_id == "00705":
        return "RESOURCE_EXHAUSTED"
    return {
        "001": "INVALID_ARGUMENT",
        "002": "FAILED_PRECONDITION",
        "003": "PERMISSION_DENIED",
        "004": "NOT_FOUND",
        "005": "INTERNAL",
        "006": "UNAVAILABLE",
        "007": "FAILED_PRECONDITION",
    }.get(error_id[:3], "FAILED_PRECONDITION")


def failure_of(step: str, failed: StepFailed) -> OperationFailed:
    metadata = {"nsi_operation": step, "provider_nsa": failed.provider}
    if failed.error_id:
        metadata["nsi_error_id"] = failed.error_id
    if failed.kind == "timeout":
        return OperationFailed(
            "DEADLINE_EXCEEDED", "CONFIRMATION_TIMEOUT", str(failed), metadata=metadata
        )
    if failed.kind == "unreachable":
        return OperationFailed(
            "UNAVAILABLE", "PROVIDER_UNREACHABLE", str(failed), metadata=metadata, retry_delay=5.0
        )
    reason = "PROVIDER_REFUSED" if failed.kind == "refused" else "PROVIDER_FAILED"
    return OperationFailed(_code_of(failed.error_id), reason, str(failed), metadata=metadata)


class ConnectionKinds:
    """The runners, bound to one requester service."""

    def __init__(self, service: RequesterService) -> None:
        self.service = service

    def register(self, engine: OperationEngine) -> None:
        for name, request_type, run in (
            (CREATE, connections_pb2.CreateConnectionRequest, self.create),
            (MODIFY, connections_pb2.ModifyConnectionRequest, self.modify),
            (PROVISION, connections_pb2.ConnectionActionRequest, self.provision),
            (RELEASE, connections_pb2.ConnectionActionRequest, self.release),
            (TERMINATE, connections_pb2.ConnectionActionRequest, self.terminate),
        ):
            engine.register(
                OperationKind(name, request_type, run, resumable=True, cancellable=False)
            )

    async def _step(
        self, op_ctx: OperationContext, conn_id: str, operation: str, message: Any
    ) -> store.RequestRow:
        try:
            return await self.service.step(conn_id, op_ctx.id, operation, message, op_ctx.progress)
        except StepFailed as failed:
            raise failure_of(operation, failed) from None

    async def _result(self, conn_id: str) -> resources_pb2.Connection:
        row = await self.service.get(conn_id)
        assert row is not None
        return connection_to_proto(row)

    def _generic(self, connection_id: str) -> provider_pb2.GenericRequest:
        return provider_pb2.GenericRequest(connection_id=connection_id)

    async def _connection_id(self, conn_id: str) -> str:
        row = await self.service.get(conn_id)
        assert row is not None
        if not row.connection_id:
            raise OperationFailed(
                "FAILED_PRECONDITION",
                "NOT_RESERVED",
                f"{PREFIX}{conn_id} has no reservation at its provider",
            )
        return row.connection_id

    async def create(self, op_ctx: OperationContext) -> resources_pb2.Connection:
        request: connections_pb2.CreateConnectionRequest = op_ctx.request  # type: ignore[assignment]
        row = await self.service.of_operation(op_ctx.id)
        if row is None:
            schedule = request.schedule
            row = await self.service.new_connection(
                provider_nsa=request.provider_nsa or self.service.peers.own_nsa,
                operation_id=op_ctx.id,
                global_reservation_id=request.global_reservation_id,
                description=request.description,
                source_stp=request.source_stp,
                dest_stp=request.dest_stp,
                capacity_mbps=request.capacity_mbps,
                start_time=schedule.start_time.ToDatetime(tzinfo=UTC)
                if schedule.HasField("start_time")
                else None,
                end_time=schedule.end_time.ToDatetime(tzinfo=UTC)
                if schedule.HasField("end_time")
                else None,
                creator=op_ctx.caller,
            )
            await op_ctx.progress(f"connection {PREFIX}{row.id} at {row.provider_nsa}")
        reserve = provider_pb2.ReserveRequest(
            global_reservation_id=request.global_reservation_id,
            description=request.description,
            criteria=provider_pb2.ReservationRequestCriteria(
                version=0,
                service_type=P2P_SERVICE_TYPE,
                ptps=services_pb2.PointToPointService(
                    capacity=request.capacity_mbps,
                    directionality=services_pb2.BI_DIRECTIONAL,
                    symmetric_path=True,
                    source_stp=request.source_stp,
                    dest_stp=request.dest_stp,
                ),
            ),
        )
        nsi_schedule = common_pb2.Schedule()
        if request.schedule.HasField("start_time"):
            nsi_schedule.start_time.CopyFrom(request.schedule.start_time)
        if request.schedule.HasField("end_time"):
            nsi_schedule.end_time.CopyFrom(request.schedule.end_time)
        reserve.criteria.schedule.CopyFrom(nsi_schedule)
        await self._step(op_ctx, row.id, "reserve", reserve)
        if not request.reserve_only:
            connection_id = await self._connection_id(row.id)
            await self._step(op_ctx, row.id, "reserveCommit", self._generic(connection_id))
            if not request.no_provision:
                await self._step(op_ctx, row.id, "provision", self._generic(connection_id))
        return await self._result(row.id)

    async def modify(self, op_ctx: OperationContext) -> resources_pb2.Connection:
        request: connections_pb2.ModifyConnectionRequest = op_ctx.request  # type: ignore[assignment]
        conn_id = request.name.removeprefix(PREFIX)
        row = await self.service.get(conn_id)
        assert row is not None
        connection_id = await self._connection_id(conn_id)
        version = row.version + 1
        pending: dict[str, Any] = {"version": version}
        criteria = provider_pb2.ReservationRequestCriteria(
            version=version, service_type=P2P_SERVICE_TYPE
        )
        if request.HasField("capacity_mbps"):
            criteria.ptps.capacity = request.capacity_mbps
            pending["capacity_mbps"] = request.capacity_mbps
        for field in ("start_time", "end_time"):
            if request.schedule.HasField(field):
                value = getattr(request.schedule, field)
                getattr(criteria.schedule, field).CopyFrom(value)
                pending[field] = value.ToDatetime(tzinfo=UTC).isoformat()
        if request.HasField("description"):
            pending["description"] = request.description
        reserve = provider_pb2.ReserveRequest(
            connection_id=connection_id,
            global_reservation_id=row.global_reservation_id,
            description=request.description if request.HasField("description") else "",
            criteria=criteria,
        )
        if not op_ctx.resumed:
            await self.service.set_pending(conn_id, pending)
        await self._step(op_ctx, conn_id, "reserve", reserve)
        await self._step(op_ctx, conn_id, "reserveCommit", self._generic(connection_id))
        return await self._result(conn_id)

    async def _simple(self, op_ctx: OperationContext, operation: str) -> resources_pb2.Connection:
        request: connections_pb2.ConnectionActionRequest = op_ctx.request  # type: ignore[assignment]
        conn_id = request.name.removeprefix(PREFIX)
        connection_id = await self._connection_id(conn_id)
        await self._step(op_ctx, conn_id, operation, self._generic(connection_id))
        return await self._result(conn_id)

    async def provision(self, op_ctx: OperationContext) -> resources_pb2.Connection:
        return await self._simple(op_ctx, "provision")

    async def release(self, op_ctx: OperationContext) -> resources_pb2.Connection:
        return await self._simple(op_ctx, "release")

    async def terminate(self, op_ctx: OperationContext) -> resources_pb2.Connection:
        return await self._simple(op_ctx, "terminate")
