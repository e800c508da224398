"""Translation between the NSI gRPC contract (protobuf) and the agent's domain."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from gateway.agent.domain.errors import NsiError
from gateway.agent.domain.reservation import BIDIRECTIONAL, Criteria, CriteriaRequest, Reservation
from gateway.agent.domain.states import (
    DataPlaneState,
    LifecycleState,
    ProvisionState,
    ReservationState,
)
from gateway.agent.domain.stp import parse_stp
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2
from nsgw_proto.nsi import services_pb2

REQUESTER_PROTOCOL = "application/vnd.ogf.nsi.cs.v2.requester+soap"
SERVICE_TYPE_NAME = "ConnectionService"

# Results: kind (the ResultResponse oneof field) -> (ConnectionRequester method, message class)
RESULT_KINDS: dict[str, tuple[str, type[Message]]] = {
    "reserve_confirmed": ("ReserveConfirmed", requester_pb2.ReserveConfirmedRequest),
    "reserve_failed": ("ReserveFailed", requester_pb2.GenericFailedRequest),
    "reserve_commit_confirmed": ("ReserveCommitConfirmed", requester_pb2.GenericConfirmedRequest),
    "reserve_commit_failed": ("ReserveCommitFailed", requester_pb2.GenericFailedRequest),
    "reserve_abort_confirmed": ("ReserveAbortConfirmed", requester_pb2.GenericConfirmedRequest),
    "provision_confirmed": ("ProvisionConfirmed", requester_pb2.GenericConfirmedRequest),
    "release_confirmed": ("ReleaseConfirmed", requester_pb2.GenericConfirmedRequest),
    "terminate_confirmed": ("TerminateConfirmed", requester_pb2.GenericConfirmedRequest),
    "error": ("Error", requester_pb2.ErrorRequest),
}

# Notifications: kind (QueryNotificationConfirmedRequest field) -> (method, message class)
NOTIFICATION_KINDS: dict[str, tuple[str, type[Message]]] = {
    "error_event": ("ErrorEvent", requester_pb2.ErrorEventRequest),
    "reserve_timeout": ("ReserveTimeout", requester_pb2.ReserveTimeoutRequest),
    "data_plane_state_change": ("DataPlaneStateChange", requester_pb2.DataPlaneStateChangeRequest),
    "message_delivery_timeout": (
        "MessageDeliveryTimeout",
        requester_pb2.MessageDeliveryTimeoutRequest,
    ),
}

_RSM = {
    ReservationState.START: common_pb2.RESERVE_START,
    ReservationState.CHECKING: common_pb2.RESERVE_CHECKING,
    ReservationState.FAILED: common_pb2.RESERVE_FAILED,
    ReservationState.ABORTING: common_pb2.RESERVE_ABORTING,
    ReservationState.HELD: common_pb2.RESERVE_HELD,
    ReservationState.COMMITTING: common_pb2.RESERVE_COMMITTING,
    ReservationState.TIMEOUT: common_pb2.RESERVE_TIMEOUT,
}
_PSM = {
    ProvisionState.RELEASED: common_pb2.RELEASED,
    ProvisionState.PROVISIONING: common_pb2.PROVISIONING,
    ProvisionState.PROVISIONED: common_pb2.PROVISIONED,
    ProvisionState.RELEASING: common_pb2.RELEASING,
}
_LSM = {
    LifecycleState.CREATED: common_pb2.CREATED,
    LifecycleState.FAILED: common_pb2.FAILED,
    LifecycleState.PASSED_END_TIME: common_pb2.PASSED_END_TIME,
    LifecycleState.TERMINATING: common_pb2.TERMINATING,
    LifecycleState.TERMINATED: common_pb2.TERMINATED,
}


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def from_timestamp(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def payload_hash(request: Message) -> str:
    """A digest of the whole request, to tell a re-send from a different request."""
    return hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()


def service_exception(
    error: NsiError, nsa_id: str, connection_id: str = ""
) -> common_pb2.ServiceException:
    return common_pb2.ServiceException(
        nsa_id=nsa_id,
        connection_id=connection_id,
        service_type=SERVICE_TYPE_NAME,
        error_id=error.error_id,
        text=error.text,
        variables=[common_pb2.TypeValuePair(type=t, value=v) for t, v in error.variables],
    )


def criteria_request(criteria: provider_pb2.ReservationRequestCriteria) -> CriteriaRequest:
    """The request's criteria; what proto3 cannot tell from "unset" counts as not given."""
    start = end = None
    if criteria.HasField("schedule"):
        if criteria.schedule.HasField("start_time"):
            start = from_timestamp(criteria.schedule.start_time)
        if criteria.schedule.HasField("end_time"):
            end = from_timestamp(criteria.schedule.end_time)
    ptps = criteria.ptps if criteria.HasField("ptps") else None
    return CriteriaRequest(
        version=criteria.version or None,
        start=start,
        end=end,
        capacity=ptps.capacity if ptps is not None and ptps.capacity else None,
        source_stp=(ptps.source_stp or None) if ptps is not None else None,
        dest_stp=(ptps.dest_stp or None) if ptps is not None else None,
        directionality=(
            None
            if ptps is None
            else BIDIRECTIONAL
            if ptps.directionality == services_pb2.BI_DIRECTIONAL
            else "Unidirectional"
        ),
        symmetric_path=ptps.symmetric_path if ptps is not None else None,
        service_type=criteria.service_type or None,
        eros=tuple(ptps.eros) if ptps is not None else (),
        parameters=tuple(sorted(ptps.parameters.items())) if ptps is not None else (),
    )


