"""What the NSO backend knows of each connection's service (table ``nso_backend_service``).

Written by the backend outside the agent's transactions; read by
``nsgw reservations show``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.agent.backend_tables import NsoServiceRow
from gateway.db import Database, utcnow

# states of a service instance as the backend last saw it
CHECKED = "checked"  # the reserve check's dry-run succeeded; nothing in NSO
REFUSED = "refused"  # the dry-run was refused
ACTIVE = "active"  # the instance exists in NSO
ACTIVATE_FAILED = "activate-failed"  # creation failed; what was created was removed
REMOVED = "removed"  # deleted (deactivate or terminate)
REMOVE_FAILED = "remove-failed"  # deletion failed; the instance may still be in NSO


@dataclass(frozen=True)
class NsoServiceRecord:
    connection_id: str
    service_path: str
    state: str
    dry_run_version: int | None
    dry_run_diff: str
    last_error: str
    health_in_sync: bool | None
    health_detail: str
    health_checked_at: datetime | None


class NsoRecords:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _update(self, connection_id: str, path: str, **values: object) -> None:
        async with self._db.transaction() as session:
            row = await session.get(NsoServiceRow, connection_id)
            if row is None:
                row = NsoServiceRow(
                    connection_id=connection_id,
                    service_path=path,
                    dry_run_diff="",
                    state=CHECKED,
                    last_error="",
                    health_detail="",
                )
                session.add(row)
            row.service_path = path
            if row.state == ACTIVE and values.get("state") in (CHECKED, REFUSED):
                del values["state"]  # the check of a modify: the instance is still active
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = utcnow()

    async def checked(self, connection_id: str, path: str, version: int, diff: str) -> None:
        await self._update(
            connection_id,
            path,
            state=CHECKED,
            dry_run_version=version,
            dry_run_diff=diff,
            last_error="",
        )

    async def refused(self, connection_id: str, path: str, version: int, error: str) -> None:
        await self._update(
            connection_id,
            path,
            state=REFUSED,
            dry_run_version=version,
            dry_run_diff="",
            last_error=error,
        )

    async def state(self, connection_id: str, path: str, state: str, error: str = "") -> None:
        await self._update(connection_id, path, state=state, last_error=error)

    async def health(self, connection_id: str, path: str, in_sync: bool, detail: str) -> None:
        await self._update(
            connection_id,
            path,
            health_in_sync=in_sync,
            health_detail=detail,
            health_checked_at=utcnow(),
        )


def load_record(session: Session, connection_id: str) -> NsoServiceRecord | None:
    """The record of a connection (synchronous; e.g. through ``run_sync``)."""
    row = session.get(NsoServiceRow, connection_id)
    if row is None:
        return None
    return NsoServiceRecord(
        row.connection_id,
        row.service_path,
        row.state,
        row.dry_run_version,
        row.dry_run_diff,
        row.last_error,
        row.health_in_sync,
        row.health_detail,
        row.health_checked_at,
    )
