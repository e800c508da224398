"""Device and service actions of the simulator (``POST .../<action>``)."""

from __future__ import annotations

from typing import Any

from adapters.nso_restconf.simulator.devices import config_diff
from adapters.nso_restconf.simulator.render import cli_diff, curly_lines, native_diff
from adapters.nso_restconf.simulator.services import (
    ServiceModel,
    apply_fragment,
    remove_fragment,
)
from adapters.nso_restconf.simulator.state import (
    SimState,
    device_entries,
    device_entry,
    nso_configs,
    service_instances,
)
from adapters.nso_restconf.simulator.tree import TreeError, clone, local_name

DEVICE_ACTIONS = {
    ("connect",),
    ("check-sync",),
    ("sync-from",),
    ("sync-to",),
    ("compare-config",),
    ("ping",),
    ("ssh", "fetch-host-keys"),
}
SERVICE_ACTIONS = {
    "re-deploy",
    "check-sync",
    "deep-check-sync",
    "get-modifications",
    "un-deploy",
    "touch",
}
NCS_OUTPUT = "tailf-ncs:output"

Output = dict[str, Any] | None


def _refused(name: str) -> str:
    return f"Failed to connect to device {name}: connection refused"


def _dry_format(input: dict[str, Any]) -> str | None:
    dry = input.get("dry-run")
    if dry is None:
        return None
    fmt = dry.get("outformat", "cli") if isinstance(dry, dict) else "cli"
    if fmt not in ("cli", "cli-c", "native", "xml"):
        raise TreeError(400, "invalid-value", f"invalid dry-run outformat {fmt!r}")
    return "cli" if fmt == "cli-c" else str(fmt)


def sync_status(state: SimState, name: str) -> tuple[str, str]:
    entry = device_entry(state.datastore.tree, name)
    device = state.devices[name]
    if entry is None:
        return "error", f"device {name} is not in NSO"
    if entry.get("state", {}).get("admin-state") == "locked":
        return "locked", ""
    if state.faults.unreachable(name):
        return "error", _refused(name)
    in_sync = entry.get("config", {}) == device.actual
    return ("in-sync", "") if in_sync else ("out-of-sync", "got: device config differs")


def devices_check_sync(state: SimState) -> Output:
    results = []
    for entry in device_entries(state.datastore.tree):
        result, info = sync_status(state, entry["name"])
        item = {"device": entry["name"], "result": result}
        if info:
            item["info"] = info
        results.append(item)
    return {NCS_OUTPUT: {"sync-result": results}}


def device_action(  # noqa: PLR0911, PLR0912 - one branch per action
    state: SimState, name: str, action: tuple[str, ...], input: dict[str, Any]
) -> Output:
    entry = device_entry(state.datastore.tree, name)
    if entry is None or name not in state.devices:
        raise TreeError(
            404, "invalid-value", "uri keypath not found", f"/ncs:devices/device{{{name}}}"
        )
    device = state.devices[name]
    reachable = not state.faults.unreachable(name)
    nso_copy = entry.setdefault("config", {})
    verb = action[-1]
    if verb == "connect":
        if not reachable:
            return {NCS_OUTPUT: {"result": False, "info": _refused(name)}}
        return {
            NCS_OUTPUT: {"result": True, "info": f"(admin) Connected to {name} - {device.address}"}
        }
    if verb == "check-sync":
        result, info = sync_status(state, name)
        return {NCS_OUTPUT: {"result": result, **({"info": info} if info else {})}}
    if verb == "ping":
        received = 5 if reachable else 0
        loss = 0 if reachable else 100
        return {
            NCS_OUTPUT: {
                "result": (
                    f"PING {device.address}: 56 data bytes\n"
                    f"--- {device.address} ping statistics ---\n"
                    f"5 packets transmitted, {received} packets received, {loss}% packet loss\n"
                )
            }
        }
    if verb == "fetch-host-keys":
        if not reachable:
            return {NCS_OUTPUT: {"result": "failed", "info": _refused(name)}}
        return {
            NCS_OUTPUT: {
                "result": "unchanged",
                "fingerprint": [{"algorithm": "ssh-ed25519", "value": device.host_key}],
            }
        }
    if not reachable:
        if verb in ("sync-from", "sync-to") and _dry_format(input) is None:
            return {NCS_OUTPUT: {"result": False, "info": _refused(name)}}
        raise TreeError(500, "operation-failed", _refused(name))
    if verb == "compare-config":
        diff = config_diff(nso_copy, device.actual)
        return {NCS_OUTPUT: {"diff": diff}} if diff else None
    if verb == "sync-from":
        new = clone(state.datastore.tree)
        target = device_entry(new, name)
        assert target is not None
        target["config"] = clone(device.actual)
        state.datastore.replace(new, comment=f"sync-from {name}")
        return {NCS_OUTPUT: {"result": True}}
    if verb == "sync-to":
        fmt = _dry_format(input)
        if fmt == "native":
            return {NCS_OUTPUT: {"data": native_diff(device.actual, nso_copy)}}
        if fmt is not None:
            return {NCS_OUTPUT: {"data": config_diff(device.actual, nso_copy)}}
        device.actual = clone(nso_copy)
        return {NCS_OUTPUT: {"result": True}}
    raise TreeError(404, "invalid-value", "uri keypath not found")


