"""Tickets: the address in official names (province / city / district), for coverage.

Rows from before keep "" here; dispatch reads their city and district fields instead.

Revision ID: 0006i
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006i"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name in ("place_province", "place_city", "place_district"):
            batch_op.add_column(
                sa.Column(name, sa.String(length=32), nullable=False, server_default="")
            )
        batch_op.create_index(batch_op.f("ix_tickets_place_city"), ["place_city"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_place_city"))
        for name in ("place_district", "place_city", "place_province"):
            batch_op.drop_column(name)
