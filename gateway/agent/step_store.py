"""Queries on the backend step log (``agent_backend_step``, synchronous SQLAlchemy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gateway.agent.backend_tables import BackendStepRow

RESERVE_CHECK = "reserve-check"  # dry-run of a held version; then reserveConfirmed/Failed
MODIFY = "modify"  # a committed modify reaches the network; then reserveCommitConfirmed/Failed
DATA_PLANE = "data-plane"  # bring the network to what the states say (activate/deactivate)
TERMINATE = "terminate"  # remove everything; then terminateConfirmed
KINDS = (RESERVE_CHECK, MODIFY, DATA_PLANE, TERMINATE)


@dataclass(frozen=True)
class Step:
    id: int
    connection_id: str
    kind: str
    version: int | None
    correlation_id: str
    requester_nsa: str
    reply_to: str


def add_step(  # noqa: PLR0917
    session: Session,
    connection_id: str,
    kind: str,
    version: int | None,
    now: datetime,
    correlation_id: str = "",
    requester_nsa: str = "",
    reply_to: str = "",
) -> None:
    assert kind in KINDS, kind
    session.add(
        BackendStepRow(
            connection_id=connection_id,
            kind=kind,
            version=version,
            correlation_id=correlation_id,
            requester_nsa=requester_nsa,
            reply_to=reply_to,
            created_at=now,
        )
    )


def pending_connections(session: Session) -> list[str]:
    """Connections with steps to drive, oldest first."""
    rows = session.execute(
        select(BackendStepRow.connection_id, BackendStepRow.id).order_by(BackendStepRow.id)
    )
    seen: dict[str, None] = {}
    for connection_id, _ in rows:
        seen.setdefault(connection_id, None)
    return list(seen)


def first_step(session: Session, connection_id: str) -> Step | None:
    row = session.scalars(
        select(BackendStepRow)
        .where(BackendStepRow.connection_id == connection_id)
        .order_by(BackendStepRow.id)
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    return Step(
        row.id,
        row.connection_id,
        row.kind,
        row.version,
        row.correlation_id,
        row.requester_nsa,
        row.reply_to,
    )


def has_steps(session: Session, connection_id: str) -> bool:
    return first_step(session, connection_id) is not None


def delete_step(session: Session, step_id: int) -> bool:
    """Remove a step; False if it was already gone (its outcome is recorded)."""
    result = session.execute(delete(BackendStepRow).where(BackendStepRow.id == step_id))
    return bool(getattr(result, "rowcount", 0))
