"""API errors as the client sees them: code, message and the google.rpc details."""

from __future__ import annotations

from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2

_DETAILS_KEY = "grpc-status-details-bin"


class ApiCallError(Exception):
    """A call the gateway refused or could not complete."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        reason: str = "",
        metadata: dict[str, str] | None = None,
        field_violations: list[tuple[str, str]] | None = None,
        retry_delay: float | None = None,
    ) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code, self.message, self.reason = code, message, reason
        self.metadata = metadata or {}
        self.field_violations = field_violations or []
        self.retry_delay = retry_delay

    @property
    def retryable(self) -> bool:
        return self.code == grpc.StatusCode.UNAVAILABLE

    @classmethod
    def from_rpc_error(cls, error: grpc.aio.AioRpcError) -> ApiCallError:
        details: Any = None
        trailing: Any = error.trailing_metadata() or ()
        for key, value in trailing:
            if key == _DETAILS_KEY and isinstance(value, bytes):
                details = status_pb2.Status.FromString(value)
        made = cls(error.code(), error.details() or "")
        if details is None:
            return made
        for packed in details.details:
            if packed.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                packed.Unpack(info)
                made.reason, made.metadata = info.reason, dict(info.metadata)
            elif packed.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                packed.Unpack(bad)
                made.field_violations = [(v.field, v.description) for v in bad.field_violations]
            elif packed.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                packed.Unpack(retry)
                made.retry_delay = retry.retry_delay.ToNanoseconds() / 1e9
        return made
