"""From a reservation to an NSO service instance: its path and its payload.

Port convention: the ``port`` of an STP in the topology names the NSO device
and the interface, separated by the first colon: ``pe0:GigabitEthernet0/0/0/1``.

The payload comes from, in order of the ``nso_backend_template`` setting:
- empty: the simulator's shipped ``l2vlan`` service (:func:`l2vlan_payload`);
- a file ending in ``.j2`` / ``.jinja`` / ``.jinja2``: a Jinja2 template that
  renders JSON; it sees every field of :class:`ServiceRequest` by name;
- ``module:function``: a Python callable taking a :class:`ServiceRequest` and
  returning the JSON body (a dict).

The service path comes from ``nso_backend_service_path`` with ``{name}``
replaced by the instance name (the connection id, percent-encoded).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jinja2

from adapters.nso_restconf.paths import encode_key

TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")


class MappingError(ValueError):
    """A mapping that cannot be built or applied; the message names the problem."""


@dataclass(frozen=True)
class DevicePort:
    device: str
    interface: str

    @classmethod
    def parse(cls, port: str, stp_id: str = "") -> DevicePort:
        """``device:interface`` as an STP's port names it."""
        device, sep, interface = port.partition(":")
        if not sep or not device.strip() or not interface.strip():
            raise MappingError(
                f"STP {stp_id or '?'}: port {port!r} does not name an NSO device and "
                "interface (device:interface, e.g. pe0:GigabitEthernet0/0/0/1)"
            )
        return cls(device.strip(), interface.strip())


@dataclass(frozen=True)
class ServiceRequest:
    """What a template or callable gets: one reservation version, ports resolved."""

    name: str  # service instance name (the connection id)
    connection_id: str
    description: str
    version: int
    capacity: int  # Mbit/s
    source_stp: str
    dest_stp: str
    source_device: str
    source_interface: str
    source_vlan: int
    dest_device: str
    dest_interface: str
    dest_vlan: int


Payload = Callable[[ServiceRequest], dict[str, Any]]


def l2vlan_payload(request: ServiceRequest) -> dict[str, Any]:
    """The simulator's ``l2vlan`` service: one VLAN id on both ends (no label swapping)."""
    if request.source_vlan != request.dest_vlan:
        raise MappingError(
            f"the l2vlan service carries one VLAN on both ends, got {request.source_vlan} "
            f"and {request.dest_vlan}"
        )
    return {
        "l2vlan:l2vlan": [
            {
                "name": request.name,
                "vlan-id": request.source_vlan,
                "capacity-mbps": request.capacity,
                "endpoint": [
                    {"device": request.source_device, "interface": request.source_interface},
                    {"device": request.dest_device, "interface": request.dest_interface},
                ],
            }
        ]
    }


def template_payload(path: Path) -> Payload:
    """A Jinja2 template file that renders the JSON body."""
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"cannot read the NSO service template {path}: {exc.strerror}") from None
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 - renders JSON, not HTML
    try:
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise MappingError(
            f"NSO service template {path}, line {exc.lineno}: {exc.message}"
        ) from None

    def render(request: ServiceRequest) -> dict[str, Any]:
        try:
            text = template.render(**asdict(request))
        except jinja2.UndefinedError as exc:
            raise MappingError(f"NSO service template {path}: {exc.message}") from None
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MappingError(
                f"NSO service template {path} did not render JSON: {exc.msg} (line {exc.lineno})"
            ) from None
        if not isinstance(body, dict):
            raise MappingError(f"NSO service template {path} must render a JSON object")
        return body

    return render


def callable_payload(spec: str) -> Payload:
    """``module:function``."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise MappingError(f"nso_backend_template {spec!r}: expected module:function or a .j2 file")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MappingError(
            f"nso_backend_template {spec!r}: cannot import {module_name}: {exc}"
        ) from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise MappingError(f"nso_backend_template {spec!r}: {module_name} has no callable {attr}")

    def render(request: ServiceRequest) -> dict[str, Any]:
        body = function(request)
        if not isinstance(body, dict):
            raise MappingError(f"{spec} returned {type(body).__name__}, not a JSON object")
        return body

    return render


@dataclass(frozen=True)
class ServiceMapping:
    """Service path and payload of a reservation."""

    path_template: str
    payload: Payload

    def path(self, name: str) -> str:
        return self.path_template.replace("{name}", encode_key(name))


def load_mapping(path_template: str, template: str) -> ServiceMapping:
    """The mapping the settings describe; MappingError names what is wrong."""
    if "{name}" not in path_template:
        raise MappingError(
            f"nso_backend_service_path {path_template!r} has no {{name}} for the instance name"
        )
    if not template:
        payload: Payload = l2vlan_payload
    elif template.endswith(TEMPLATE_SUFFIXES):
        payload = template_payload(Path(template))
    else:
        payload = callable_payload(template)
    return ServiceMapping(path_template, payload)
