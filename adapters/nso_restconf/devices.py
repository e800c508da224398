"""Device actions: connect, check-sync, sync-from/-to, compare-config, ping, host keys, exec."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from adapters.nso_restconf.commit import DryRunFormat
from adapters.nso_restconf.dryrun import DryRunResult, parse_dry_run
from adapters.nso_restconf.errors import (
    AccessDenied,
    InvalidResponse,
    NsoError,
    NsoRequestError,
    Unauthorized,
)
from adapters.nso_restconf.paths import DEVICES, data_path, device_path
from adapters.nso_restconf.results import (
    ActionResult,
    CheckSyncResult,
    DeviceInfo,
    FetchHostKeysResult,
    HostKey,
    PingResult,
    Platform,
    action_output,
    check_sync_result,
)

if TYPE_CHECKING:
    from adapters.nso_restconf.client import NsoClient

# NED families whose stats module name is not simply tailf-ned-<family>-stats.
_STATS_EXCEPTIONS = {"cisco-iosxr": "tailf-ned-cisco-ios-xr-stats"}
_NED_FAMILY = re.compile(r"^(?P<family>.+?)-(?:cli|nc|gen)(?:-[0-9][0-9.]*)?$")


def stats_module_for_ned(ned_id: str) -> str:
    """Live-status module of a CLI NED (``cisco-ios-cli-6.1``: ``tailf-ned-cisco-ios-stats``)"""
    name = ned_id.rsplit(":", maxsplit=1)[-1]
    match = _NED_FAMILY.match(name)
    if match is None or not name.removeprefix(match["family"]).startswith("-cli"):
        raise NsoError(
            f"cannot derive the live-status module from NED {ned_id!r}; "
            "configure it in stats_modules"
        )
    family = match["family"]
    return _STATS_EXCEPTIONS.get(family, f"tailf-ned-{family}-stats")


def _ned_id(device_type: Any) -> str:
    if isinstance(device_type, dict):
        for kind in ("cli", "netconf", "generic", "snmp"):
            section = device_type.get(kind)
            if isinstance(section, dict) and section.get("ned-id"):
                return str(section["ned-id"])
    return ""


def device_info(entry: dict[str, Any]) -> DeviceInfo:
    platform = entry.get("platform", {}) or {}
    port = entry.get("port")
    return DeviceInfo(
        name=str(entry.get("name", "")),
        address=str(entry.get("address", "")),
        port=int(port) if port is not None else None,
        authgroup=str(entry.get("authgroup", "")),
        ned_id=_ned_id(entry.get("device-type")),
        admin_state=str((entry.get("state") or {}).get("admin-state", "")),
        platform=Platform(
            name=str(platform.get("name", "")),
            version=str(platform.get("version", "")),
            model=str(platform.get("model", "")),
            serial_number=str(platform.get("serial-number", "")),
        ),
    )


def _flag(output: dict[str, Any]) -> ActionResult:
    result = output.get("result")
    if not isinstance(result, bool):
        raise InvalidResponse(f"action output without a boolean result: {output!r}")
    return ActionResult(result=result, info=str(output.get("info", "")))


class DeviceActions:
    """``client.devices``: what engineers do to devices through NSO."""

    def __init__(self, client: NsoClient) -> None:
        self._client = client
        self._stats_modules: dict[str, str] = {}

    async def _action(
        self, device: str, action: str, input: dict[str, Any] | None = None, *, safe: bool = False
    ) -> dict[str, Any]:
        body = await self._client.action(device_path(device, action), input, idempotent=safe)
        return action_output(body)

    async def all(self) -> list[DeviceInfo]:
        """Every device with address, NED, admin state and platform."""
        reply = await self._client.get(
            data_path(DEVICES, "device"),
            fields="name;address;port;authgroup;device-type;state/admin-state;platform",
        )
        entries = reply.value if reply.body is not None else []
        if isinstance(entries, dict):
            entries = [entries]
        return [device_info(e) for e in entries]

    async def get(self, device: str) -> DeviceInfo:
        reply = await self._client.get(device_path(device), depth=3)
        return device_info(reply.value)

    async def platform(self, device: str) -> Platform:
        return (await self.get(device)).platform

    async def connect(self, device: str) -> ActionResult:
        return _flag(await self._action(device, "connect", safe=True))

    async def check_sync(self, device: str) -> CheckSyncResult:
        output = await self._action(device, "check-sync", safe=True)
        return check_sync_result(device, output)

    async def check_sync_all(self) -> list[CheckSyncResult]:
        """``devices/check-sync``: one request, NSO checks every device."""
        body = await self._client.action(data_path(DEVICES, "check-sync"), idempotent=True)
        entries = action_output(body).get("sync-result", [])
        if not isinstance(entries, list):
            raise InvalidResponse(f"unreadable devices/check-sync output: {entries!r}")
        return [
            check_sync_result(e.get("device") if isinstance(e, dict) else None, e) for e in entries
        ]

    async def check_sync_many(
        self,
        devices: Iterable[str],
        on_result: Callable[[CheckSyncResult], None] | None = None,
    ) -> list[CheckSyncResult]:
        """check-sync of each device, concurrently within the client's concurrency limit.

        A device NSO reports an error for (missing, device failure) reads as
        ``error`` with the message, so one bad device does not hide the others;
        failing to reach NSO at all, or being refused by it, raises.
        """

        async def one(name: str) -> CheckSyncResult:
            try:
                result = await self.check_sync(name)
            except (Unauthorized, AccessDenied):
                raise
            except (NsoRequestError, InvalidResponse) as exc:
                result = CheckSyncResult(device=name, result="error", info=exc.message)
            if on_result is not None:
                on_result(result)
            return result

        return list(await asyncio.gather(*(one(d) for d in devices)))

    async def sync_from(self, device: str) -> ActionResult:
        return _flag(await self._action(device, "sync-from"))

    async def sync_to(self, device: str) -> ActionResult:
        return _flag(await self._action(device, "sync-to"))

    async def sync_to_dry_run(
        self, device: str, outformat: DryRunFormat = DryRunFormat.NATIVE
    ) -> DryRunResult:
        """What sync-to would send to the device; nothing is sent."""
        output = await self._action(
            device, "sync-to", {"dry-run": {"outformat": outformat.value}}, safe=True
        )
        return _action_dry_run(output, outformat, device)

    async def compare_config(self, device: str) -> str:
        """The diff between NSO's copy and the device; empty when in sync."""
        output = await self._action(device, "compare-config", safe=True)
        return str(output.get("diff", ""))

    async def ping(self, device: str) -> PingResult:
        output = await self._action(device, "ping", safe=True)
        return PingResult(result=str(output.get("result", "")))

    async def fetch_host_keys(self, device: str) -> FetchHostKeysResult:
        output = await self._client.action(
            device_path(device, "ssh", "fetch-host-keys"), idempotent=True
        )
        out = action_output(output)
        keys = out.get("fingerprint", [])
        if isinstance(keys, dict):
            keys = [keys]
        return FetchHostKeysResult(
            result=str(out.get("result", "")),
            fingerprints=[
                HostKey(algorithm=str(k.get("algorithm", "")), value=str(k.get("value", "")))
                for k in keys
            ],
        )

    async def stats_module(self, device: str) -> str:
        """The NED stats module for live-status: configured, cached, or derived from the NED."""
        configured = self._client.config.stats_modules.get(device)
        if configured:
            return configured
        if device not in self._stats_modules:
            reply = await self._client.get(device_path(device, "device-type"))
            self._stats_modules[device] = stats_module_for_ned(_ned_id(reply.value))
        return self._stats_modules[device]

    async def exec(self, device: str, command: str, *, stats_module: str | None = None) -> str:
        """Run a command on the device through ``live-status exec any``; its text output."""
        module = stats_module or await self.stats_module(device)
        path = device_path(device, "live-status", f"{module}:exec", "any")
        body = await self._client.action(path, {"args": command})
        return str(action_output(body).get("result", ""))


def _action_dry_run(output: dict[str, Any], outformat: DryRunFormat, what: str) -> DryRunResult:
    if "data" in output:  # sync-to / re-deploy native output is a bare "data" leaf
        data = str(output["data"])
        if outformat is DryRunFormat.NATIVE:
            return DryRunResult(format=outformat, native={what: data} if data else {})
        if outformat is DryRunFormat.XML:
            return DryRunResult(format=outformat, xml=data)
        return DryRunResult(format=outformat, cli=data)
    return parse_dry_run({"output": output})
