"""The NSI gRPC wire contract, checked field by field against the generated descriptors.

The tables below are written from the contract document (the deployed agent's
and proxy's wire format), not from our .proto files, so a renamed,
renumbered or retyped field, a changed enum value or a moved method fails here.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from nsgw_proto.nsi import (
    connection_common_pb2,
    connection_provider_pb2,
    connection_requester_pb2,
    policy_pb2,
    services_pb2,
)

H = "connection.common.Header"
SE = "connection.common.ServiceException"
TS = "google.protobuf.Timestamp"
CS = "connection.common.ConnectionStates"
NOTE = "connection.common.Notification"
SCHED = "connection.common.Schedule"
TVP = "connection.common.TypeValuePair"
P2P = "services.PointToPointService"
RQ = "connection.requester."

# message -> [(number, name, type, label)] ; label: "" | "repeated" | "oneof:<name>" | "map"
MESSAGES: dict[str, list[tuple[int, str, str, str]]] = {
    "policy.Segment": [(1, "id", "string", ""), (2, "connection_id", "string", ""),
                       (3, "stps", "string", "repeated")],
    "policy.Path": [(1, "segments", "policy.Segment", "repeated")],
    "policy.PathTrace": [(1, "id", "string", ""), (2, "connection_id", "string", ""),
                         (3, "paths", "policy.Path", "repeated")],
    "services.PointToPointService": [
        (1, "capacity", "int64", ""), (2, "directionality", "services.Directionality", ""),
        (3, "symmetric_path", "bool", ""), (4, "source_stp", "string", ""),
        (5, "dest_stp", "string", ""), (6, "eros", "string", "repeated"),
        (7, "parameters", "map<string,string>", "map")],
    H: [(1, "protocol_version", "string", ""), (2, "correlation_id", "string", ""),
        (3, "requester_nsa", "string", ""), (4, "provider_nsa", "string", ""),
        (5, "reply_to", "string", ""), (6, "session_security_attributes", "string", ""),
        (7, "path_trace", "policy.PathTrace", "")],
    SCHED: [(1, "start_time", TS, ""), (2, "end_time", TS, "")],
    TVP: [(1, "type", "string", ""), (2, "namespace", "string", ""), (3, "value", "string", ""),
          (4, "feedback", "string", "")],
    SE: [(1, "nsa_id", "string", ""), (2, "connection_id", "string", ""),
         (3, "service_type", "string", ""), (4, "error_id", "string", ""),
         (5, "text", "string", ""), (6, "variables", TVP, "repeated"),
         (7, "child_exception", SE, "repeated")],
    NOTE: [(1, "connection_id", "string", ""), (2, "notification_id", "int64", ""),
           (3, "time_stamp", TS, "")],
    "connection.common.DataPlaneStatus": [(1, "active", "bool", ""), (2, "version", "int32", ""),
                                          (3, "version_consistent", "bool", "")],
    CS: [(1, "reservation_state", "connection.common.ReservationState", ""),
         (2, "provision_state", "connection.common.ProvisionState", ""),
         (3, "lifecycle_state", "connection.common.LifecycleState", ""),
         (4, "data_plane_status", "connection.common.DataPlaneStatus", "")],
    "connection.common.GenericAcknowledgment": [(1, "header", H, ""),
                                                (2, "service_exception", SE, "")],
    RQ + "ChildResult": [(1, "order", "int32", ""), (2, "connection_id", "string", ""),
                         (3, "provider_nsa", "string", ""), (4, "service_type", "string", "")],
    RQ + "QueryResultCriteria": [
        (1, "version", "int32", ""), (2, "schedule", SCHED, ""), (3, "service_type", "string", ""),
        (4, "child", RQ + "ChildResult", "repeated"),
        (5, "ptps", P2P, "oneof:service_specific_messages")],
    RQ + "QueryResult": [
        (1, "connection_id", "string", ""), (2, "global_reservation_id", "string", ""),
        (3, "description", "string", ""), (4, "criteria", RQ + "QueryResultCriteria", "repeated"),
        (5, "requester_nsa", "string", ""), (6, "connection_states", CS, ""),
        (7, "notification_id", "int64", ""), (8, "result_id", "int64", "")],
    RQ + "GenericFailedRequest": [(1, "header", H, ""), (2, "connection_id", "string", ""),
                                  (3, "connection_states", CS, ""),
                                  (4, "service_exception", SE, "")],
    RQ + "ReservationConfirmCriteria": [
        (1, "version", "int32", ""), (2, "schedule", SCHED, ""), (3, "serviceType", "string", ""),
        (4, "ptps", P2P, "oneof:service_specific_messages")],
    RQ + "ReserveConfirmedRequest": [
        (1, "header", H, ""), (2, "connection_id", "string", ""),
        (3, "global_reservation_id", "string", ""), (4, "description", "string", ""),
        (5, "criteria", RQ + "ReservationConfirmCriteria", "")],
    RQ + "GenericConfirmedRequest": [(1, "header", H, ""), (2, "connection_id", "string", "")],
    RQ + "ErrorRequest": [(1, "header", H, ""), (2, "service_exception", SE, "")],
    RQ + "ErrorEventRequest": [
        (1, "header", H, ""), (2, "notification", NOTE, ""),
        (3, "event", "connection.common.EventType", ""),
        (4, "originating_connection_id", "string", ""), (5, "originating_nsa", "string", ""),
        (6, "additional_info", TVP, "repeated"), (7, "service_exception", SE, "")],
    RQ + "DataPlaneStateChangeRequest": [
        (1, "header", H, ""), (2, "notification", NOTE, ""),
        (3, "data_plane_status", "connection.common.DataPlaneStatus", "")],
    RQ + "ReserveTimeoutRequest": [
        (1, "header", H, ""), (2, "notification", NOTE, ""), (3, "timeout_value", "int32", ""),
        (4, "originating_connection_id", "string", ""), (5, "originating_nsa", "string", "")],
    RQ + "MessageDeliveryTimeoutRequest": [(1, "header", H, ""), (2, "notification", NOTE, ""),
                                           (3, "correlation_id", "string", "")],
    RQ + "QueryConfirmedRequest": [(1, "header", H, ""),
                                   (2, "reservation", RQ + "QueryResult", "repeated"),
                                   (3, "last_modified", TS, "")],
    RQ + "QueryNotificationConfirmedRequest": [
        (1, "header", H, ""), (2, "error_event", RQ + "ErrorEventRequest", "repeated"),
        (3, "reserve_timeout", RQ + "ReserveTimeoutRequest", "repeated"),
        (4, "data_plane_state_change", RQ + "DataPlaneStateChangeRequest", "repeated"),
        (5, "message_delivery_timeout", RQ + "MessageDeliveryTimeoutRequest", "repeated")],
    RQ + "ResultResponse": [
        (1, "result_id", "int64", ""), (2, "correlation_id", "string", ""),
        (3, "time_stamp", TS, ""),
        (4, "reserve_confirmed", RQ + "ReserveConfirmedRequest", "oneof:type"),
        (5, "reserve_failed", RQ + "GenericFailedRequest", "oneof:type"),
        (6, "reserve_commit_confirmed", RQ + "GenericConfirmedRequest", "oneof:type"),
        (7, "reserve_commit_failed", RQ + "GenericFailedRequest", "oneof:type"),
        (8, "reserve_abort_confirmed", RQ + "GenericConfirmedRequest", "oneof:type"),
        (9, "provision_confirmed", RQ + "GenericConfirmedRequest", "oneof:type"),
        (10, "release_confirmed", RQ + "GenericConfirmedRequest", "oneof:type"),
        (11, "terminate_confirmed", RQ + "GenericConfirmedRequest", "oneof:type"),
        (12, "error", RQ + "ErrorRequest", "oneof:type")],
    RQ + "QueryResultConfirmedRequest": [(1, "header", H, ""),
                                         (2, "result", RQ + "ResultResponse", "repeated")],
    RQ + "QueryResultConfirmedResponse": [(1, "header", H, "")],
    "connection.provider.ReservationRequestCriteria": [
        (1, "version", "int32", ""), (2, "schedule", SCHED, ""), (3, "service_type", "string", ""),
        (4, "ptps", P2P, "oneof:service_specific_messages")],
    "connection.provider.ReserveRequest": [
        (1, "header", H, ""), (2, "connection_id", "string", ""),
        (3, "global_reservation_id", "string", ""), (4, "description", "string", ""),
        (5, "criteria", "connection.provider.ReservationRequestCriteria", "")],
    "connection.provider.ReserveResponse": [(1, "header", H, ""),
                                            (2, "connection_id", "string", ""),
                                            (3, "service_exception", SE, "")],
    "connection.provider.GenericRequest": [(1, "header", H, ""),
                                           (2, "connection_id", "string", "")],
    "connection.provider.QueryRequest": [
        (1, "header", H, ""), (2, "connection_id", "string", "repeated"),
        (3, "global_reservation_id", "string", "repeated"), (4, "if_modified_since", TS, "")],
    "connection.provider.QueryNotificationRequest": [
        (1, "header", H, ""), (2, "connection_id", "string", ""),
        (3, "start_notification_id", "int64", ""), (4, "end_notification_id", "int64", "")],
    "connection.provider.QueryResultRequest": [
        (1, "header", H, ""), (2, "connection_id", "string", ""),
        (3, "start_result_id", "int64", ""), (4, "end_result_id", "int64", "")],
}  # fmt: skip

ENUMS: dict[str, list[tuple[str, int]]] = {
    "services.Directionality": [("BI_DIRECTIONAL", 0), ("UNI_DIRECTIONAL", 1)],
    "connection.common.ReservationState": [
        ("RESERVE_START", 0), ("RESERVE_CHECKING", 1), ("RESERVE_FAILED", 2),
        ("RESERVE_ABORTING", 3), ("RESERVE_HELD", 4), ("RESERVE_COMMITTING", 5),
        ("RESERVE_TIMEOUT", 6)],
    "connection.common.ProvisionState": [("RELEASED", 0), ("PROVISIONING", 1),
                                         ("PROVISIONED", 2), ("RELEASING", 3)],
    "connection.common.LifecycleState": [("CREATED", 0), ("FAILED", 1), ("PASSED_END_TIME", 2),
                                         ("TERMINATING", 3), ("TERMINATED", 4)],
    "connection.common.EventType": [("UNSPECIFIED", 0), ("ACTIVATE_FAILED", 1),
                                    ("DEACTIVATE_FAILED", 2), ("DATAPLANE_ERROR", 3),
                                    ("FORCED_END", 4)],
}  # fmt: skip

ACK = "connection.common.GenericAcknowledgment"
_REQUESTER_CALLS = {
    "ReserveFailed": "GenericFailedRequest", "ReserveConfirmed": "ReserveConfirmedRequest",
    "ReserveCommitConfirmed": "GenericConfirmedRequest",
    "ReserveCommitFailed": "GenericFailedRequest",
    "ReserveAbortConfirmed": "GenericConfirmedRequest",
    "ProvisionConfirmed": "GenericConfirmedRequest", "ReleaseConfirmed": "GenericConfirmedRequest",
    "TerminateConfirmed": "GenericConfirmedRequest", "Error": "ErrorRequest",
    "ErrorEvent": "ErrorEventRequest", "DataPlaneStateChange": "DataPlaneStateChangeRequest",
    "ReserveTimeout": "ReserveTimeoutRequest",
    "MessageDeliveryTimeout": "MessageDeliveryTimeoutRequest",
    "QuerySummaryConfirmed": "QueryConfirmedRequest",
    "QueryRecursiveConfirmed": "QueryConfirmedRequest",
    "QueryNotificationConfirmed": "QueryNotificationConfirmedRequest",
}  # fmt: skip
PV = "connection.provider."
# full method path -> (input type, output type)
METHODS: dict[str, tuple[str, str]] = {
    **{
        f"/connection.requester.ConnectionRequester/{name}": (RQ + request, ACK)
        for name, request in _REQUESTER_CALLS.items()
    },
    "/connection.requester.ConnectionRequester/QueryResultConfirmed": (
        RQ + "QueryResultConfirmedRequest", RQ + "QueryResultConfirmedResponse"),
    "/connection.provider.ConnectionProvider/Reserve": (PV + "ReserveRequest",
                                                        PV + "ReserveResponse"),
    **{
        f"/connection.provider.ConnectionProvider/{name}": (PV + "GenericRequest", ACK)
        for name in ("ReserveCommit", "ReserveAbort", "Provision", "Release", "Terminate")
    },
    "/connection.provider.ConnectionProvider/QuerySummary": (PV + "QueryRequest", ACK),
    "/connection.provider.ConnectionProvider/QuerySummarySync": (
        PV + "QueryRequest", RQ + "QueryConfirmedRequest"),
    "/connection.provider.ConnectionProvider/QueryRecursive": (PV + "QueryRequest", ACK),
    "/connection.provider.ConnectionProvider/QueryNotification": (
        PV + "QueryNotificationRequest", ACK),
    "/connection.provider.ConnectionProvider/QueryNotificationSync": (
        PV + "QueryNotificationRequest", RQ + "QueryNotificationConfirmedRequest"),
    "/connection.provider.ConnectionProvider/QueryResult": (PV + "QueryResultRequest", ACK),
    "/connection.provider.ConnectionProvider/QueryResultSync": (
        PV + "QueryResultRequest", RQ + "QueryResultConfirmedRequest"),
}  # fmt: skip

FILES = (policy_pb2, services_pb2, connection_common_pb2, connection_requester_pb2,
         connection_provider_pb2)  # fmt: skip

_SCALARS = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_BOOL: "bool",
}


def _field_type(field: FieldDescriptor) -> str:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key, value = field.message_type.fields
        return f"map<{_field_type(key)},{_field_type(value)}>"
    if field.message_type is not None:
        return field.message_type.full_name
    if field.enum_type is not None:
        return field.enum_type.full_name
    return _SCALARS.get(field.type, f"type#{field.type}")


def _label(field: FieldDescriptor) -> str:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return "map"
    if field.containing_oneof is not None:
        return f"oneof:{field.containing_oneof.name}"
    return "repeated" if field.is_repeated else ""


def describe(message: Descriptor) -> list[tuple[int, str, str, str]]:
    """A message's fields in the shape of the tables above."""
    return sorted((f.number, f.name, _field_type(f), _label(f)) for f in message.fields)


