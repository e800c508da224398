"""The null backend: every step succeeds and nothing happens in any network (the default)."""

from __future__ import annotations

from gateway.agent.domain.reservation import Criteria
from gateway.agent.domain.topology import Port


class NullBackend:
    name = "null"
    remote = False
    inline = True  # no method awaits anything: run on the store's thread (see base.py)

    async def reserve_check(self, connection_id: str, criteria: Criteria) -> None:
        return None

    async def commit(self, connection_id: str, criteria: Criteria) -> None:
        return None

    async def abort(self, connection_id: str, criteria: Criteria) -> None:
        return None

    async def modify(self, connection_id: str, old: Criteria, new: Criteria) -> None:
        return None

    async def activate(self, connection_id: str, criteria: Criteria) -> None:
        return None

    async def deactivate(self, connection_id: str, criteria: Criteria) -> None:
        return None

    async def terminate(self, connection_id: str, criteria: Criteria | None) -> None:
        return None

    async def health(self, connection_id: str, criteria: Criteria) -> bool:
        return True

    async def topology(self) -> list[Port] | None:
        return None
