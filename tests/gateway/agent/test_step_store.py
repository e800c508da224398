"""The provider agent's queue of backend steps."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from gateway.agent import step_store
from gateway.db import Database

NOW = datetime(2026, 12, 1, tzinfo=UTC)


async def test_steps_of_a_connection_come_oldest_first(database: Database) -> None:
    def add(session: Session) -> None:
        step_store.add_step(session, "c1", step_store.RESERVE_CHECK, 1, NOW)
        step_store.add_step(session, "c2", step_store.DATA_PLANE, 1, NOW)
        step_store.add_step(session, "c1", step_store.TERMINATE, None, NOW)

    await database.threaded.write(add)

    def first(session: Session) -> tuple[str, str] | None:
        step = step_store.first_step(session, "c1")
        return None if step is None else (step.kind, step.connection_id)

    assert await database.threaded.read(first) == (step_store.RESERVE_CHECK, "c1")
    assert await database.threaded.read(step_store.pending_connections) == ["c1", "c2"]


async def test_a_step_id_is_never_given_twice_even_once_no_step_is_left(
    database: Database,
) -> None:
    """An outcome is recorded by whoever deletes the step's id first: a new step
    taking a finished one's id could have a stale outcome recorded for it."""

    def add_and_finish(session: Session) -> int:
        step_store.add_step(session, "c1", step_store.RESERVE_CHECK, 1, NOW)
        session.flush()
        step = step_store.first_step(session, "c1")
        assert step is not None
        assert step_store.delete_step(session, step.id)
        assert not step_store.delete_step(session, step.id)  # already gone
        return step.id

    ids = [await database.threaded.write(add_and_finish) for _ in range(3)]
    assert ids == sorted(set(ids))
