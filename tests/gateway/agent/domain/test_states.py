"""Every (state, event) pair of the four machines: legal, or 00201 and no change."""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest

from gateway.agent.domain.errors import NsiError
from gateway.agent.domain.states import (
    DATA_PLANE,
    LIFECYCLE,
    PROVISION,
    RESERVATION,
    DataPlaneEvent,
    DataPlaneState,
    LifecycleEvent,
    LifecycleState,
    ProvisionEvent,
    ProvisionState,
    ReservationEvent,
    ReservationState,
    transition,
)

RS, RE = ReservationState, ReservationEvent
PS, PE = ProvisionState, ProvisionEvent
LS, LE = LifecycleState, LifecycleEvent

# The legal transitions as the NSI CS v2 state machines draw them, written
# out independently of the tables under test.
EXPECTED_RSM = {
    (RS.START, RE.RESERVE): RS.CHECKING,
    (RS.CHECKING, RE.CONFIRM): RS.HELD,
    (RS.CHECKING, RE.FAIL): RS.FAILED,
    (RS.HELD, RE.COMMIT): RS.COMMITTING,
    (RS.TIMEOUT, RE.COMMIT): RS.COMMITTING,
    (RS.COMMITTING, RE.COMMIT_CONFIRM): RS.START,
    (RS.COMMITTING, RE.COMMIT_FAIL): RS.START,
    (RS.HELD, RE.ABORT): RS.ABORTING,
    (RS.FAILED, RE.ABORT): RS.ABORTING,
    (RS.TIMEOUT, RE.ABORT): RS.ABORTING,
    (RS.ABORTING, RE.ABORT_CONFIRM): RS.START,
    (RS.HELD, RE.TIMEOUT): RS.TIMEOUT,
}
EXPECTED_PSM = {
    (PS.RELEASED, PE.PROVISION): PS.PROVISIONING,
    (PS.PROVISIONING, PE.PROVISION_CONFIRM): PS.PROVISIONED,
    (PS.PROVISIONED, PE.RELEASE): PS.RELEASING,
    (PS.RELEASING, PE.RELEASE_CONFIRM): PS.RELEASED,
}
EXPECTED_LSM = {
    (LS.CREATED, LE.FORCED_END): LS.FAILED,
    (LS.CREATED, LE.END_TIME): LS.PASSED_END_TIME,
    (LS.CREATED, LE.TERMINATE): LS.TERMINATING,
    (LS.FAILED, LE.TERMINATE): LS.TERMINATING,
    (LS.PASSED_END_TIME, LE.TERMINATE): LS.TERMINATING,
    (LS.TERMINATING, LE.TERMINATE_CONFIRM): LS.TERMINATED,
}
EXPECTED_DSM = {
    (DataPlaneState.INACTIVE, DataPlaneEvent.ACTIVATE): DataPlaneState.ACTIVE,
    (DataPlaneState.ACTIVE, DataPlaneEvent.DEACTIVATE): DataPlaneState.INACTIVE,
}

MACHINES: list[tuple[str, dict[Any, Any], dict[Any, Any], type[Enum], type[Enum]]] = [
    ("reservation", RESERVATION, EXPECTED_RSM, RS, RE),
    ("provision", PROVISION, EXPECTED_PSM, PS, PE),
    ("lifecycle", LIFECYCLE, EXPECTED_LSM, LS, LE),
    ("data plane", DATA_PLANE, EXPECTED_DSM, DataPlaneState, DataPlaneEvent),
]

CASES = [
    pytest.param(table, expected, state, event, id=f"{name}:{state.value}+{event.value}")
    for name, table, expected, states, events in MACHINES
    for state in states
    for event in events
]


@pytest.mark.parametrize(("table", "expected", "state", "event"), CASES)
def test_every_state_event_pair(
    table: dict[Any, Any], expected: dict[Any, Any], state: Enum, event: Enum
) -> None:
    if (state, event) in expected:
        assert transition(table, state, event, "c-1") is expected[(state, event)]
    else:
        with pytest.raises(NsiError) as caught:
            transition(table, state, event, "c-1")
        assert caught.value.error_id == "00201"
        assert ("connectionId", "c-1") in caught.value.variables


def test_tables_hold_only_the_expected_transitions() -> None:
    for _name, table, expected, _states, _events in MACHINES:
        assert table == expected
