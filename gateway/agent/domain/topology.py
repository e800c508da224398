"""The ports (STPs) this provider offers: what a topology file, the CLI or a backend gives."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.agent.domain.errors import CAPACITY, STP_ID, VLAN, ErrorCode, NsiError
from gateway.agent.domain.stp import VlanRanges

_LOCAL_ID = re.compile(r"^[A-Za-z0-9_.\-+()%*,;=!$'@~/]+$")


@dataclass(frozen=True)
class Port:
    """One STP of this network: its local id, the device port behind it, VLANs and capacity."""

    id: str
    port: str
    vlans: VlanRanges
    capacity: int  # Mbit/s
    description: str = ""
    alias: str = ""  # the peer domain's STP identifier, if any
    enabled: bool = True


def make_port(
    stp_id: str,
    *,
    port: str,
    vlans: str,
    capacity: int,
    description: str = "",
    alias: str = "",
    enabled: bool = True,
) -> Port:
    """A validated port; bad values raise NsiError naming the field."""
    if not stp_id or not _LOCAL_ID.match(stp_id) or ":" in stp_id:
        raise NsiError(
            ErrorCode.UNSUPPORTED_PARAMETER,
            "an STP id is a local id without ':' or spaces",
            [(STP_ID, stp_id)],
        )
    if not port.strip():
        raise NsiError(ErrorCode.MISSING_PARAMETER, "the device port is empty", [("port", port)])
    if capacity <= 0:
        raise NsiError(
            ErrorCode.UNSUPPORTED_PARAMETER,
            "capacity must be positive",
            [(CAPACITY, str(capacity))],
        )
    ranges = VlanRanges.parse(vlans, variable=VLAN)
    return Port(stp_id, port, ranges, capacity, description, alias, enabled)
