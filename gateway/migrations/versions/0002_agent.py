"""The NSI provider agent: topology, reservations, criteria versions, allocations,
notifications, results, request log and timers.

Revision ID: 0002_agent
Revises: 0001_outbox
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_agent"
down_revision = "0001_outbox"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "agent_stp",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("port", sa.String(255), nullable=False),
        sa.Column("vlans", sa.Text(), nullable=False),
        sa.Column("capacity", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("alias", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agent_stp"),
    )
    op.create_table(
        "agent_reservation",
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("global_reservation_id", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("requester_nsa", sa.String(255), nullable=False),
        sa.Column("reply_to", sa.Text(), nullable=False),
        sa.Column("reservation_state", sa.String(32), nullable=False),
        sa.Column("provision_state", sa.String(32), nullable=True),
        sa.Column("lifecycle_state", sa.String(32), nullable=False),
        sa.Column("data_plane_active", sa.Boolean(), nullable=False),
        sa.Column("data_plane_version", sa.Integer(), nullable=False),
        sa.Column("committed_version", sa.Integer(), nullable=True),
        sa.Column("held_version", sa.Integer(), nullable=True),
        sa.Column("notification_seq", sa.BigInteger(), nullable=False),
        sa.Column("result_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_modified", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", name="pk_agent_reservation"),
    )
    op.create_index("ix_agent_reservation_requester_nsa", "agent_reservation", ["requester_nsa"])
    op.create_index("ix_agent_reservation_last_modified", "agent_reservation", ["last_modified"])
    op.create_table(
        "agent_criteria",
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=False),
        sa.Column("end_time", sa.DateTime(), nullable=True),
        sa.Column("capacity", sa.BigInteger(), nullable=False),
        sa.Column("source_stp", sa.Text(), nullable=False),
        sa.Column("dest_stp", sa.Text(), nullable=False),
        sa.Column("source_vlan", sa.Integer(), nullable=True),
        sa.Column("dest_vlan", sa.Integer(), nullable=True),
        sa.Column("directionality", sa.String(32), nullable=False),
        sa.Column("symmetric_path", sa.Boolean(), nullable=False),
        sa.Column("service_type", sa.Text(), nullable=False),
        sa.Column("eros", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["agent_reservation.connection_id"],
            name="fk_agent_criteria_connection_id_agent_reservation",
        ),
        sa.PrimaryKeyConstraint("connection_id", "version", name="pk_agent_criteria"),
    )
    op.create_table(
        "agent_allocation",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stp_id", sa.String(255), nullable=False),
        sa.Column("vlan", sa.Integer(), nullable=False),
        sa.Column("bandwidth", sa.BigInteger(), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=False),
        sa.Column("end_time", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stp_id"], ["agent_stp.id"], name="fk_agent_allocation_stp_id_agent_stp"
        ),
    )
    op.create_index("ix_agent_allocation_stp_end", "agent_allocation", ["stp_id", "end_time"])
    op.create_index(
        "ix_agent_allocation_connection", "agent_allocation", ["connection_id", "version"]
    )
    op.create_table(
        "agent_notification",
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "notification_id", name="pk_agent_notification"),
    )
    op.create_table(
        "agent_result",
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("result_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("correlation_id", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "result_id", name="pk_agent_result"),
    )
    op.create_table(
        "agent_request",
        sa.Column("correlation_id", sa.String(255), nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("correlation_id", name="pk_agent_request"),
    )
    op.create_table(
        "agent_timer",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_agent_timer_connection_id", "agent_timer", ["connection_id"])
    op.create_index("ix_agent_timer_due_at", "agent_timer", ["due_at"])


def downgrade() -> None:
    for table in (
        "agent_timer",
        "agent_request",
        "agent_result",
        "agent_notification",
        "agent_allocation",
        "agent_criteria",
        "agent_reservation",
        "agent_stp",
    ):
        op.drop_table(table)
