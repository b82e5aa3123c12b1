"""A quote may name catalogue parts the van does not carry ("to order"), ordered for the job
once the customer accepts; and the engineer may withdraw a quote (a status, no column).

Revision ID: 0010j
Revises: 0010i
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010j"
down_revision = "0010i"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.add_column(
        "quote_lines",
        sa.Column("to_order", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("quotes", sa.Column("parts_ordered_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("quotes") as batch:
        batch.drop_column("parts_ordered_at")
    with op.batch_alter_table("quote_lines") as batch:
        batch.drop_column("to_order")
