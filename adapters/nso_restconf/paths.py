"""RFC 7951 / RFC 8040 resource paths: ``tailf-ncs:devices/device=pe0/config``.

A path is built from nodes; a list entry's keys are percent-encoded (``/``,
``,``, ``=``, ``%``, spaces... all escaped), several keys joined by ``,``::

    >>> data_path("tailf-ncs:devices", ("device", "pe0"), "config")
    'tailf-ncs:devices/device=pe0/config'
    >>> list_entry("subnet", "10.0.0.0/24")
    'subnet=10.0.0.0%2F24'
"""

from __future__ import annotations

from urllib.parse import quote

Node = str | tuple[str, ...]
"""A path step: a node name, or a list name followed by its key values."""

DEVICES = "tailf-ncs:devices"


def encode_key(value: object) -> str:
    """One key value, percent-encoded for use in a path segment."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return quote(text, safe="")


def list_entry(name: str, *keys: object) -> str:
    """``name=k1,k2`` with every key percent-encoded."""
    if not keys:
        raise ValueError(f"list entry {name!r} needs at least one key")
    return f"{name}={','.join(encode_key(k) for k in keys)}"


def _check_name(name: str) -> str:
    if not name or "/" in name or "=" in name or "?" in name:
        raise ValueError(f"invalid node name {name!r}")
    return name


def data_path(*nodes: Node) -> str:
    """Join nodes into a data path; the first should be module-qualified (``module:name``)."""
    if not nodes:
        return ""
    first = nodes[0]
    first_name = first if isinstance(first, str) else first[0]
    if ":" not in first_name:
        raise ValueError(f"the top node {first_name!r} must be module-qualified (module:name)")
    parts = []
    for node in nodes:
        if isinstance(node, str):
            parts.append(_check_name(node))
        else:
            name, *keys = node
            parts.append(list_entry(_check_name(name), *keys))
    return "/".join(parts)


def device_path(device: str, *nodes: Node) -> str:
    """``tailf-ncs:devices/device=<device>/...``."""
    return data_path(DEVICES, ("device", device), *nodes)


def module_of(path: str) -> str:
    """The module of the last qualified node (``l2vlan`` for ``l2vlan:l2vlan=x``)."""
    module = ""
    for segment in path.strip("/").split("/"):
        name = segment.split("=", 1)[0]
        if ":" in name:
            module = name.split(":", 1)[0]
    return module


def last_node_name(path: str) -> str:
    """The unqualified name of the last node of a path."""
    name = path.strip("/").rsplit("/", 1)[-1].split("=", 1)[0]
    return name.split(":", 1)[-1]
