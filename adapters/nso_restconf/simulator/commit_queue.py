"""The commit queue (async mode): items whose status moves on as time passes.

An item is ``waiting`` for the first third of its delay, ``executing`` until
the delay is over, then ``completed`` (its devices get the configuration then)
or ``failed`` when a device of the item is unreachable at that moment.  Items
advance lazily, whenever the simulator handles a request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class QueueItem:
    id: int
    devices: list[str]
    configs: dict[str, Any]
    created: float
    delay: float
    status: str = "waiting"
    done: bool = False
    failed_devices: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": self.id, "status": self.status, "devices": self.devices}
        if self.failed_devices:
            entry["failed-device"] = [{"name": d} for d in self.failed_devices]
        return entry


class CommitQueue:
    def __init__(self, delay: float = 0.5, first_id: int = 1_700_000_000) -> None:
        self.delay = delay
        self.items: dict[int, QueueItem] = {}
        self._next = first_id

    def add(self, configs: dict[str, Any]) -> QueueItem:
        self._next += 1
        item = QueueItem(self._next, sorted(configs), configs, time.monotonic(), self.delay)
        self.items[item.id] = item
        return item

    def advance(self, push: Callable[[str, Any], bool], now: float | None = None) -> None:
        """Move items on; ``push(device, config)`` delivers and says whether it worked."""
        now = time.monotonic() if now is None else now
        for item in self.items.values():
            if item.done:
                continue
            elapsed = now - item.created
            if elapsed >= item.delay:
                item.failed_devices = [d for d, c in item.configs.items() if not push(d, c)]
                item.status = "failed" if item.failed_devices else "completed"
                item.done = True
            elif elapsed >= item.delay / 3:
                item.status = "executing"

    def as_json(self) -> dict[str, Any]:
        if not self.items:
            return {}
        return {"queue-item": [item.as_json() for item in self.items.values()]}
