"""Backend steps of the provider agent and the NSO backend's service records.

Revision ID: 0300_nso_backend
Revises: 0201_nsi_soap
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0300_nso_backend"
down_revision = "0201_nsi_soap"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "agent_backend_step",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("correlation_id", sa.Text(), nullable=False),
        sa.Column("requester_nsa", sa.Text(), nullable=False),
        sa.Column("reply_to", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_backend_step")),
    )
    op.create_index(
        op.f("ix_agent_backend_step_connection_id"), "agent_backend_step", ["connection_id"]
    )
    op.create_table(
        "nso_backend_service",
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("service_path", sa.Text(), nullable=False),
        sa.Column("dry_run_version", sa.Integer(), nullable=True),
        sa.Column("dry_run_diff", sa.Text(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("health_in_sync", sa.Boolean(), nullable=True),
        sa.Column("health_detail", sa.Text(), nullable=False),
        sa.Column("health_checked_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_nso_backend_service")),
    )


def downgrade() -> None:
    op.drop_table("nso_backend_service")
    op.drop_index(op.f("ix_agent_backend_step_connection_id"), table_name="agent_backend_step")
    op.drop_table("agent_backend_step")
