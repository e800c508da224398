"""Rules every nsgw.v1 service keeps, checked on the compiled descriptors."""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import ServiceDescriptor

from nsgw_proto.nsgw.v1 import (
    connections_pb2,
    nso_pb2,
    operations_pb2,
)

SERVICES = [
    nso_pb2.DESCRIPTOR.services_by_name["NsoServices"],
    nso_pb2.DESCRIPTOR.services_by_name["NsoDevices"],
    connections_pb2.DESCRIPTOR.services_by_name["Connections"],
]


def _methods(service: ServiceDescriptor) -> list[str]:
    return [m.name for m in service.methods]


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_every_operation_returning_call_takes_the_common_fields(
    service: ServiceDescriptor,
) -> None:
    for method in service.methods:
        if method.output_type.full_name != "nsgw.v1.Operation":
            continue
        fields = method.input_type.fields_by_name
        for name, number in (("request_id", 1), ("callback_url", 2), ("progress_url", 3)):
            assert name in fields, f"{method.full_name} lacks {name}"
            assert fields[name].number == number, f"{method.full_name}.{name} is not #{number}"


def test_the_issue_calls_are_all_defined() -> None:
    assert set(_methods(SERVICES[0])) == {
        "ApplyService",
        "DeleteService",
        "GetService",
        "ListServices",
        "RedeployService",
        "CheckServiceSync",
        "GetServiceModifications",
    }
    assert set(_methods(SERVICES[1])) == {
        "ListDevices",
        "GetDevice",
        "CheckSync",
        "SyncFrom",
        "SyncTo",
        "CompareConfig",
        "Connect",
        "FetchHostKeys",
        "Ping",
        "LiveStatusExec",
    }
    assert set(_methods(SERVICES[2])) == {
        "CreateConnection",
        "GetConnection",
        "ListConnections",
        "ModifyConnection",
        "ProvisionConnection",
        "ReleaseConnection",
        "TerminateConnection",
        "WatchConnection",
    }


def test_reads_are_named_get_list_or_watch_and_mutations_are_not() -> None:
    # The audit log and the access checks tell reads from mutations by name.
    for service in [*SERVICES, operations_pb2.DESCRIPTOR.services_by_name["Operations"]]:
        for method in service.methods:
            read = method.name.startswith(("Get", "List", "Watch"))
            returns_operation = method.output_type.full_name == "nsgw.v1.Operation"
            if returns_operation and read:
                assert method.name in {"GetOperation", "GetServiceModifications"}, method.name


def test_operation_results_are_typed_messages() -> None:
    oneof = operations_pb2.Operation.DESCRIPTOR.oneofs_by_name["result"]
    types = {f.message_type.full_name for f in oneof.fields if f.message_type}
    assert {
        "nsgw.v1.DryRunResult",
        "nsgw.v1.CommitResult",
        "nsgw.v1.Connection",
        "nsgw.v1.DeviceTestResult",
        "nsgw.v1.CheckSyncResult",
        "nsgw.v1.CompareConfigResult",
    } <= types
    assert len(types) == len(oneof.fields)  # one field per type: a result maps to one field