def new_capacity_given(criteria: provider_pb2.ReservationRequestCriteria) -> int | None:
    """The capacity as sent (0 and negatives included), for validating new reservations."""
    if criteria.HasField("ptps"):
        return int(criteria.ptps.capacity)
    return None


def ptps(c: Criteria) -> services_pb2.PointToPointService:
    """The point-to-point service with the chosen VLANs."""
    src, dst = parse_stp(c.source_stp), parse_stp(c.dest_stp)
    return services_pb2.PointToPointService(
        capacity=c.capacity,
        directionality=services_pb2.BI_DIRECTIONAL,
        symmetric_path=c.symmetric_path,
        source_stp=src.with_vlan(c.source_vlan) if c.source_vlan else c.source_stp,
        dest_stp=dst.with_vlan(c.dest_vlan) if c.dest_vlan else c.dest_stp,
        eros=list(c.eros),
        parameters=dict(c.parameters),
    )


def schedule(c: Criteria) -> common_pb2.Schedule:
    out = common_pb2.Schedule(start_time=timestamp(c.start))
    if c.end is not None:
        out.end_time.CopyFrom(timestamp(c.end))
    return out


def confirm_criteria(c: Criteria) -> requester_pb2.ReservationConfirmCriteria:
    return requester_pb2.ReservationConfirmCriteria(
        version=c.version, schedule=schedule(c), serviceType=c.service_type, ptps=ptps(c)
    )


def query_criteria(c: Criteria) -> requester_pb2.QueryResultCriteria:
    return requester_pb2.QueryResultCriteria(
        version=c.version, schedule=schedule(c), service_type=c.service_type, ptps=ptps(c)
    )


def connection_states(res: Reservation) -> common_pb2.ConnectionStates:
    return common_pb2.ConnectionStates(
        reservation_state=_RSM[res.reservation_state],
        provision_state=_PSM[res.provision_state or ProvisionState.RELEASED],
        lifecycle_state=_LSM[res.lifecycle_state],
        data_plane_status=common_pb2.DataPlaneStatus(
            active=res.data_plane is DataPlaneState.ACTIVE,
            version=res.data_plane_version,
            version_consistent=True,
        ),
    )
