"""Checks of the NSO request fields: each problem is one (field, what is wrong) pair.

Servicers collect the problems of a request and refuse it with
INVALID_ARGUMENT and BadRequest field violations before anything starts.
"""

from __future__ import annotations

import re

MAX_PATH = 1024
MAX_DEVICE = 253
MAX_DEVICES = 10_000
MAX_COMMAND = 1024

# module:name, then /node or /list=key steps (keys percent-encoded by the caller).
_NODE = r"[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?(?:=[^/?#\s]*)?"
_PATH = re.compile(rf"^/?[A-Za-z_][\w.-]*:[A-Za-z_][\w.-]*(?:=[^/?#\s]*)?(?:/{_NODE})*/?$")
_DEVICE_TOPS = ("tailf-ncs:devices", "ncs:devices")

Problems = list[tuple[str, str]]


def service_path(path: str, field: str = "path") -> Problems:
    """A RESTCONF data path of a service instance or list, e.g. ``/l2vlan:l2vlan=c1``."""
    if not path:
        return [(field, "is required: the RESTCONF data path, e.g. /l2vlan:l2vlan=c1")]
    if len(path) > MAX_PATH:
        return [(field, f"at most {MAX_PATH} characters")]
    if not _PATH.match(path):
        return [
            (
                field,
                "must be a RESTCONF data path starting with a module-qualified node "
                "(module:name), e.g. /l2vlan:l2vlan=c1",
            )
        ]
    if path.strip("/").split("/")[0].split("=")[0] in _DEVICE_TOPS:
        return [(field, "is under devices: use the NsoDevices calls, not a service path")]
    return []


def service_instance_path(path: str, field: str = "path") -> Problems:
    """A path that names one instance: it ends in a list entry (``.../list=key``)."""
    problems = service_path(path, field)
    if not problems and "=" not in path.strip("/").rsplit("/", 1)[-1]:
        problems.append(
            (field, "must name one instance (end with list=key), e.g. /l2vlan:l2vlan=c1")
        )
    return problems


def device_name(name: str, field: str = "device") -> Problems:
    if not name:
        return [(field, "is required: the device's name in NSO")]
    if len(name) > MAX_DEVICE:
        return [(field, f"at most {MAX_DEVICE} characters")]
    if not name.isprintable() or any(c.isspace() for c in name):
        return [(field, "must be printable text without spaces")]
    return []


def command(text: str, field: str = "command") -> Problems:
    if not text.strip():
        return [(field, "is required, e.g. show version")]
    if len(text) > MAX_COMMAND or not text.isprintable():
        return [(field, f"must be one printable line of at most {MAX_COMMAND} characters")]
    return []


def page_size(value: int, field: str = "page_size") -> Problems:
    if value < 0 or value > 1000:
        return [(field, "must be between 1 and 1000 (0: the default, 50)")]
    return []
