"""Bandwidth over time (peak of concurrent use) and deterministic VLAN choice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.agent.domain.allocation import (
    PortOffer,
    Usage,
    check_capacity,
    choose_vlans,
    peak_bandwidth,
    vlans_in_use,
)
from gateway.agent.domain.errors import NsiError
from gateway.agent.domain.stp import VlanRanges

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_uses_that_never_overlap_each_other_do_not_add_up() -> None:
    # 600 in 0-10 and 600 in 20-30: the window 0-30 sees 600 at most, not 1200.
    usages = [Usage(at(0), at(10), 600, 100), Usage(at(20), at(30), 600, 101)]
    assert peak_bandwidth(usages, at(0), at(30)) == 600
    check_capacity(1000, usages, at(0), at(30), 400, stp="p")
    with pytest.raises(NsiError) as caught:
        check_capacity(1000, usages, at(0), at(30), 401, stp="p")
    assert caught.value.error_id == "00705"
    assert ("capacity", "401") in caught.value.variables


def test_back_to_back_uses_do_not_overlap() -> None:
    usages = [Usage(at(0), at(10), 1000, 100)]
    assert peak_bandwidth(usages, at(10), at(20)) == 0
    assert vlans_in_use(usages, at(10), at(20)) == set()
    assert vlans_in_use(usages, at(9), at(20)) == {100}


def test_only_the_window_counts() -> None:
    usages = [Usage(at(0), at(10), 700, 100), Usage(at(5), at(50), 300, 101)]
    assert peak_bandwidth(usages, at(0), at(60)) == 1000
    assert peak_bandwidth(usages, at(10), at(60)) == 300


def offer(ranges: str, taken: set[int] | None = None, variable: str = "sourceSTP") -> PortOffer:
    return PortOffer(f"stp-{variable}", variable, VlanRanges.parse(ranges), taken or set())


def test_lowest_common_free_vlan_without_label_swapping() -> None:
    chosen = choose_vlans(
        offer("100-110", {100, 101}), offer("100-110", {102}, "destSTP"), label_swapping=False
    )
    assert chosen == (103, 103)


def test_label_swapping_picks_each_end_independently() -> None:
    chosen = choose_vlans(
        offer("100-110", {100}), offer("200-210", set(), "destSTP"), label_swapping=True
    )
    assert chosen == (101, 200)


def test_no_common_vlan_without_swapping_is_00703() -> None:
    with pytest.raises(NsiError) as caught:
        choose_vlans(offer("100"), offer("200", variable="destSTP"), label_swapping=False)
    assert caught.value.error_id == "00703"


def test_no_free_vlan_is_00704_naming_the_busy_end() -> None:
    with pytest.raises(NsiError) as caught:
        choose_vlans(offer("100"), offer("100", {100}, "destSTP"), label_swapping=False)
    assert caught.value.error_id == "00704"
    assert caught.value.variables == [("destSTP", "stp-destSTP")]
    with pytest.raises(NsiError) as caught:
        choose_vlans(offer("100", {100}), offer("100", set(), "destSTP"), label_swapping=True)
    assert caught.value.variables == [("sourceSTP", "stp-sourceSTP")]


intervals = st.lists(
    st.tuples(st.integers(0, 100), st.integers(1, 50), st.integers(1, 500)), max_size=12
)


@given(intervals, st.integers(0, 100), st.integers(1, 60))
def test_peak_equals_the_highest_use_at_any_instant(
    raw: list[tuple[int, int, int]], start: int, length: int
) -> None:
    usages = [Usage(at(s), at(s + d), bw, i) for i, (s, d, bw) in enumerate(raw)]
    # Brute force: the use at every minute of the window (all endpoints are whole minutes).
    expected = max(
        (
            sum(u.bandwidth for u in usages if u.start <= at(m) < u.end)
            for m in range(start, start + length)
        ),
        default=0,
    )
    assert peak_bandwidth(usages, at(start), at(start + length)) == expected


@given(intervals, st.integers(0, 100), st.integers(1, 60))
def test_peak_never_exceeds_the_sum_of_overlapping_uses(
    raw: list[tuple[int, int, int]], start: int, length: int
) -> None:
    usages = [Usage(at(s), at(s + d), bw, i) for i, (s, d, bw) in enumerate(raw)]
    overlapping = [u for u in usages if u.start < at(start + length) and at(start) < u.end]
    assert peak_bandwidth(usages, at(start), at(start + length)) <= sum(
        u.bandwidth for u in overlapping
    )


@given(st.sets(st.integers(100, 120)), st.sets(st.integers(100, 120)), st.booleans())
def test_chosen_vlans_are_free_requested_and_lowest(
    taken_a: set[int], taken_b: set[int], swapping: bool
) -> None:
    a, b = offer("100-120", taken_a), offer("100-120", taken_b, "destSTP")
    try:
        va, vb = choose_vlans(a, b, label_swapping=swapping)
    except NsiError as exc:
        assert exc.error_id == "00704"  # noqa: PT017
        free = set(range(100, 121))
        assert (
            not (free - taken_a - taken_b)
            if not swapping
            else (not (free - taken_a) or not (free - taken_b))
        )
        return
    assert va not in taken_a
    assert vb not in taken_b
    if swapping:
        assert va == min(set(range(100, 121)) - taken_a)
        assert vb == min(set(range(100, 121)) - taken_b)
    else:
        assert va == vb == min(set(range(100, 121)) - taken_a - taken_b)
