"""A small synchronous facade for scripts: ``with SyncNsoClient(config) as nso: ...``.

It owns a private event loop and runs the async client's calls on it; do not
use it from inside a running event loop (use :class:`NsoClient` there).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from adapters.nso_restconf.client import NsoClient
from adapters.nso_restconf.commit import CommitParams
from adapters.nso_restconf.config import NsoConfig
from adapters.nso_restconf.results import CheckSyncResult, DataReply, DeviceInfo, WriteResult

T = TypeVar("T")


class SyncNsoClient:
    def __init__(self, config: NsoConfig) -> None:
        self._loop = asyncio.new_event_loop()
        self.client = NsoClient(config)

    def __repr__(self) -> str:
        return f"SyncNsoClient({self.client!r})"

    def __enter__(self) -> SyncNsoClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self.client.aclose())
            self._loop.close()

    def call(self, operation: Callable[[NsoClient], Awaitable[T]]) -> T:
        """Run any async client operation: ``nso.call(lambda c: c.devices.ping("pe0"))``."""

        async def run() -> T:
            return await operation(self.client)

        return self._loop.run_until_complete(run())

    def get(self, path: str, **options: Any) -> DataReply:
        return self.call(lambda c: c.get(path, **options))

    def put(self, path: str, body: Any, params: CommitParams | None = None) -> WriteResult:
        return self.call(lambda c: c.put(path, body, params=params))

    def delete(self, path: str, params: CommitParams | None = None) -> WriteResult:
        return self.call(lambda c: c.delete(path, params=params))

    def devices(self) -> list[DeviceInfo]:
        return self.call(lambda c: c.devices.all())

    def check_sync(self, device: str) -> CheckSyncResult:
        return self.call(lambda c: c.devices.check_sync(device))

    def exec(self, device: str, command: str) -> str:
        return self.call(lambda c: c.devices.exec(device, command))
