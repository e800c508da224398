"""The audit log: every mutating API call with the caller's identity.

One row per call in the ``api_audit`` table, and one structlog line.  Rows are
written in batches on the database thread (``db.threaded``): while one batch
is being written, the records of other calls gather for the next, so calls
made at the same time share one transaction.  Every call still waits until
its own row is committed.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.db import Base, Database, UtcDateTime, table_of, utcnow
from gateway.logs import get_logger
from gateway.prepared import Prepared

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


_INSERT = Prepared(insert(table_of(AuditRow)))  # given every column but the id
_RECENT = select(AuditRow).order_by(AuditRow.id.desc())


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    _INSERT.execute_many(session.connection(), rows)


def _fail(written: asyncio.Future[None], error: Exception) -> None:
    written.set_exception(error)
    written.exception()  # marked retrieved: the callers waiting on it may have gone


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._batch: list[dict[str, Any]] = []
        self._batch_written: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

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

        if self._batch_written is None:
            self._batch_written = asyncio.get_running_loop().create_future()
        written = self._batch_written
        self._batch.append(values)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_batches(), name="audit-writer")
        await asyncio.shield(written)

    async def _write_batches(self) -> None:
        try:
            while self._batch:
                batch, written = self._batch, self._batch_written
                self._batch, self._batch_written = [], None
                assert written is not None
                try:
                    await self._db.threaded.write(functools.partial(_insert, rows=batch))
                except asyncio.CancelledError:
                    _fail(written, RuntimeError("the audit log stopped"))
                    raise
                except Exception as exc:
                    _fail(written, exc)
                else:
                    written.set_result(None)
        finally:
            self._writer = None
            if self._batch_written is not None and self._batch:
                # Cancelled with records waiting: their callers learn it.
                _fail(self._batch_written, RuntimeError("the audit log stopped"))
                self._batch, self._batch_written = [], None

    async def recent(self, limit: int = 100) -> list[AuditRow]:
        """The newest ``limit`` records, newest first."""

        def read(session: Session) -> list[AuditRow]:
            return list(session.execute(_RECENT.limit(limit)).scalars().all())

        return await self._db.threaded.read(read)