def contract_messages(pool: descriptor_pool.DescriptorPool) -> dict[str, Descriptor]:
    return {name: pool.FindMessageTypeByName(name) for name in MESSAGES}


def mismatches(pool: descriptor_pool.DescriptorPool) -> list[str]:
    problems = []
    for name, message in contract_messages(pool).items():
        want, have = sorted(MESSAGES[name]), describe(message)
        if want != have:
            problems.append(f"{name}: want {sorted(set(want) - set(have))}, "
                            f"have {sorted(set(have) - set(want))}")  # fmt: skip
    return problems


def test_every_message_matches_the_contract_field_by_field() -> None:
    assert mismatches(descriptor_pool.Default()) == []


def test_every_enum_value_matches_the_contract() -> None:
    pool = descriptor_pool.Default()
    for name, values in ENUMS.items():
        enum = pool.FindEnumTypeByName(name)
        assert [(v.name, v.number) for v in enum.values] == values, name


def test_no_message_or_enum_outside_the_contract() -> None:
    declared = set()
    for module in FILES:
        declared |= {m.full_name for m in module.DESCRIPTOR.message_types_by_name.values()}
        declared |= {e.full_name for e in module.DESCRIPTOR.enum_types_by_name.values()}
    assert declared == set(MESSAGES) | set(ENUMS)


