"""The reservation aggregate: versions, modify, abort, guards across machines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.agent.domain.errors import NsiError
from gateway.agent.domain.reservation import (
    CriteriaRequest,
    Reservation,
    modified_criteria,
    new_criteria,
)
from gateway.agent.domain.states import (
    DataPlaneState,
    LifecycleState,
    ProvisionState,
    ReservationState,
)
from gateway.agent.domain.timers import TimerKind, hold_timer, schedule_timers, seconds_until

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
SRC = "urn:ogf:network:net:1:topo:a?vlan=100-200"
DST = "urn:ogf:network:net:1:topo:b?vlan=100-200"


def request(**kw: object) -> CriteriaRequest:
    base: dict[str, object] = {
        "source_stp": SRC,
        "dest_stp": DST,
        "capacity": 100,
        "start": NOW + timedelta(hours=1),
        "end": NOW + timedelta(hours=2),
    }
    base.update(kw)
    return CriteriaRequest(**base)  # type: ignore[arg-type]


def committed(res: Reservation) -> Reservation:
    res.begin_reserve(new_criteria(request(), NOW))
    res.confirm_reserve(100, 100)
    res.begin_commit()
    res.confirm_commit()
    return res


@pytest.mark.parametrize(
    ("changes", "error_id", "variable"),
    [
        ({"capacity": 0}, "00102", "capacity"),
        ({"capacity": -5}, "00102", "capacity"),
        ({"end": NOW + timedelta(minutes=30)}, "00102", "endTime"),
        ({"end": NOW - timedelta(minutes=1), "start": None}, "00102", "endTime"),
        ({"source_stp": None}, "00101", "sourceSTP"),
        ({"dest_stp": ""}, "00101", "destSTP"),
        ({"capacity": None}, "00101", "capacity"),
        ({"directionality": "Unidirectional"}, "00706", "directionality"),
    ],
)
def test_bad_criteria_are_refused_naming_the_field(
    changes: dict[str, object], error_id: str, variable: str
) -> None:
    with pytest.raises(NsiError) as caught:
        new_criteria(request(**changes), NOW)
    assert caught.value.error_id == error_id
    assert caught.value.variables[0][0] == variable


def test_a_start_in_the_past_or_absent_means_now() -> None:
    assert new_criteria(request(start=None), NOW).start == NOW
    assert new_criteria(request(start=NOW - timedelta(days=1)), NOW).start == NOW


def test_modify_keeps_what_it_does_not_change() -> None:
    first = new_criteria(request(), NOW)
    bigger = modified_criteria(first, CriteriaRequest(capacity=500), NOW)
    assert (bigger.version, bigger.capacity) == (2, 500)
    assert (bigger.start, bigger.end, bigger.source_stp) == (first.start, first.end, SRC)
    later = modified_criteria(bigger, CriteriaRequest(version=7, end=NOW + timedelta(hours=5)), NOW)
    assert (later.version, later.capacity, later.start) == (7, 500, first.start)


def test_modify_refuses_lower_version_and_other_stp() -> None:
    first = new_criteria(request(version=3), NOW)
    with pytest.raises(NsiError) as caught:
        modified_criteria(first, CriteriaRequest(version=2, capacity=5), NOW)
    assert (caught.value.error_id, caught.value.variables[0][0]) == ("00102", "version")
    with pytest.raises(NsiError) as caught:
        modified_criteria(first, CriteriaRequest(source_stp="urn:ogf:network:net:1:topo:c"), NOW)
    assert caught.value.variables[0][0] == "sourceSTP"


def test_commit_then_modify_then_abort_restores_the_previous_version() -> None:
    res = committed(Reservation("c1"))
    assert res.provision_state is ProvisionState.RELEASED
    first = res.committed
    assert first is not None
    res.begin_reserve(modified_criteria(first, CriteriaRequest(capacity=900), NOW))
    res.confirm_reserve(100, 100)
    res.begin_abort()
    res.confirm_abort()
    assert res.committed == first
    assert res.held is None
    assert res.reservation_state is ReservationState.START


def test_provision_before_first_commit_is_00201_and_changes_nothing() -> None:
    res = Reservation("c1")
    res.begin_reserve(new_criteria(request(), NOW))
    with pytest.raises(NsiError) as caught:
        res.begin_provision()
    assert caught.value.error_id == "00201"
    assert res.provision_state is None
    assert res.reservation_state is ReservationState.CHECKING


def test_requests_after_the_end_are_refused_but_terminate_works() -> None:
    res = committed(Reservation("c1"))
    res.end_time_reached()
    for action in (res.begin_provision, res.begin_commit, res.begin_abort):
        with pytest.raises(NsiError) as caught:
            action()
        assert caught.value.error_id == "00201"
    assert res.lifecycle_state is LifecycleState.PASSED_END_TIME
    res.begin_terminate()
    res.confirm_terminate()
    assert res.lifecycle_state.value == "Terminated"
    with pytest.raises(NsiError):
        res.begin_terminate()


def test_data_plane_follows_provision_and_schedule() -> None:
    res = committed(Reservation("c1"))
    assert res.committed is not None
    inside = res.committed.start + timedelta(minutes=1)
    assert not res.should_be_active(inside)
    res.begin_provision()
    res.confirm_provision()
    assert not res.should_be_active(NOW)
    assert res.should_be_active(inside)
    assert res.set_data_plane(True)
    assert not res.set_data_plane(True)
    assert res.data_plane is DataPlaneState.ACTIVE
    assert res.data_plane_version == 1
    assert res.committed.end is not None
    assert not res.should_be_active(res.committed.end)


def test_timers() -> None:
    hold = hold_timer("c", 1, NOW, 120)
    assert hold.kind is TimerKind.HOLD_TIMEOUT
    assert hold.due == NOW + timedelta(seconds=120)
    before = NOW - timedelta(seconds=1)
    kinds = [t.kind for t in schedule_timers("c", 1, NOW, None, before)]
    assert kinds == [TimerKind.START]
    assert len(schedule_timers("c", 1, NOW, NOW + timedelta(hours=1), before)) == 2
    # committed at or after its start: the commit brings the data plane up itself
    started = schedule_timers("c", 1, NOW, NOW + timedelta(hours=1), NOW)
    assert [t.kind for t in started] == [TimerKind.END]
    assert schedule_timers("c", 1, NOW, None, NOW + timedelta(seconds=1)) == []
    assert seconds_until(NOW - timedelta(seconds=5), NOW) == 0
    assert seconds_until(NOW + timedelta(seconds=5), NOW) == 5
