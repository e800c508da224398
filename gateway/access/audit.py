"""The audit log: every mutating API call with the caller's identity.

One row per call in the ``api_audit`` table, and one structlog line.  The row
is one prepared insert, run as a unit of its own on the database thread
(``db.threaded``): one thread hop per call.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.db import Base, Database, UtcDateTime, table_of, utcnow
from gateway.logs import get_logger

log = get_logger(__name__)


class AuditRow(Base):
    __tablename__ = "api_audit"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    time: Mapped[datetime] = mapped_column(UtcDateTime())
    caller: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(128), default="")
    operation: Mapped[str] = mapped_column(String(128), default="")
    code: Mapped[str] = mapped_column(String(32))
    peer: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_api_audit_time", "time"),)


_INSERT = insert(table_of(AuditRow))  # built once
_RECENT = select(AuditRow).order_by(AuditRow.id.desc())


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        *,
        caller: str,
        method: str,
        code: str,
        request_id: str = "",
        operation: str = "",
        peer: str = "",
    ) -> None:
        log.info(
            "api call audited",
            caller=caller,
            method=method,
            code=code,
            api_request_id=request_id,
            operation=operation,
            peer=peer,
        )
        values = {
            "time": utcnow(),
            "caller": caller,
            "method": method,
            "request_id": request_id[:128],
            "operation": operation,
            "code": code,
            "peer": peer,
        }

        def write(session: Session) -> None:
            session.execute(_INSERT, values)

        await self._db.threaded.write(write)

    async def recent(self, limit: int = 100) -> list[AuditRow]:
        """The newest ``limit`` records, newest first."""

        def read(session: Session) -> list[AuditRow]:
            return list(session.execute(_RECENT.limit(limit)).scalars().all())

        return await self._db.threaded.read(read)