def live_status_exec(state: SimState, name: str, module: str, input: dict[str, Any]) -> Output:
    entry = device_entry(state.datastore.tree, name)
    device = state.devices.get(name)
    if entry is None or device is None or module != device.stats_module:
        raise TreeError(
            404,
            "invalid-value",
            "uri keypath not found",
            f"/ncs:devices/device{{{name}}}/live-status/{module}:exec",
        )
    if state.faults.unreachable(name):
        raise TreeError(500, "operation-failed", _refused(name))
    args = input.get("args")
    if isinstance(args, list):
        args = " ".join(str(a) for a in args)
    if not isinstance(args, str) or not args.strip():
        raise TreeError(400, "invalid-value", "exec needs input args")
    return {f"{module}:output": {"result": device.exec(args, entry.get("platform", {}))}}


def service_action(  # noqa: PLR0912 - one branch per action
    state: SimState, model: ServiceModel, key: str, action: str, input: dict[str, Any]
) -> Output:
    instance = service_instances(state.datastore.tree, model.top).get(key)
    if instance is None:
        raise TreeError(404, "invalid-value", "uri keypath not found", f"/{model.top}{{{key}}}")
    module_output = f"{model.top.split(':')[0]}:output"
    fragments = model.render(instance)
    configs = nso_configs(state.datastore.tree)
    if action == "get-modifications":
        lines: list[str] = []
        for device, fragment in fragments.items():
            lines += curly_lines("devices", {"device": [{"name": device, "config": fragment}]})
        text = "\n".join(line if not line.strip() else "+" + line for line in lines) + "\n"
        return {module_output: {"cli": {"local-node": {"data": text}}}}
    if action in ("check-sync", "deep-check-sync"):
        against = (
            configs if action == "check-sync" else {n: d.actual for n, d in state.devices.items()}
        )
        in_sync = all(
            _applied(against.get(d, {}), f) == against.get(d, {}) for d, f in fragments.items()
        )
        return {module_output: {"in-sync": in_sync}}
    if action == "touch":
        return None
    new = clone(state.datastore.tree)
    new_configs = nso_configs(new)
    for device, fragment in fragments.items():
        if device in new_configs:
            if action == "un-deploy":
                remove_fragment(new_configs[device], fragment)
            else:
                apply_fragment(new_configs[device], fragment)
    changed = {
        d: (configs[d], new_configs[d])
        for d in fragments
        if d in configs and configs[d] != new_configs[d]
    }
    fmt = _dry_format(input)
    if fmt == "native":
        devices = [{"name": d, "data": native_diff(a, b)} for d, (a, b) in changed.items()]
        return {module_output: {"native": {"device": devices}}}
    if fmt is not None:
        old_lines: list[str] = []
        new_lines: list[str] = []
        for d, (a, b) in changed.items():
            old_lines += curly_lines("devices", {"device": [{"name": d, "config": a}]})
            new_lines += curly_lines("devices", {"device": [{"name": d, "config": b}]})
        return {module_output: {"cli": {"local-node": {"data": cli_diff(old_lines, new_lines)}}}}
    for d in changed:
        if state.faults.unreachable(d):
            raise TreeError(500, "operation-failed", _refused(d))
    state.datastore.replace(new, comment=f"{action} {local_name(model.top)} {key}")
    for d, (_a, b) in changed.items():
        state.push(d, b)
    return None


def _applied(config: Any, fragment: dict[str, Any]) -> Any:
    copy = clone(config)
    apply_fragment(copy, fragment)
    return copy
