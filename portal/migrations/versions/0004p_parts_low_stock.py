"""Parts: when a balance fell under its low-stock threshold, so each fall alerts once.

Revision ID: 0004p
Revises: 0003e
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004p"
down_revision = "0003e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("stock_balances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("low_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("stock_balances", schema=None) as batch_op:
        batch_op.drop_column("low_since")
