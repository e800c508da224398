"""The identity of the caller of the current API call."""

from __future__ import annotations

from contextvars import ContextVar

ANONYMOUS = "anonymous"

_caller: ContextVar[str] = ContextVar("nsgw_api_caller", default=ANONYMOUS)


def current_caller() -> str:
    """The token name, client certificate subject, or "anonymous" (open loopback API)."""
    return _caller.get()


def set_caller(caller: str) -> None:
    _caller.set(caller)
