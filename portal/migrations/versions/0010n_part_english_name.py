"""Parts get an English name, shown on pages read in English (empty: the Chinese name).

Revision ID: 0010n
Revises: 0010m
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010n"
down_revision = "0010m"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.add_column("parts", sa.Column("name_en", sa.String(100), nullable=False, server_default=""))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("parts") as batch:
        batch.drop_column("name_en")
