"""The four NSI state machines of a connection as explicit transition tables.

Each table maps (state, event) to the next state.  A pair that is not in the
table is an invalid transition: :func:`transition` raises NsiError 00201 and
the caller changes nothing.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from gateway.agent.domain.errors import CONNECTION_ID, ErrorCode, NsiError


class ReservationState(Enum):
    START = "ReserveStart"
    CHECKING = "ReserveChecking"
    HELD = "ReserveHeld"
    FAILED = "ReserveFailed"
    COMMITTING = "ReserveCommitting"
    ABORTING = "ReserveAborting"
    TIMEOUT = "ReserveTimeout"


class ReservationEvent(Enum):
    RESERVE = "reserve"
    CONFIRM = "reserveConfirmed"
    FAIL = "reserveFailed"
    COMMIT = "reserveCommit"
    COMMIT_CONFIRM = "reserveCommitConfirmed"
    COMMIT_FAIL = "reserveCommitFailed"
    ABORT = "reserveAbort"
    ABORT_CONFIRM = "reserveAbortConfirmed"
    TIMEOUT = "reserveTimeout"


class ProvisionState(Enum):
    RELEASED = "Released"
    PROVISIONING = "Provisioning"
    PROVISIONED = "Provisioned"
    RELEASING = "Releasing"


class ProvisionEvent(Enum):
    PROVISION = "provision"
    PROVISION_CONFIRM = "provisionConfirmed"
    RELEASE = "release"
    RELEASE_CONFIRM = "releaseConfirmed"


class LifecycleState(Enum):
    CREATED = "Created"
    FAILED = "Failed"
    PASSED_END_TIME = "PassedEndTime"
    TERMINATING = "Terminating"
    TERMINATED = "Terminated"


class LifecycleEvent(Enum):
    FORCED_END = "forcedEnd"
    END_TIME = "endTimeReached"
    TERMINATE = "terminate"
    TERMINATE_CONFIRM = "terminateConfirmed"


class DataPlaneState(Enum):
    INACTIVE = "Inactive"
    ACTIVE = "Active"


class DataPlaneEvent(Enum):
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"


RS, RE = ReservationState, ReservationEvent
PS, PE = ProvisionState, ProvisionEvent
LS, LE = LifecycleState, LifecycleEvent
DS, DE = DataPlaneState, DataPlaneEvent

RESERVATION: dict[tuple[ReservationState, ReservationEvent], ReservationState] = {
    (RS.START, RE.RESERVE): RS.CHECKING,
    (RS.CHECKING, RE.CONFIRM): RS.HELD,
    (RS.CHECKING, RE.FAIL): RS.FAILED,
    (RS.HELD, RE.COMMIT): RS.COMMITTING,
    (RS.COMMITTING, RE.COMMIT_CONFIRM): RS.START,
    (RS.COMMITTING, RE.COMMIT_FAIL): RS.START,
    # A commit after the hold timer expired is accepted and then fails.
    (RS.TIMEOUT, RE.COMMIT): RS.COMMITTING,
    (RS.HELD, RE.ABORT): RS.ABORTING,
    (RS.FAILED, RE.ABORT): RS.ABORTING,
    (RS.TIMEOUT, RE.ABORT): RS.ABORTING,
    (RS.ABORTING, RE.ABORT_CONFIRM): RS.START,
    (RS.HELD, RE.TIMEOUT): RS.TIMEOUT,
}

PROVISION: dict[tuple[ProvisionState, ProvisionEvent], ProvisionState] = {
    (PS.RELEASED, PE.PROVISION): PS.PROVISIONING,
    (PS.PROVISIONING, PE.PROVISION_CONFIRM): PS.PROVISIONED,
    (PS.PROVISIONED, PE.RELEASE): PS.RELEASING,
    (PS.RELEASING, PE.RELEASE_CONFIRM): PS.RELEASED,
}

LIFECYCLE: dict[tuple[LifecycleState, LifecycleEvent], LifecycleState] = {
    (LS.CREATED, LE.FORCED_END): LS.FAILED,
    (LS.CREATED, LE.END_TIME): LS.PASSED_END_TIME,
    (LS.CREATED, LE.TERMINATE): LS.TERMINATING,
    (LS.FAILED, LE.TERMINATE): LS.TERMINATING,
    (LS.PASSED_END_TIME, LE.TERMINATE): LS.TERMINATING,
    (LS.TERMINATING, LE.TERMINATE_CONFIRM): LS.TERMINATED,
}

DATA_PLANE: dict[tuple[DataPlaneState, DataPlaneEvent], DataPlaneState] = {
    (DS.INACTIVE, DE.ACTIVATE): DS.ACTIVE,
    (DS.ACTIVE, DE.DEACTIVATE): DS.INACTIVE,
}

S = TypeVar("S", bound=Enum)
E = TypeVar("E", bound=Enum)


def transition(table: dict[tuple[S, E], S], state: S, event: E, connection_id: str = "") -> S:
    """The state after ``event`` in ``state``, or NsiError 00201 if the pair is not legal."""
    try:
        return table[(state, event)]
    except KeyError:
        raise NsiError(
            ErrorCode.INVALID_TRANSITION,
            f"{event.value} not allowed in {state.value}",
            [(CONNECTION_ID, connection_id)] if connection_id else [],
        ) from None
