"""Tables of backend work (created by migration ``0300_nso_backend``).

``agent_backend_step``: the intent log of backend calls made outside the
agent's transactions.  A step is written in the transaction that decides the
call (with the NSI header needed for the answer), the call is made, and the
step is deleted in the transaction that records the outcome; a step still
there after a restart is driven again (backend calls are idempotent).

``nso_backend_service``: what the NSO backend knows of each connection's
service instance (path, dry-run diff of the reserve check, last health check),
shown by ``nsgw reservations show``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")


class BackendStepRow(Base):
    __tablename__ = "agent_backend_step"
    # An id is never given twice, also once the table is empty: an outcome is
    # recorded by whoever deletes the step's id first (see 0400_unique_ids).
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    correlation_id: Mapped[str] = mapped_column(Text, default="")
    requester_nsa: Mapped[str] = mapped_column(Text, default="")
    reply_to: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class NsoServiceRow(Base):
    __tablename__ = "nso_backend_service"

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_path: Mapped[str] = mapped_column(Text)
    dry_run_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dry_run_diff: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(32), default="checked")
    last_error: Mapped[str] = mapped_column(Text, default="")
    health_in_sync: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    health_detail: Mapped[str] = mapped_column(Text, default="")
    health_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
