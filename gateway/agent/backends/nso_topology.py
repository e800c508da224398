"""STPs derived from device interfaces marked in NSO.

An interface is an STP when its ``description`` carries the tag ``nsi-stp``
followed by ``key=value`` words (up to the end or a ``]``):

    description "customer port 2 [nsi-stp id=pe0-2 vlans=200-299 capacity=1000]"

- ``vlans`` (required): the VLAN ranges offered, e.g. ``200-299,400``;
- ``capacity`` (required): Mbit/s;
- ``id``: the STP's local id (default ``<device>-<interface>`` with ``/`` as ``_``);
- ``alias``: the peer domain's STP this port connects to.

The STP's port is ``<device>:<interface>`` (the backend's port convention).
"""

from __future__ import annotations

import re
from typing import Any

from gateway.agent.domain.errors import NsiError
from gateway.agent.domain.topology import Port, make_port

TAG = "nsi-stp"
_TAGGED = re.compile(rf"(?:^|[\s\[]){TAG}((?:\s+[A-Za-z_-]+=[^\s\]]*)*)")


class TopologyMarkError(ValueError):
    """A marked interface whose tag cannot be read; the message names it."""


def stp_from_interface(device: str, interface: dict[str, Any]) -> Port | None:
    """The STP an interface's description marks, or None if it is not marked."""
    description = str(interface.get("description", ""))
    found = _TAGGED.search(description)
    if found is None:
        return None
    name = str(interface.get("name", ""))
    words = dict(w.split("=", 1) for w in found.group(1).split())
    where = f"{device} {name}"
    for required in ("vlans", "capacity"):
        if required not in words:
            raise TopologyMarkError(f"{where}: {TAG} tag without {required}=")
    try:
        capacity = int(words["capacity"])
    except ValueError:
        raise TopologyMarkError(f"{where}: capacity={words['capacity']} is not a number") from None
    stp_id = words.get("id") or f"{device}-{name.replace('/', '_')}"
    try:
        return make_port(
            stp_id,
            port=f"{device}:{name}",
            vlans=words["vlans"],
            capacity=capacity,
            description=description[: found.start()].strip(" [") or where,
            alias=words.get("alias", ""),
            enabled=bool(interface.get("enabled", True)),
        )
    except NsiError as exc:
        raise TopologyMarkError(f"{where}: {exc.detail}") from None


def stps_from_devices(configs: dict[str, dict[str, Any]]) -> list[Port]:
    """Every marked interface of the devices (device name -> its configuration)."""
    ports: list[Port] = []
    for device in sorted(configs):
        interfaces = configs[device].get("interface", [])
        for interface in interfaces if isinstance(interfaces, list) else []:
            port = stp_from_interface(device, interface)
            if port is not None:
                ports.append(port)
    return ports
