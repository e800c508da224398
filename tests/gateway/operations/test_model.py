"""The operation life cycle: which state changes are legal."""

from __future__ import annotations

import pytest

from gateway.operations.model import (
    ENDED,
    IllegalTransition,
    State,
    check_transition,
    parse_name,
)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (State.PENDING, State.RUNNING),
        (State.PENDING, State.CANCELLED),
        (State.PENDING, State.FAILED),
        (State.RUNNING, State.SUCCEEDED),
        (State.RUNNING, State.FAILED),
        (State.RUNNING, State.CANCELLED),
    ],
)
def test_the_life_cycle_moves_forward(current: State, wanted: State) -> None:
    check_transition(current, wanted)


@pytest.mark.parametrize("ended", sorted(ENDED))
@pytest.mark.parametrize("wanted", list(State))
def test_an_ended_operation_never_changes_again(ended: State, wanted: State) -> None:
    with pytest.raises(IllegalTransition, match=f"from {ended} to {wanted}"):
        check_transition(ended, wanted)


def test_a_pending_operation_cannot_succeed_without_running() -> None:
    with pytest.raises(IllegalTransition):
        check_transition(State.PENDING, State.SUCCEEDED)


def test_operation_names_are_parsed_strictly() -> None:
    assert parse_name("operations/abc123") == "abc123"
    assert parse_name("abc123") == "abc123"
    for bad in ("", "operations/", "operations/a/b", "services/x", "operations/a b"):
        with pytest.raises(ValueError, match="not an operation name"):
            parse_name(bad)
