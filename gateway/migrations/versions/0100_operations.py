"""Operations of the orchestrator API, their progress, and the API audit log.

Revision ID: 0100_operations
Revises: 0001_outbox
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0100_operations"
down_revision = "0002_agent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(128), nullable=False),
        sa.Column("target", sa.String(1024), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("caller", sa.String(255), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("request_type", sa.String(255), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("callback_url", sa.Text(), nullable=False),
        sa.Column("progress_url", sa.Text(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("result_field", sa.String(64), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(32), nullable=True),
        sa.Column("error_reason", sa.String(128), nullable=True),
        sa.Column("error_domain", sa.String(128), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_metadata", sa.JSON(), nullable=True),
        sa.Column("error_retry_delay", sa.Float(), nullable=True),
        sa.Column("create_time", sa.DateTime(), nullable=False),
        sa.Column("update_time", sa.DateTime(), nullable=False),
        sa.Column("end_time", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_operations"),
        sa.UniqueConstraint("request_id", name="uq_operations_request_id"),
    )
    op.create_index("ix_operations_create_time_id", "operations", ["create_time", "id"])
    op.create_index("ix_operations_state", "operations", ["state"])
    op.create_index("ix_operations_target", "operations", ["target"])
    op.create_table(
        "operation_progress",
        sa.Column("operation_id", sa.String(64), nullable=False),
        sa.Column("index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operations.id"],
            name="fk_operation_progress_operation_id_operations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("operation_id", "index", name="pk_operation_progress"),
    )
    op.create_table(
        "api_audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("caller", sa.String(255), nullable=False),
        sa.Column("method", sa.String(255), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("operation", sa.String(128), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("peer", sa.Text(), nullable=False),
    )
    op.create_index("ix_api_audit_time", "api_audit", ["time"])


def downgrade() -> None:
    op.drop_index("ix_api_audit_time", table_name="api_audit")
    op.drop_table("api_audit")
    op.drop_table("operation_progress")
    op.drop_index("ix_operations_target", table_name="operations")
    op.drop_index("ix_operations_state", table_name="operations")
    op.drop_index("ix_operations_create_time_id", table_name="operations")
    op.drop_table("operations")