def test_every_service_method_path_and_types_match_the_contract() -> None:
    have = {}
    for module in (connection_requester_pb2, connection_provider_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                path = f"/{service.full_name}/{method.name}"
                have[path] = (method.input_type.full_name, method.output_type.full_name)
                assert not method.client_streaming, path
                assert not method.server_streaming, path
    assert have == METHODS
    assert len([p for p in have if "ConnectionProvider" in p]) == 13
    assert len([p for p in have if "ConnectionRequester" in p]) == 17


def test_all_files_are_proto3_in_the_contract_packages() -> None:
    packages = {module.DESCRIPTOR.package for module in FILES}
    assert packages == {"policy", "services", "connection.common", "connection.requester",
                        "connection.provider"}  # fmt: skip
    for module in FILES:
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        assert proto.syntax == "proto3"


def test_a_renumbered_field_is_caught() -> None:
    """The check itself: a copy of the contract with one field renumbered must fail it."""
    pool = descriptor_pool.DescriptorPool()
    for module in (policy_pb2, services_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        if module is services_pb2:
            ptps = next(m for m in proto.message_type if m.name == "PointToPointService")
            next(f for f in ptps.field if f.name == "dest_stp").number = 15
        pool.Add(proto)
    from google.protobuf import timestamp_pb2  # noqa: PLC0415

    for module in (timestamp_pb2, connection_common_pb2, connection_requester_pb2,
                   connection_provider_pb2):  # fmt: skip
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        pool.Add(proto)
    problems = mismatches(pool)
    assert len(problems) == 1
    assert problems[0].startswith("services.PointToPointService")
    assert "(5, 'dest_stp'" in problems[0]
    assert "(15, 'dest_stp'" in problems[0]
