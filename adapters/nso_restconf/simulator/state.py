"""Everything one simulated NSO holds: datastore, devices, service models, queue, faults."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from adapters.nso_restconf.simulator.commit_queue import CommitQueue
from adapters.nso_restconf.simulator.datastore import Datastore
from adapters.nso_restconf.simulator.devices import SimDevice
from adapters.nso_restconf.simulator.faults import FaultInjector, Faults
from adapters.nso_restconf.simulator.services import DEFAULT_MODELS, ServiceModel
from adapters.nso_restconf.simulator.tree import child_key, clone

DEMO_DATA = Path(__file__).with_name("demo.json")
DEVICES = "tailf-ncs:devices"


def version_tuple(version: str) -> tuple[int, int]:
    try:
        major, minor = (int(p) for p in version.split(".")[:2])
    except ValueError:
        raise ValueError(f"NSO version {version!r} is not MAJOR.MINOR") from None
    return major, minor


class SimState:
    def __init__(
        self,
        *,
        nso_version: str = "6.4",
        users: dict[str, str] | None = None,
        models: Iterable[ServiceModel] = DEFAULT_MODELS,
        faults: Faults | None = None,
        queue_delay: float = 0.5,
    ) -> None:
        self.version = version_tuple(nso_version)
        self.nso_version = nso_version
        self.users = users if users is not None else {"admin": "admin"}
        self.models = {m.top: m for m in models}
        self.faults = FaultInjector(faults)
        self.queue = CommitQueue(queue_delay)
        self.devices: dict[str, SimDevice] = {}
        self.datastore = Datastore(
            {
                DEVICES: {"device": []},
                "ietf-restconf-monitoring:restconf-state": {
                    "capabilities": {
                        "capability": [
                            "urn:ietf:params:restconf:capability:defaults:1.0?basic-mode=explicit",
                            "urn:ietf:params:restconf:capability:depth:1.0",
                            "urn:ietf:params:restconf:capability:fields:1.0",
                            "urn:ietf:params:restconf:capability:with-defaults:1.0",
                            "urn:ietf:params:restconf:capability:yang-patch:1.0",
                        ]
                    }
                },
            }
        )

    @property
    def errors_key(self) -> str:
        """NSO 6.1+ qualifies the errors container; 5.x does not."""
        return "ietf-restconf:errors" if self.version >= (6, 1) else "errors"

    @property
    def header_params(self) -> bool:
        """NSO 6.7 reads commit parameters from the X-Cisco-NSO-Commit-Params header."""
        return self.version >= (6, 7)

    def advance_queue(self) -> None:
        self.queue.advance(self._push)

    def _push(self, name: str, config: Any) -> bool:
        device = self.devices.get(name)
        if device is None or self.faults.unreachable(name):
            return False
        device.actual = clone(config)
        return True

    def push(self, name: str, config: Any) -> bool:
        return self._push(name, config)


def device_entries(tree: dict[str, Any]) -> list[dict[str, Any]]:
    devices = tree.get(DEVICES, {})
    entries = devices.get("device", []) if isinstance(devices, dict) else []
    return entries if isinstance(entries, list) else []


def device_entry(tree: dict[str, Any], name: str) -> dict[str, Any] | None:
    for entry in device_entries(tree):
        if entry.get("name") == name:
            return entry
    return None


def nso_configs(tree: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Device name -> NSO's copy of its configuration (live references into ``tree``)."""
    configs = {}
    for entry in device_entries(tree):
        config = entry.setdefault("config", {})
        configs[str(entry.get("name"))] = config
    return configs


def service_instances(tree: dict[str, Any], top: str) -> dict[str, dict[str, Any]]:
    key = child_key(tree, top)
    entries = tree.get(key, []) if key else []
    return {str(e.get("name")): e for e in entries if isinstance(e, dict)}


def device_from_data(spec: dict[str, Any]) -> tuple[dict[str, Any], SimDevice]:
    """A data-file device: its datastore entry and its simulated box."""
    try:
        name = str(spec["name"])
        ned_id = str(spec["ned-id"])
    except KeyError as exc:
        raise ValueError(f"device entry needs {exc.args[0]!r}: {spec!r}") from None
    config = spec.get("config", {})
    entry: dict[str, Any] = {
        "name": name,
        "address": spec.get("address", "127.0.0.1"),
        "port": spec.get("port", 22),
        "authgroup": spec.get("authgroup", "default"),
        "device-type": {"cli": {"ned-id": ned_id}},
        "state": {"admin-state": spec.get("admin-state", "unlocked")},
        "platform": spec.get("platform", {}),
        "config": clone(config),
    }
    device = SimDevice(
        name=name,
        ned_id=ned_id,
        address=str(entry["address"]),
        actual=clone(config),
        live_status=dict(spec.get("live-status", {})),
    )
    return entry, device


def read_data_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"data file {path} does not exist") from None
    except ValueError as exc:
        raise ValueError(f"data file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"data file {path} must hold a JSON object")
    return data
