"""The language the hub writes to a chat's customer in: the widget page's from the first
message, then the one the customer writes (conversations.customer_language).

Revision ID: 0010k
Revises: 0010j
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010k"
down_revision = "0010j"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.add_column("conversations", sa.Column("customer_language", sa.String(8)))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("customer_language")
