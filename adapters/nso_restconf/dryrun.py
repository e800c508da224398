"""Dry-run replies, parsed into :class:`DryRunResult`.

NSO answers a dry-run commit with 200 and one of three shapes (``cli``,
``native`` per device, ``result-xml``); device and service actions with a
dry-run input use the same shapes under ``<module>:output``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from adapters.nso_restconf.commit import DryRunFormat
from adapters.nso_restconf.errors import InvalidResponse


class DryRunResult(BaseModel):
    """What a commit would change; nothing was changed."""

    model_config = ConfigDict(frozen=True)

    format: DryRunFormat
    cli: str = ""
    """The diff of NSO's configuration (format ``cli``)."""
    native: dict[str, str] = Field(default_factory=dict)
    """Device name -> the commands NSO would send (format ``native``); only changed devices."""
    xml: str = ""
    """The diff as XML (format ``xml``)."""

    @property
    def changed_devices(self) -> list[str]:
        return sorted(self.native)

    @property
    def is_empty(self) -> bool:
        return not (self.cli.strip() or self.xml.strip() or self.native)

    @property
    def text(self) -> str:
        """The result as text, whatever its format."""
        if self.format is DryRunFormat.NATIVE:
            return "\n".join(f"device {name}\n{data}" for name, data in sorted(self.native.items()))
        return self.cli if self.format is DryRunFormat.CLI else self.xml


def _local_node(section: Any) -> str:
    if isinstance(section, dict):
        node = section.get("local-node", section)
        if isinstance(node, dict):
            return str(node.get("data", ""))
    return ""


def parse_dry_run(body: Any) -> DryRunResult:
    """A dry-run body (``dry-run-result`` or an action's output) as a typed result."""
    if not isinstance(body, dict):
        raise InvalidResponse("dry-run reply is not a JSON object")
    inner = body
    for key, value in body.items():
        if key.split(":")[-1] in ("dry-run-result", "output") and isinstance(value, dict):
            inner = value
            break
    if "native" in inner:
        devices = inner["native"].get("device", []) if isinstance(inner["native"], dict) else []
        native = {
            str(d.get("name")): str(d.get("data", "")) for d in devices if isinstance(d, dict)
        }
        return DryRunResult(format=DryRunFormat.NATIVE, native=native)
    if "result-xml" in inner:
        return DryRunResult(format=DryRunFormat.XML, xml=_local_node(inner["result-xml"]))
    if "cli" in inner:
        return DryRunResult(format=DryRunFormat.CLI, cli=_local_node(inner["cli"]))
    if not inner:
        return DryRunResult(format=DryRunFormat.CLI)
    raise InvalidResponse(f"unrecognised dry-run reply with keys {sorted(inner)}")
