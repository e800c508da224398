"""Service models: how a service instance becomes device configuration.

A model is a :class:`ServiceModel`: the top-level list it owns, a check of
an instance against NSO's devices, and a rendering of the instance into a
configuration fragment per device.  The simulator merges fragments into the
devices' configuration when an instance is created or changed and removes the
old fragment when it changes or goes, as NSO's FASTMAP does.

Shipped model, ``l2vlan``: a point-to-point VLAN between two device interfaces::

    /restconf/data/l2vlan:l2vlan=<name>
    {"l2vlan:l2vlan": [{"name": "c1", "vlan-id": 100, "capacity-mbps": 100,
                        "endpoint": [{"device": "pe0", "interface": "GigabitEthernet0/0/0/1"},
                                     {"device": "pe1", "interface": "GigabitEthernet0/0/0/1"}]}]}

renders on each endpoint device, under ``devices/device=X/config``::

    {"interface": [{"name": "<interface>",
                    "vlan": [{"id": 100, "description": "l2vlan c1",
                              "bandwidth-mbps": 100, "peer": "<other device> <other interface>"}]}]}
"""

from __future__ import annotations

from typing import Any, Protocol

from adapters.nso_restconf.simulator.tree import (
    TreeError,
    child_key,
    find_entry,
    keys_of,
    merge_into,
)

Fragments = dict[str, dict[str, Any]]
"""Device name -> configuration fragment (merged under ``config``)."""


class ServiceModel(Protocol):
    """A pluggable service type of the simulator."""

    top: str
    """The module-qualified top-level list, e.g. ``l2vlan:l2vlan``."""

    def validate(self, instance: dict[str, Any], configs: dict[str, Any]) -> None:
        """Raise TreeError (400) when the instance cannot be deployed on ``configs``."""
        ...

    def render(self, instance: dict[str, Any]) -> Fragments:
        """The configuration the instance puts on each device."""
        ...


def apply_fragment(config: dict[str, Any], fragment: dict[str, Any]) -> None:
    merge_into(config, _copy(fragment))


def remove_fragment(config: dict[str, Any], fragment: dict[str, Any]) -> None:
    """Take out what :func:`apply_fragment` put in; list entries left with only keys go too."""
    for name, value in fragment.items():
        key = child_key(config, name)
        if key is None:
            continue
        current = config[key]
        if isinstance(value, dict) and isinstance(current, dict):
            remove_fragment(current, value)
            if not current:
                del config[key]
        elif isinstance(value, list) and isinstance(current, list):
            names = keys_of(key)
            for entry in value:
                keys = tuple(str(entry.get(n)) for n in names)
                index = find_entry(current, key, keys)
                if index is None:
                    continue
                rest = {k: v for k, v in entry.items() if k not in names}
                remove_fragment(current[index], rest)
                if set(current[index]) <= set(names):
                    del current[index]
            if not current:
                del config[key]
        else:
            del config[key]


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class L2VlanService:
    """``l2vlan:l2vlan``: an L2 VLAN point-to-point circuit between two interfaces."""

    top = "l2vlan:l2vlan"

    def validate(self, instance: dict[str, Any], configs: dict[str, Any]) -> None:
        name = instance.get("name")
        where = f"/l2vlan:l2vlan{{{name}}}"
        vlan = instance.get("vlan-id")
        if not isinstance(vlan, int) or isinstance(vlan, bool) or not 1 <= vlan <= 4094:
            raise TreeError(400, "invalid-value", f"vlan-id must be 1..4094, got {vlan!r}", where)
        capacity = instance.get("capacity-mbps", 0)
        if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity <= 0:
            raise TreeError(400, "invalid-value", "capacity-mbps must be a positive integer", where)
        endpoints = instance.get("endpoint")
        if not isinstance(endpoints, list) or len(endpoints) != 2:
            raise TreeError(400, "invalid-value", "exactly two endpoints are needed", where)
        seen = set()
        for endpoint in endpoints:
            device, interface = endpoint.get("device"), endpoint.get("interface")
            if (device, interface) in seen:
                raise TreeError(400, "invalid-value", "the two endpoints must differ", where)
            seen.add((device, interface))
            if device not in configs:
                raise TreeError(400, "invalid-value", f"no device {device!r}", where)
            interfaces = configs[device].get("interface", [])
            index = find_entry(interfaces, "interface", (str(interface),))
            if index is None:
                raise TreeError(
                    400, "invalid-value", f"device {device} has no interface {interface!r}", where
                )
            for used in interfaces[index].get("vlan", []):
                owner = used.get("description", "")
                if used.get("id") == vlan and owner != f"l2vlan {name}":
                    raise TreeError(
                        400,
                        "invalid-value",
                        f"vlan {vlan} is already used on {device} {interface}"
                        f" ({owner or 'device'})",
                        where,
                    )

    def render(self, instance: dict[str, Any]) -> Fragments:
        name = instance["name"]
        first, second = instance["endpoint"]
        fragments: Fragments = {}
        for here, there in ((first, second), (second, first)):
            vlan = {
                "id": instance["vlan-id"],
                "description": f"l2vlan {name}",
                "bandwidth-mbps": instance.get("capacity-mbps", 0),
                "peer": f"{there['device']} {there['interface']}",
            }
            fragment = fragments.setdefault(here["device"], {"interface": []})
            fragment["interface"].append({"name": here["interface"], "vlan": [vlan]})
        return fragments


DEFAULT_MODELS: tuple[ServiceModel, ...] = (L2VlanService(),)
