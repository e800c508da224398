"""STP identifiers: ``urn:ogf:network:<networkId>:<localId>?vlan=<ranges>``.

The network id is everything before the last ``:`` of the part before ``?``.
A request carries a VLAN range (``100-199,300``); a confirmed reservation
carries the single VLAN chosen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.agent.domain.errors import ErrorCode, NsiError

URN_PREFIX = "urn:ogf:network:"
VLAN_MIN, VLAN_MAX = 1, 4094
KNOWN_LABELS = ("vlan",)
_ID_PART = re.compile(r"^[A-Za-z0-9_.:\-+/()%*,;=!$'@~]+$")


@dataclass(frozen=True)
class VlanRanges:
    """A set of VLAN ids as sorted, merged, inclusive (low, high) ranges."""

    ranges: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, text: str, *, variable: str = "vlan") -> VlanRanges:
        """Parse ``100-199,300``; a bad range raises 00709 naming ``variable``."""
        pairs: list[tuple[int, int]] = []
        if not text.strip():
            raise _bad_label(variable, text, "empty VLAN range")
        for part in text.split(","):
            bounds = part.strip().split("-")
            if len(bounds) > 2 or not all(b.strip().isdigit() for b in bounds):
                raise _bad_label(variable, text, f"'{part}' is not a VLAN or range")
            low, high = int(bounds[0]), int(bounds[-1])
            if low > high:
                raise _bad_label(variable, text, f"'{part}' runs backwards")
            if low < VLAN_MIN or high > VLAN_MAX:
                raise _bad_label(variable, text, f"'{part}' outside {VLAN_MIN}-{VLAN_MAX}")
            pairs.append((low, high))
        return cls(_merge(pairs))

    @classmethod
    def single(cls, vlan: int) -> VlanRanges:
        return cls(((vlan, vlan),))

    def __contains__(self, vlan: object) -> bool:
        return isinstance(vlan, int) and any(lo <= vlan <= hi for lo, hi in self.ranges)

    def __iter__(self):  # type: ignore[no-untyped-def]
        for low, high in self.ranges:
            yield from range(low, high + 1)

    def intersect(self, other: VlanRanges) -> VlanRanges:
        out = []
        for a_lo, a_hi in self.ranges:
            for b_lo, b_hi in other.ranges:
                lo, hi = max(a_lo, b_lo), min(a_hi, b_hi)
                if lo <= hi:
                    out.append((lo, hi))
        return VlanRanges(_merge(out))

    def is_subset_of(self, other: VlanRanges) -> bool:
        return self.intersect(other) == self

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __str__(self) -> str:
        return ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in self.ranges)


def _merge(pairs: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(pairs):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def _bad_label(variable: str, value: str, detail: str) -> NsiError:
    return NsiError(ErrorCode.INVALID_LABEL_FORMAT, detail, [(variable, value)])


@dataclass(frozen=True)
class StpRef:
    """A parsed STP identifier as a request names it."""

    network_id: str
    local_id: str
    vlans: VlanRanges | None

    @property
    def urn(self) -> str:
        """The identifier without labels."""
        return f"{URN_PREFIX}{self.network_id}:{self.local_id}"

    def with_vlan(self, vlan: int) -> str:
        return f"{self.urn}?vlan={vlan}"

    def __str__(self) -> str:
        return self.urn if self.vlans is None else f"{self.urn}?vlan={self.vlans}"


def parse_stp(text: str, *, variable: str = "stp") -> StpRef:
    """Parse an STP identifier; errors name ``variable`` (sourceSTP, destSTP...).

    Malformed or label-less-in-a-wrong-way identifiers raise 00701 UNKNOWN_STP,
    a label other than ``vlan`` raises 00708, a bad VLAN range 00709.
    """
    if not text.startswith(URN_PREFIX):
        raise NsiError(ErrorCode.UNKNOWN_STP, f"not an {URN_PREFIX} identifier", [(variable, text)])
    base, _, query = text.partition("?")
    rest = base[len(URN_PREFIX) :]
    network_id, sep, local_id = rest.rpartition(":")
    if not sep or not network_id or not local_id:
        raise NsiError(ErrorCode.UNKNOWN_STP, "no network id and local id", [(variable, text)])
    if not _ID_PART.match(network_id) or not _ID_PART.match(local_id):
        raise NsiError(ErrorCode.UNKNOWN_STP, "invalid characters", [(variable, text)])
    vlans: VlanRanges | None = None
    if query:
        for item in query.split("&"):
            label, eq, value = item.partition("=")
            if label not in KNOWN_LABELS:
                raise NsiError(
                    ErrorCode.UNKNOWN_LABEL_TYPE, f"label type '{label}'", [(variable, text)]
                )
            if not eq or vlans is not None:
                raise _bad_label(variable, text, "label without a single value")
            try:
                vlans = VlanRanges.parse(value, variable=variable)
            except NsiError as exc:
                raise NsiError(exc.code, exc.detail, [(variable, text)]) from None
    return StpRef(network_id, local_id, vlans)
