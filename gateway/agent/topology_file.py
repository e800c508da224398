"""The topology file: this network's STPs in TOML (see examples/topology.toml).

[[stp]]
id = "port-1"                       # local id: urn:ogf:network:<network_id>:port-1
port = "GigabitEthernet0/0/0/1"     # the device port behind it
vlans = "100-199,300"
capacity = 1000                     # Mbit/s
description = "to the exchange"     # optional
alias = "urn:ogf:network:peer.net:2025:topology:port-9"   # optional peer STP
enabled = true                      # optional, default true
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from gateway.agent.domain.errors import NsiError
from gateway.agent.domain.topology import Port, make_port

_FIELDS = {"id", "port", "vlans", "capacity", "description", "alias", "enabled"}


class TopologyFileError(Exception):
    """The topology file cannot be used; the message names the file, entry and field."""


def load_topology_file(path: Path) -> list[Port]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TopologyFileError(f"topology file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise TopologyFileError(f"topology file {path} is not valid TOML: {exc}") from None
    entries = data.get("stp", [])
    if not isinstance(entries, list):
        raise TopologyFileError(f"topology file {path}: 'stp' must be an array of tables")
    ports: list[Port] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, 1):
        ports.append(_port(path, number, entry))
        if ports[-1].id in seen:
            raise TopologyFileError(f"{path}: stp #{number}: id '{ports[-1].id}' appears twice")
        seen.add(ports[-1].id)
    return ports


def _port(path: Path, number: int, entry: Any) -> Port:
    where = f"{path}: stp #{number}"
    if not isinstance(entry, dict):
        raise TopologyFileError(f"{where}: must be a table")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise TopologyFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for required in ("id", "port", "vlans", "capacity"):
        if required not in entry:
            raise TopologyFileError(f"{where}: '{required}' is missing")
    capacity = entry["capacity"]
    if not isinstance(capacity, int) or isinstance(capacity, bool):
        raise TopologyFileError(f"{where}: 'capacity' must be a whole number of Mbit/s")
    try:
        return make_port(
            str(entry["id"]),
            port=str(entry["port"]),
            vlans=str(entry["vlans"]),
            capacity=capacity,
            description=str(entry.get("description", "")),
            alias=str(entry.get("alias", "")),
            enabled=bool(entry.get("enabled", True)),
        )
    except NsiError as exc:
        field = exc.variables[0][0] if exc.variables else "stp"
        raise TopologyFileError(f"{where} ({field}): {exc.detail}") from None
