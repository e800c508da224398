"""The NSI SOAP proxy: header extensions of requests, kept for their callbacks.

Revision ID: 0201_nsi_soap
Revises: 0200_requester
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0201_nsi_soap"
down_revision = "0200_requester"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nsi_soap_request",
        sa.Column("correlation_id", sa.String(255), nullable=False),
        sa.Column("reply_to", sa.Text(), nullable=False),
        sa.Column("extensions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("correlation_id", name="pk_nsi_soap_request"),
    )
    op.create_index(
        "ix_nsi_soap_request_created_at", "nsi_soap_request", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_nsi_soap_request_created_at", table_name="nsi_soap_request")
    op.drop_table("nsi_soap_request")
