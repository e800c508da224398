"""The operation domain: states, legal transitions, progress, results and errors.

Pure: no database, no gRPC server.  Results are typed protobuf messages (one
of the ``Operation.result`` oneof's message types).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from google.protobuf.message import Message

DOMAIN = "nsgw.operations"


class State(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def ended(self) -> bool:
        return self in ENDED


ENDED = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED})

# Every legal move; an ended state has none.
TRANSITIONS: dict[State, frozenset[State]] = {
    State.PENDING: frozenset({State.RUNNING, State.FAILED, State.CANCELLED}),
    State.RUNNING: frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED}),
    State.SUCCEEDED: frozenset(),
    State.FAILED: frozenset(),
    State.CANCELLED: frozenset(),
}


class IllegalTransition(Exception):
    """A state change the life cycle does not allow (a bug in the caller)."""

    def __init__(self, current: State, wanted: State) -> None:
        super().__init__(f"an operation cannot go from {current} to {wanted}")
        self.current, self.wanted = current, wanted


def check_transition(current: State, wanted: State) -> None:
    if wanted not in TRANSITIONS[current]:
        raise IllegalTransition(current, wanted)


@dataclass(frozen=True)
class Progress:
    index: int
    time: datetime
    message: str


@dataclass(frozen=True)
class OperationError:
    """Why an operation failed: a canonical gRPC code name plus a stable reason."""

    code: str  # a grpc.StatusCode name, e.g. "FAILED_PRECONDITION"
    message: str
    reason: str
    domain: str = DOMAIN
    metadata: dict[str, str] = field(default_factory=dict)
    retry_delay: float | None = None  # seconds


class OperationFailed(Exception):
    """Raised by a runner to end its operation FAILED with a typed error."""

    def __init__(
        self,
        code: str,
        reason: str,
        message: str,
        *,
        metadata: dict[str, str] | None = None,
        retry_delay: float | None = None,
        domain: str = DOMAIN,
    ) -> None:
        super().__init__(message)
        self.error = OperationError(
            code=code,
            message=message,
            reason=reason,
            domain=domain,
            metadata=dict(metadata or {}),
            retry_delay=retry_delay,
        )


# Errors the engine itself reports.
def interrupted(why: str) -> OperationError:
    return OperationError(
        code="ABORTED",
        reason="INTERRUPTED_BY_RESTART",
        message=f"interrupted by restart: {why}; start it again with a new request_id",
    )


def cancelled_by_caller(caller: str) -> OperationError:
    return OperationError(
        code="CANCELLED",
        reason="CANCELLED_BY_CALLER",
        message=f"cancelled by {caller}",
        metadata={"cancelled_by": caller},
    )


def internal_failure(exc: BaseException) -> OperationError:
    # The exception's type only: its text may carry secrets or internals.
    return OperationError(
        code="INTERNAL",
        reason="INTERNAL_ERROR",
        message=f"the operation failed unexpectedly ({type(exc).__name__}); see the gateway log",
    )


@dataclass
class Operation:
    """One operation as the domain sees it (a snapshot; the store holds the truth)."""

    id: str
    kind: str
    target: str
    state: State
    caller: str
    request_id: str
    create_time: datetime
    update_time: datetime
    end_time: datetime | None = None
    progress: list[Progress] = field(default_factory=list)
    result: Message | None = None
    error: OperationError | None = None
    cancel_requested: bool = False
    cancellable: bool = False
    callback_url: str = ""
    progress_url: str = ""

    @property
    def name(self) -> str:
        return f"operations/{self.id}"

    @property
    def ended(self) -> bool:
        return self.state.ended


def parse_name(name: str) -> str:
    """The id of ``operations/{id}`` (a bare id is accepted); ValueError when malformed."""
    ident = name.removeprefix("operations/")
    if not ident or "/" in ident or len(ident) > 64 or not ident.isalnum():
        raise ValueError(f"{name!r} is not an operation name (operations/{{id}})")
    return ident


@dataclass(frozen=True)
class ListFilter:
    states: frozenset[State] = frozenset()
    kinds: frozenset[str] = frozenset()
    target: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None


def summary(op: Operation) -> dict[str, Any]:
    """A few fields for log lines."""
    return {"operation": op.name, "kind": op.kind, "target": op.target, "state": str(op.state)}
