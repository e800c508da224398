"""Typed errors of the NSO RESTCONF client.

NSO answers a failed request with a status code and, mostly, a body in one of
two shapes: ``{"errors": {...}}`` (NSO 5.x) or ``{"ietf-restconf:errors": {...}}``
(NSO 6.1+).  :func:`error_from_reply` reads both and picks the error class from
the status code and the ``error-tag``, so callers catch what they can act on
(``NotFound``, ``InUse``...) instead of parsing bodies.

No error ever carries a credential: messages hold the status, tag, path and
NSO's own message, never request headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of a RESTCONF ``errors/error`` list."""

    error_type: str = ""
    error_tag: str = ""
    error_path: str = ""
    error_message: str = ""


class NsoError(Exception):
    """Any failure talking to NSO."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        details: tuple[ErrorDetail, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.details = details

    @property
    def error_tag(self) -> str:
        return self.details[0].error_tag if self.details else ""

    @property
    def error_path(self) -> str:
        return self.details[0].error_path if self.details else ""

    @property
    def error_type(self) -> str:
        return self.details[0].error_type if self.details else ""

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(status={self.status!r}, tag={self.error_tag!r}, {self.message!r})"


class NsoRequestError(NsoError):
    """NSO answered with an error status."""


class BadRequest(NsoRequestError):
    """400: a bad parameter, path or body (``invalid-value``, ``malformed-message``)."""


class Unauthorized(NsoRequestError):
    """401: wrong user name, password or token."""


class AccessDenied(NsoRequestError):
    """403 ``access-denied``: NACM refused the operation."""


class NotFound(NsoRequestError):
    """404: the addressed instance does not exist."""


class AlreadyExists(NsoRequestError):
    """409 ``data-exists``: a create found the instance present."""


class InUse(NsoRequestError):
    """409 ``in-use`` (or another conflict): a concurrent transaction; retrying may succeed."""

    retryable = True


class PreconditionFailed(NsoRequestError):
    """412: ``If-Match`` / ``If-Unmodified-Since`` did not hold; the data changed meanwhile."""


class UnsupportedMediaType(NsoRequestError):
    """415: the request's content type is not one NSO accepts."""


class ServerError(NsoRequestError):
    """5xx: NSO or a device failed."""


class ServiceUnavailable(ServerError):
    """503: NSO is busy; retrying later may succeed."""

    retryable = True


class DeviceOutOfSync(ServerError):
    """A commit touched a device whose configuration differs from NSO's copy."""


class InvalidResponse(NsoError):
    """NSO's reply could not be understood (a body that is not valid JSON...)."""


class NsoConnectionError(NsoError):
    """NSO could not be reached or the connection broke mid-request."""

    retryable = True


class NsoTimeout(NsoError):
    """NSO did not answer within the configured timeout."""


class CommitParamsError(NsoError, ValueError):
    """The commit parameters combine options NSO refuses; nothing was sent."""


class CommitQueueTimeout(NsoError):
    """A commit-queue item did not finish within the wait time."""


def parse_error_details(body: Any) -> tuple[ErrorDetail, ...]:
    """The error entries of either RESTCONF error format; empty when there are none."""
    if not isinstance(body, dict):
        return ()
    patch_status = body.get("ietf-yang-patch:yang-patch-status")
    if isinstance(patch_status, dict):  # YANG Patch: errors per edit, and maybe global ones
        found = parse_error_details(patch_status)
        edits = (patch_status.get("edit-status") or {}).get("edit", [])
        for edit in edits if isinstance(edits, list) else []:
            if isinstance(edit, dict):
                found += parse_error_details(edit)
        return found
    container = body.get("ietf-restconf:errors", body.get("errors"))
    if not isinstance(container, dict):
        return ()
    entries = container.get("error", [])
    if isinstance(entries, dict):
        entries = [entries]
    details = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            details.append(
                ErrorDetail(
                    error_type=str(entry.get("error-type", "")),
                    error_tag=str(entry.get("error-tag", "")),
                    error_path=str(entry.get("error-path", "")),
                    error_message=str(entry.get("error-message", "")),
                )
            )
    return tuple(details)


def _class_for(status: int, tag: str, message: str) -> type[NsoRequestError]:  # noqa: PLR0911
    if tag == "data-exists":
        return AlreadyExists
    if tag == "in-use":
        return InUse
    if status == 400:
        return BadRequest
    if status == 401:
        return Unauthorized
    if status == 403:
        return AccessDenied
    if status == 404:
        return NotFound
    if status == 409:
        return AlreadyExists if tag == "data-exists" else InUse
    if status == 412:
        return PreconditionFailed
    if status == 415:
        return UnsupportedMediaType
    if status == 503:
        return ServiceUnavailable
    if status >= 500:
        return DeviceOutOfSync if "out of sync" in message.lower() else ServerError
    return BadRequest


def error_from_reply(status: int, body: bytes, context: str) -> NsoError:
    """The typed error for an error reply; ``context`` names the request (``GET /path``)."""
    details: tuple[ErrorDetail, ...] = ()
    if body.strip():
        try:
            parsed = json.loads(body)
        except ValueError:
            snippet = body[:120].decode("utf-8", "replace")
            return InvalidResponse(
                f"{context}: HTTP {status} with a body that is not JSON: {snippet!r}",
                status=status,
            )
        details = parse_error_details(parsed)
    first = details[0] if details else ErrorDetail()
    message = first.error_message or first.error_tag or _REASONS.get(status, "error")
    text = f"{context}: HTTP {status} {message}"
    if first.error_path:
        text += f" (at {first.error_path})"
    return _class_for(status, first.error_tag, message)(text, status=status, details=details)


_REASONS = {
    400: "bad request",
    401: "unauthorized (check user name and password)",
    403: "access denied",
    404: "not found",
    409: "conflict",
    412: "precondition failed (the data changed)",
    415: "unsupported media type",
    500: "internal server error",
    503: "service unavailable (NSO busy)",
}
