"""Ids of outbox messages and backend steps are never given twice (SQLite).

Without AUTOINCREMENT, SQLite gives a new row the largest id in the table
plus one, so once the table is empty ids start again from 1.  Both tables
empty themselves in normal work, and both ids mean something after the row
is gone: a callback's Idempotency-Key carries its message id, and a backend
step's outcome is recorded by whoever deletes its id first.  PostgreSQL's
sequences never go back; there is nothing to change there.

Revision ID: 0400_unique_ids
Revises: 0300_nso_backend
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0400_unique_ids"
down_revision = "0300_nso_backend"
branch_labels = None
depends_on = None

TABLES = ("outbox", "agent_backend_step")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        # Copied into a new table: SQLite cannot change this in place.  The copy
        # keeps every row and id, and AUTOINCREMENT goes on from the largest.
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
