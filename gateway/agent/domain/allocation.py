"""Allocation of VLANs and bandwidth over time.

A port's bandwidth is checked against the highest concurrent use inside the
requested window (a sweep over the interval endpoints), not against the sum of
every reservation that touches the window: two reservations that never
overlap each other do not add up.  VLAN choice is deterministic: the lowest
VLAN that is free on the port(s) for the whole window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.agent.domain.errors import CAPACITY, ErrorCode, NsiError
from gateway.agent.domain.stp import VlanRanges

# A reservation without an end time holds its resources until this instant.
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class Usage:
    """Resources one reservation holds on one port: a VLAN and bandwidth from start to end."""

    start: datetime
    end: datetime
    bandwidth: int
    vlan: int


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals [start, end) overlap."""
    return a_start < b_end and b_start < a_end


def peak_bandwidth(usages: Iterable[Usage], start: datetime, end: datetime) -> int:
    """The highest bandwidth in concurrent use at any instant of [start, end)."""
    events: list[tuple[datetime, int]] = []
    for usage in usages:
        if not overlaps(usage.start, usage.end, start, end):
            continue
        events.append((max(usage.start, start), usage.bandwidth))
        events.append((min(usage.end, end), -usage.bandwidth))
    # At one instant an ending use is released before a starting one is counted.
    events.sort(key=lambda item: (item[0], item[1]))
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def vlans_in_use(usages: Iterable[Usage], start: datetime, end: datetime) -> set[int]:
    """VLANs held by some use at some instant of [start, end)."""
    return {u.vlan for u in usages if overlaps(u.start, u.end, start, end)}


def check_capacity(
    capacity: int,
    usages: Iterable[Usage],
    start: datetime,
    end: datetime,
    requested: int,
    *,
    stp: str,
) -> None:
    """Raise 00705 (naming the STP and the capacity) if ``requested`` does not fit."""
    peak = peak_bandwidth(usages, start, end)
    if peak + requested > capacity:
        raise NsiError(
            ErrorCode.CAPACITY_UNAVAILABLE,
            f"{requested} Mbit/s requested, {capacity - peak} of {capacity} free on {stp}",
            [(CAPACITY, str(requested)), ("stp", stp)],
        )


def lowest_free(candidates: VlanRanges, taken: set[int]) -> int | None:
    for vlan in candidates:
        if vlan not in taken:
            return int(vlan)
    return None


@dataclass(frozen=True)
class PortOffer:
    """What a request may use on one port: the VLANs it asks for that the port has."""

    stp: str  # the identifier as requested, for error variables
    variable: str  # sourceSTP / destSTP
    candidates: VlanRanges
    taken: set[int]


def choose_vlans(source: PortOffer, dest: PortOffer, *, label_swapping: bool) -> tuple[int, int]:
    """The VLANs for both ends: lowest free, the same on both ends without label swapping.

    Raises 00704 STP_UNAVALABLE naming the STP with no free VLAN, or 00703
    when the two ends have no VLAN in common and label swapping is off.
    """
    if label_swapping:
        chosen = []
        for offer in (source, dest):
            vlan = lowest_free(offer.candidates, offer.taken)
            if vlan is None:
                raise _unavailable(offer)
            chosen.append(vlan)
        return chosen[0], chosen[1]
    common = source.candidates.intersect(dest.candidates)
    if not common:
        raise NsiError(
            ErrorCode.LABEL_SWAPPING_NOT_SUPPORTED,
            "the two ends ask for no VLAN in common and label swapping is off",
            [(source.variable, source.stp), (dest.variable, dest.stp)],
        )
    vlan = lowest_free(common, source.taken | dest.taken)
    if vlan is None:
        busy = source if lowest_free(common, source.taken) is None else dest
        raise _unavailable(busy)
    return vlan, vlan


def _unavailable(offer: PortOffer) -> NsiError:
    return NsiError(
        ErrorCode.STP_UNAVALABLE,
        f"no VLAN of {offer.candidates} free for the requested time on {offer.stp}",
        [(offer.variable, offer.stp)],
    )
