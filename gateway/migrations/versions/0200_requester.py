"""The NSI requester: our connections at providers and the requests we sent them.

Revision ID: 0200_requester
Revises: 0100_operations
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0200_requester"
down_revision = "0100_operations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "requester_connections",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("provider_nsa", sa.String(255), nullable=False),
        sa.Column("connection_id", sa.String(255), nullable=True),
        sa.Column("operation_id", sa.String(64), nullable=True),
        sa.Column("global_reservation_id", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source_stp", sa.Text(), nullable=False),
        sa.Column("dest_stp", sa.Text(), nullable=False),
        sa.Column("capacity_mbps", sa.BigInteger(), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=True),
        sa.Column("end_time", sa.DateTime(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reservation_state", sa.String(32), nullable=False),
        sa.Column("provision_state", sa.String(32), nullable=False),
        sa.Column("lifecycle_state", sa.String(32), nullable=False),
        sa.Column("data_plane_active", sa.Boolean(), nullable=False),
        sa.Column("data_plane_version", sa.Integer(), nullable=False),
        sa.Column("data_plane_consistent", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("committed", sa.Boolean(), nullable=False),
        sa.Column("was_provisioned", sa.Boolean(), nullable=False),
        sa.Column("pending", sa.JSON(), nullable=True),
        sa.Column("failure", sa.Text(), nullable=False),
        sa.Column("last_notification_id", sa.BigInteger(), nullable=False),
        sa.Column("last_result_id", sa.BigInteger(), nullable=False),
        sa.Column("creator", sa.String(255), nullable=False),
        sa.Column("create_time", sa.DateTime(), nullable=False),
        sa.Column("update_time", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requester_connections")),
        sa.UniqueConstraint(
            "provider_nsa",
            "connection_id",
            name=op.f("uq_requester_connections_provider_nsa"),
        ),
    )
    op.create_index(
        "ix_requester_connections_create_time", "requester_connections", ["create_time"]
    )
    op.create_index(
        "ix_requester_connections_operation_id", "requester_connections", ["operation_id"]
    )
    op.create_table(
        "requester_requests",
        sa.Column("correlation_id", sa.String(64), nullable=False),
        sa.Column("connection_ref", sa.String(32), nullable=True),
        sa.Column("operation_id", sa.String(64), nullable=True),
        sa.Column("provider_nsa", sa.String(255), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("error_id", sa.String(16), nullable=False),
        sa.Column("error_text", sa.Text(), nullable=False),
        sa.Column("sent_time", sa.DateTime(), nullable=False),
        sa.Column("update_time", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("correlation_id", name=op.f("pk_requester_requests")),
    )
    op.create_index(
        "ix_requester_requests_connection", "requester_requests", ["connection_ref", "operation"]
    )
    op.create_index("ix_requester_requests_state", "requester_requests", ["state"])


def downgrade() -> None:
    op.drop_table("requester_requests")
    op.drop_table("requester_connections")
