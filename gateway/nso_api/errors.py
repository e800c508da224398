"""NSO failures as API errors: one gRPC code and a stable reason per kind of failure.

The same mapping serves direct answers (:func:`api_error`, raised as an
``ApiError``) and the typed error of an operation (:func:`operation_failure`).
UNAVAILABLE, with RetryInfo, is used only where the same call may succeed
later: NSO unreachable, busy (503) or holding a conflicting lock (409 in-use).
"""

from __future__ import annotations

import re

import grpc

from adapters.nso_restconf import (
    AccessDenied,
    AlreadyExists,
    BadRequest,
    CommitParamsError,
    CommitQueueTimeout,
    DeviceOutOfSync,
    InUse,
    InvalidResponse,
    NotFound,
    NsoConnectionError,
    NsoError,
    NsoTimeout,
    PreconditionFailed,
    ServiceUnavailable,
    Unauthorized,
)
from gateway.operations.errors import ApiError
from gateway.operations.model import OperationFailed

DOMAIN = "nsgw.nso"

# How long a caller should wait before retrying a retryable NSO failure.
RETRY_UNREACHABLE = 5.0
RETRY_BUSY = 2.0
RETRY_IN_USE = 1.0

_DEVICE_IN_MESSAGE = re.compile(r"device (?P<device>[^\s:,]+)")


def _nso_facts(exc: NsoError) -> dict[str, str]:
    facts: dict[str, str] = {}
    if exc.status is not None:
        facts["nso_status"] = str(exc.status)
    if exc.error_tag:
        facts["nso_error_tag"] = exc.error_tag
    if exc.error_path:
        facts["nso_error_path"] = exc.error_path
    return facts


def api_error(  # noqa: PLR0911, PLR0912 - one branch per kind of failure
    exc: NsoError, *, what: str, name: str, field: str = "payload"
) -> ApiError:
    """The API error for an NSO failure on ``what`` (``device``, ``service``) ``name``.

    ``field`` is the request field NSO's 400 is blamed on (a BadRequest field violation).
    """
    facts = {what: name, **_nso_facts(exc)}

    def error(
        code: grpc.StatusCode,
        reason: str,
        *,
        retry_delay: float | None = None,
        violations: tuple[tuple[str, str], ...] = (),
        extra: dict[str, str] | None = None,
    ) -> ApiError:
        return ApiError(
            code,
            reason,
            exc.message,
            metadata={**facts, **(extra or {})},
            retry_delay=retry_delay,
            field_violations=violations,
            domain=DOMAIN,
        )

    if isinstance(exc, NotFound):
        return error(grpc.StatusCode.NOT_FOUND, f"{what.upper()}_NOT_FOUND")
    if isinstance(exc, AlreadyExists):
        return error(grpc.StatusCode.ALREADY_EXISTS, "NSO_DATA_EXISTS")
    if isinstance(exc, InUse):
        return error(grpc.StatusCode.UNAVAILABLE, "NSO_IN_USE", retry_delay=RETRY_IN_USE)
    if isinstance(exc, ServiceUnavailable):
        return error(grpc.StatusCode.UNAVAILABLE, "NSO_BUSY", retry_delay=RETRY_BUSY)
    if isinstance(exc, NsoConnectionError):
        return error(grpc.StatusCode.UNAVAILABLE, "NSO_UNREACHABLE", retry_delay=RETRY_UNREACHABLE)
    if isinstance(exc, AccessDenied):
        return error(grpc.StatusCode.PERMISSION_DENIED, "NSO_ACCESS_DENIED")
    if isinstance(exc, Unauthorized):
        # nsgw's own NSO credentials were refused: nothing the caller can fix.
        return error(grpc.StatusCode.INTERNAL, "NSO_CREDENTIALS_REFUSED")
    if isinstance(exc, BadRequest):
        return error(
            grpc.StatusCode.INVALID_ARGUMENT,
            "NSO_INVALID_VALUE",
            violations=((field, exc.message),),
        )
    if isinstance(exc, CommitParamsError):
        return error(
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_COMMIT_PARAMS",
            violations=(("commit", exc.message),),
        )
    if isinstance(exc, PreconditionFailed):
        return error(grpc.StatusCode.ABORTED, "NSO_CONCURRENT_CHANGE")
    if isinstance(exc, DeviceOutOfSync):
        return error(grpc.StatusCode.FAILED_PRECONDITION, "DEVICE_OUT_OF_SYNC", extra=_device(exc))
    if isinstance(exc, NsoTimeout | CommitQueueTimeout):
        return error(grpc.StatusCode.DEADLINE_EXCEEDED, "NSO_TIMEOUT")
    if isinstance(exc, InvalidResponse):
        return error(grpc.StatusCode.INTERNAL, "NSO_INVALID_RESPONSE")
    if "failed to connect to device" in exc.message.lower():
        return error(grpc.StatusCode.FAILED_PRECONDITION, "DEVICE_UNREACHABLE", extra=_device(exc))
    return error(grpc.StatusCode.INTERNAL, "NSO_OPERATION_FAILED")


def _device(exc: NsoError) -> dict[str, str]:
    match = _DEVICE_IN_MESSAGE.search(exc.message)
    return {"failed_device": match["device"]} if match else {}


def operation_failure(
    exc: NsoError, *, what: str, name: str, field: str = "payload"
) -> OperationFailed:
    """The same mapping as the typed error that ends an operation FAILED."""
    error = api_error(exc, what=what, name=name, field=field)
    metadata = dict(error.metadata)
    if error.field_violations:
        metadata["field"] = error.field_violations[0][0]
    return OperationFailed(
        error.code.name,
        error.reason,
        error.message,
        metadata=metadata,
        retry_delay=error.retry_delay,
        domain=DOMAIN,
    )
