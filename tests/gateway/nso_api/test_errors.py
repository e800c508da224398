"""The NSO error -> gRPC status mapping, for direct answers and operation errors."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from adapters.nso_restconf import NsoError
from adapters.nso_restconf.errors import (
    CommitParamsError,
    InvalidResponse,
    NsoConnectionError,
    NsoTimeout,
    error_from_reply,
)
from gateway.nso_api.errors import api_error, operation_failure


def reply(status: int, tag: str, message: str = "boom") -> NsoError:
    body = (
        '{"ietf-restconf:errors": {"error": [{"error-type": "application", '
        f'"error-tag": "{tag}", "error-message": "{message}", "error-path": "/l2vlan:l2vlan"'
        "}]}}"
    ).encode()
    return error_from_reply(status, body, "PUT /restconf/data/l2vlan:l2vlan=c1")


@pytest.mark.parametrize(
    ("exc", "code", "reason", "retryable"),
    [
        (
            reply(404, "invalid-value", "uri keypath not found"),
            "NOT_FOUND",
            "SERVICE_NOT_FOUND",
            False,
        ),
        (reply(409, "data-exists"), "ALREADY_EXISTS", "NSO_DATA_EXISTS", False),
        (reply(409, "in-use"), "UNAVAILABLE", "NSO_IN_USE", True),
        (reply(503, "resource-denied"), "UNAVAILABLE", "NSO_BUSY", True),
        (NsoConnectionError("GET /x: connection refused"), "UNAVAILABLE", "NSO_UNREACHABLE", True),
        (reply(403, "access-denied"), "PERMISSION_DENIED", "NSO_ACCESS_DENIED", False),
        (reply(400, "invalid-value"), "INVALID_ARGUMENT", "NSO_INVALID_VALUE", False),
        (
            CommitParamsError("dry-run with commit-queue"),
            "INVALID_ARGUMENT",
            "INVALID_COMMIT_PARAMS",
            False,
        ),
        (reply(412, "operation-failed"), "ABORTED", "NSO_CONCURRENT_CHANGE", False),
        (
            reply(500, "operation-failed", "Network Element Driver: device pe0: out of sync"),
            "FAILED_PRECONDITION",
            "DEVICE_OUT_OF_SYNC",
            False,
        ),
        (
            reply(500, "operation-failed", "Failed to connect to device ce1: connection refused"),
            "FAILED_PRECONDITION",
            "DEVICE_UNREACHABLE",
            False,
        ),
        (NsoTimeout("GET /x: no answer within 30s"), "DEADLINE_EXCEEDED", "NSO_TIMEOUT", False),
        (InvalidResponse("not JSON"), "INTERNAL", "NSO_INVALID_RESPONSE", False),
        (
            reply(500, "operation-failed", "internal error"),
            "INTERNAL",
            "NSO_OPERATION_FAILED",
            False,
        ),
    ],
)
def test_each_nso_failure_has_its_code_and_reason(
    exc: NsoError, code: str, reason: str, retryable: bool
) -> None:
    error = api_error(exc, what="service", name="/l2vlan:l2vlan=c1")
    assert error.code.name == code
    assert error.reason == reason
    assert error.domain == "nsgw.nso"
    assert error.metadata["service"] == "/l2vlan:l2vlan=c1"
    assert (error.retry_delay is not None) == retryable
    assert (code == "UNAVAILABLE") == retryable
    failure = operation_failure(exc, what="service", name="/l2vlan:l2vlan=c1").error
    assert (failure.code, failure.reason, failure.retry_delay) == (
        code,
        reason,
        error.retry_delay,
    )


def test_a_401_from_nso_is_not_blamed_on_the_caller() -> None:
    error = api_error(reply(401, ""), what="device", name="pe0")
    assert error.code == grpc.StatusCode.INTERNAL
    assert error.reason == "NSO_CREDENTIALS_REFUSED"


def test_the_status_carries_error_info_bad_request_and_nso_facts() -> None:
    error = api_error(
        reply(400, "invalid-value", "vlan-id 5000 out of range"), what="service", name="s"
    )
    packed = error.to_status()
    assert packed.code == grpc.StatusCode.INVALID_ARGUMENT
    details = {type(d).__name__ for d in _unpack(packed)}
    assert details == {"ErrorInfo", "BadRequest"}
    assert error.field_violations[0][0] == "payload"
    assert "vlan-id 5000 out of range" in error.field_violations[0][1]
    assert error.metadata["nso_status"] == "400"
    assert error.metadata["nso_error_tag"] == "invalid-value"
    assert error.metadata["nso_error_path"] == "/l2vlan:l2vlan"


def _unpack(status: grpc.Status) -> list[object]:
    raw = dict(status.trailing_metadata)["grpc-status-details-bin"]
    decoded = status_pb2.Status.FromString(raw)
    found: list[object] = []
    for holder in decoded.details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest):
            if holder.Is(kind.DESCRIPTOR):
                message = kind()
                holder.Unpack(message)
                found.append(message)
    return found
