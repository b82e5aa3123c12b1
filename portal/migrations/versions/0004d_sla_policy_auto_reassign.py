"""SLA policies: whether a missed arrival deadline reassigns the ticket by itself.

Revision ID: 0004d
Revises: 0003b
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004d"
down_revision = "0003b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("sla_policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auto_reassign", sa.Boolean(), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("sla_policies", schema=None) as batch_op:
        batch_op.drop_column("auto_reassign")
