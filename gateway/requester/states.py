"""The requester's view of a connection's NSI state machines, and its one simple state.

Pure: no database.  Raw states use the NSI CS v2 names ("ReserveHeld",
"Provisioned", ...).  The simple state is what the orchestrator API shows.
"""

from __future__ import annotations

import enum
from typing import Protocol


class Simple(enum.StrEnum):
    RESERVING = "reserving"
    RESERVED = "reserved"
    ACTIVATING = "activating"
    ACTIVE = "active"
    DEACTIVATING = "deactivating"
    RELEASED = "released"
    FAILED = "failed"
    TERMINATED = "terminated"


class RawStates(Protocol):
    reservation_state: str
    provision_state: str
    lifecycle_state: str
    data_plane_active: bool
    committed: bool
    was_provisioned: bool
    failure: str


# The transient state each request puts its machine in while it is on its way.
SENDING_STATES: dict[str, tuple[str, str]] = {
    "reserve": ("reservation_state", "ReserveChecking"),
    "reserveCommit": ("reservation_state", "ReserveCommitting"),
    "reserveAbort": ("reservation_state", "ReserveAborting"),
    "provision": ("provision_state", "Provisioning"),
    "release": ("provision_state", "Releasing"),
    "terminate": ("lifecycle_state", "Terminating"),
}

# The confirmation (and failure) each request waits for.
CONFIRMATIONS: dict[str, tuple[str, ...]] = {
    "reserve": ("reserveConfirmed", "reserveFailed"),
    "reserveCommit": ("reserveCommitConfirmed", "reserveCommitFailed"),
    "reserveAbort": ("reserveAbortConfirmed",),
    "provision": ("provisionConfirmed",),
    "release": ("releaseConfirmed",),
    "terminate": ("terminateConfirmed",),
}
REQUEST_OF_RESULT = {
    result: request for request, results in CONFIRMATIONS.items() for result in results
}
FAILURES = frozenset({"reserveFailed", "reserveCommitFailed", "error"})


def simple_state(raw: RawStates) -> Simple:  # noqa: PLR0911 (a decision table)
    """One simple state from the raw NSI states (see docs/nsi-requester.md)."""
    lifecycle = raw.lifecycle_state
    if lifecycle in ("Terminated", "PassedEndTime"):
        return Simple.TERMINATED
    if lifecycle == "Terminating":
        return Simple.DEACTIVATING
    if lifecycle == "Failed" or raw.failure:
        return Simple.FAILED
    reservation = raw.reservation_state
    if not raw.committed:
        if reservation in ("ReserveFailed", "ReserveTimeout"):
            return Simple.FAILED
        return Simple.RESERVING
    provision = raw.provision_state
    if provision == "Provisioned":
        return Simple.ACTIVE if raw.data_plane_active else Simple.ACTIVATING
    if provision == "Provisioning":
        return Simple.ACTIVATING
    if provision == "Releasing" or raw.data_plane_active:
        return Simple.DEACTIVATING
    return Simple.RELEASED if raw.was_provisioned else Simple.RESERVED
