"""One NSO transaction: apply an edit, re-render services, dry-run or commit, push to devices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.nso_restconf.simulator.devices import SimDevice
from adapters.nso_restconf.simulator.params import SimCommitParams
from adapters.nso_restconf.simulator.render import cli_diff, curly_lines, native_diff, to_xml
from adapters.nso_restconf.simulator.services import apply_fragment, remove_fragment
from adapters.nso_restconf.simulator.state import (
    SimState,
    device_entries,
    nso_configs,
    service_instances,
)
from adapters.nso_restconf.simulator.tree import TreeError, clone, local_name

Edit = Callable[[dict[str, Any]], bool]
"""Changes a copy of the tree in place; returns True when it created the target."""


@dataclass
class Changes:
    devices: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    services: list[tuple[str, Any, Any]] = field(default_factory=list)


@dataclass
class Outcome:
    created: bool
    body: dict[str, Any] | None = None
    dry_run: bool = False


def rerender(
    state: SimState, old: dict[str, Any], new: dict[str, Any], *, deploy: bool = True
) -> Changes:
    """Bring service renderings in ``new`` up to date and list what changed.

    With ``deploy=False`` (``no-deploy``) service instances are stored but not
    rendered; a later re-deploy puts their configuration on the devices.
    """
    changes = Changes()
    configs = nso_configs(new)
    for top, model in state.models.items() if deploy else ():
        before = service_instances(old, top)
        after = service_instances(new, top)
        for name, instance in before.items():
            if after.get(name) != instance:
                for device, fragment in model.render(instance).items():
                    if device in configs:
                        remove_fragment(configs[device], fragment)
        for name, instance in after.items():
            if before.get(name) != instance:
                model.validate(instance, configs)
                for device, fragment in model.render(instance).items():
                    apply_fragment(configs[device], fragment)
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                changes.services.append((top, before.get(name), after.get(name)))
    old_configs = {str(e.get("name")): e.get("config", {}) for e in device_entries(old)}
    for name in sorted(set(old_configs) | set(configs)):
        if old_configs.get(name, {}) != configs.get(name, {}):
            changes.devices[name] = (old_configs.get(name, {}), configs.get(name, {}))
    return changes


def dry_run_body(changes: Changes, fmt: str, reverse: bool) -> dict[str, Any]:
    """The ``dry-run-result`` of the changes in the requested format."""

    def pick(pair: tuple[Any, Any]) -> tuple[Any, Any]:
        return (pair[1], pair[0]) if reverse else pair

    if fmt == "native":
        devices = [
            {"name": name, "data": native_diff(*pick(pair))}
            for name, pair in changes.devices.items()
        ]
        return {"dry-run-result": {"native": {"device": devices}}}
    if fmt == "xml":
        text = ""
        for top, before, after in changes.services:
            value = pick((before, after))[1]
            if value is not None:
                text += to_xml(top, value)
        for name, pair in changes.devices.items():
            text += to_xml("devices", {"device": {"name": name, "config": pick(pair)[1]}})
        return {"dry-run-result": {"result-xml": {"local-node": {"data": text}}}}
    old_lines: list[str] = []
    new_lines: list[str] = []
    for top, before, after in changes.services:
        a, b = pick((before, after))
        old_lines += curly_lines(local_name(top), [a]) if a is not None else []
        new_lines += curly_lines(local_name(top), [b]) if b is not None else []
    for name, pair in changes.devices.items():
        a, b = pick(pair)
        old_lines += curly_lines("devices", {"device": [{"name": name, "config": a}]})
        new_lines += curly_lines("devices", {"device": [{"name": name, "config": b}]})
    return {"dry-run-result": {"cli": {"local-node": {"data": cli_diff(old_lines, new_lines)}}}}


def _failed(message: str, path: str = "") -> TreeError:
    return TreeError(500, "operation-failed", message, path)


def check_devices(state: SimState, changes: Changes, params: SimCommitParams) -> None:
    """Refuse a commit that would touch an out-of-sync or unreachable device."""
    if params.no_networking:
        return
    for name, (old_config, _new) in changes.devices.items():
        device = state.devices.get(name)
        if device is None:
            continue
        if state.faults.unreachable(name) and params.commit_queue != "async":
            raise _failed(f"Failed to connect to device {name}: connection refused")
        if not params.no_out_of_sync_check and old_config != device.actual:
            raise _failed(f"Network Element Driver: device {name}: out of sync")


def sync_device_list(state: SimState, tree: dict[str, Any]) -> None:
    """Devices created or deleted through RESTCONF get or lose their simulated box."""
    names = set()
    for entry in device_entries(tree):
        name = str(entry.get("name"))
        names.add(name)
        if name not in state.devices:
            ned = entry.get("device-type", {}).get("cli", {}).get("ned-id", "")
            state.devices[name] = SimDevice(
                name=name, ned_id=str(ned), actual=clone(entry.get("config", {}))
            )
    for name in set(state.devices) - names:
        del state.devices[name]


def commit(state: SimState, edit: Edit, params: SimCommitParams) -> Outcome:
    """Run the transaction; TreeError when it fails (then nothing changed)."""
    state.advance_queue()
    old = state.datastore.tree
    new = clone(old)
    created = edit(new)
    changes = rerender(state, old, new, deploy=not params.no_deploy)
    if params.dry_run:
        return Outcome(created, dry_run_body(changes, params.dry_run, params.reverse), True)
    check_devices(state, changes, params)
    rollback_id = state.datastore.replace(new, params.label, params.comment)
    sync_device_list(state, new)
    result: dict[str, Any] = {}
    if params.rollback_id:
        result["rollback"] = {"id": rollback_id}
    pushes = {n: clone(new_cfg) for n, (_old, new_cfg) in changes.devices.items()}
    if params.no_networking:
        pass
    elif params.commit_queue == "async" and pushes:
        item = state.queue.add(pushes)
        result["commit-queue"] = {"id": item.id, "status": "async"}
    else:
        for name, config in pushes.items():
            state.push(name, config)
        if params.commit_queue in ("async", "sync"):
            item = state.queue.add({})
            item.status, item.done = "completed", True
            result["commit-queue"] = {"id": item.id, "status": "completed"}
    return Outcome(created, {"tailf-restconf:result": result} if result else None)
