"""The simulated devices: their own configuration, reachability and command outputs.

NSO keeps a copy of each device's configuration (``devices/device=X/config``
in the datastore); the device itself holds :attr:`SimDevice.actual`.  The two
differ after a ``no-networking`` commit or a change made on the device, and
check-sync / compare-config / sync-from / sync-to work on that difference.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from adapters.nso_restconf.simulator.render import cli_diff, curly_lines, device_cli

NED_STATS = {
    "cisco-ios-cli": "tailf-ned-cisco-ios-stats",
    "cisco-iosxr-cli": "tailf-ned-cisco-ios-xr-stats",
    "cisco-nx-cli": "tailf-ned-cisco-nx-stats",
    "cisco-asa-cli": "tailf-ned-cisco-asa-stats",
    "arista-dcs-cli": "tailf-ned-arista-dcs-stats",
    "huawei-vrp-cli": "tailf-ned-huawei-vrp-stats",
}


def stats_module(ned_id: str) -> str | None:
    """The live-status module of a NED id (``cisco-iosxr-cli-7.52``), None if it has none."""
    name = ned_id.rsplit(":", 1)[-1]
    for family, module in NED_STATS.items():
        if name == family or name.startswith(family + "-"):
            return module
    return None


@dataclass
class SimDevice:
    name: str
    ned_id: str
    address: str = "127.0.0.1"
    actual: dict[str, Any] = field(default_factory=dict)
    live_status: dict[str, str] = field(default_factory=dict)

    @property
    def stats_module(self) -> str | None:
        return stats_module(self.ned_id)

    @property
    def host_key(self) -> str:
        digest = hashlib.sha256(f"ssh-ed25519 {self.name}".encode()).hexdigest()
        return ":".join(digest[i : i + 2] for i in range(0, 32, 2))

    def exec(self, command: str, platform: dict[str, Any]) -> str:
        """The scripted output of a command, or a plausible default."""
        command = " ".join(command.split())
        if command in self.live_status:
            return self.live_status[command]
        if command == "show version":
            return (
                f"{platform.get('name', 'ios')} Software, Version {platform.get('version', '')}\n"
                f"{self.name} uptime is 12 weeks, 3 days\n"
                f"cisco {platform.get('model', '')} processor "
                f"(serial {platform.get('serial-number', '')})\n"
            )
        if command == "show running-config":
            return device_cli(self.actual) + "\n"
        return f"% Invalid input detected at '^' marker.\n{self.name}# {command}\n"


def config_diff(nso_copy: Any, device: Any) -> str:
    """compare-config: ``-`` lines NSO has and the device lacks, ``+`` the other way."""
    return cli_diff(curly_lines("config", nso_copy or {}), curly_lines("config", device or {}))
