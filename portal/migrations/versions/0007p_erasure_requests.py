"""Privacy: customers' erasure requests (asked on /my, confirmed by staff, or by retention).

Revision ID: 0007p
Revises: 0007b
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007p"
down_revision = "0007b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_erasure_requests_customer_id", "erasure_requests", ["customer_id"], unique=False
    )
    op.create_index(
        "ix_erasure_requests_status", "erasure_requests", ["status", "requested_at"], unique=False
    )


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_erasure_requests_status", table_name="erasure_requests")
    op.drop_index("ix_erasure_requests_customer_id", table_name="erasure_requests")
    op.drop_table("erasure_requests")
