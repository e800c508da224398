"""API errors as gRPC statuses with google.rpc details.

Codes are used as their definitions say: INVALID_ARGUMENT (with BadRequest
field violations) for a malformed request, NOT_FOUND, ALREADY_EXISTS for a
reused request_id, FAILED_PRECONDITION for a request the current state does
not allow, UNAUTHENTICATED, and UNAVAILABLE (with RetryInfo) only when the
same call may succeed later.  Every error carries an ErrorInfo with a stable
reason for programs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from gateway.operations.model import DOMAIN


class ApiError(Exception):
    """An error answered to an API caller: code, message, reason and details."""

    def __init__(
        self,
        code: grpc.StatusCode,
        reason: str,
        message: str,
        *,
        metadata: Mapping[str, str] | None = None,
        field_violations: Sequence[tuple[str, str]] = (),
        retry_delay: float | None = None,
        domain: str = DOMAIN,
    ) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.metadata = dict(metadata or {})
        self.field_violations = list(field_violations)
        self.retry_delay = retry_delay
        self.domain = domain

    def to_status(self) -> grpc.Status:
        details: list[Any] = [
            error_details_pb2.ErrorInfo(
                reason=self.reason, domain=self.domain, metadata=self.metadata
            )
        ]
        if self.field_violations:
            details.append(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                        for f, d in self.field_violations
                    ]
                )
            )
        if self.retry_delay is not None:
            delay = duration_pb2.Duration()
            delay.FromNanoseconds(int(self.retry_delay * 1e9))
            details.append(error_details_pb2.RetryInfo(retry_delay=delay))
        packed = []
        for detail in details:
            holder = any_pb2.Any()
            holder.Pack(detail)
            packed.append(holder)
        status = status_pb2.Status(
            code=getattr(code_pb2, self.code.name), message=self.message, details=packed
        )
        return rpc_status.to_status(status)


def invalid_argument(violations: Sequence[tuple[str, str]]) -> ApiError:
    """A malformed request: one (field, what is wrong) per problem."""
    summary = "; ".join(f"{field}: {what}" for field, what in violations)
    return ApiError(
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_REQUEST",
        f"invalid request: {summary}",
        field_violations=violations,
    )


def not_found(what: str, name: str) -> ApiError:
    return ApiError(
        grpc.StatusCode.NOT_FOUND,
        f"{what.upper()}_NOT_FOUND",
        f"{what} {name} does not exist",
        metadata={what: name},
    )


def request_id_reused(request_id: str, existing: str, existing_kind: str) -> ApiError:
    return ApiError(
        grpc.StatusCode.ALREADY_EXISTS,
        "REQUEST_ID_REUSED",
        f"request_id {request_id!r} was already used for a different request "
        f"({existing}, {existing_kind}); use a new request_id for a new request",
        metadata={"request_id": request_id, "operation": existing, "kind": existing_kind},
    )


def failed_precondition(reason: str, message: str, **metadata: str) -> ApiError:
    return ApiError(grpc.StatusCode.FAILED_PRECONDITION, reason, message, metadata=metadata)


def unavailable(reason: str, message: str, retry_delay: float, **metadata: str) -> ApiError:
    return ApiError(
        grpc.StatusCode.UNAVAILABLE, reason, message, metadata=metadata, retry_delay=retry_delay
    )


def unauthenticated(message: str) -> ApiError:
    return ApiError(grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED", message)


async def abort(context: grpc.aio.ServicerContext[Any, Any], error: ApiError) -> NoReturn:
    """End the call with the error's status and details."""
    # grpc-stubs does not know abort_with_status yet.
    aio_context: Any = context
    await aio_context.abort_with_status(error.to_status())
    raise AssertionError("abort_with_status returned")  # pragma: no cover
