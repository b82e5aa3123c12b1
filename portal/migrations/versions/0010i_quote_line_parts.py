"""Quote lines keep what their description means (a message code and its parameters, or the
part's own name), as ledger memos do since 0010g, so the customer and the engineer read them
in their language; earlier lines keep their sentence.

Revision ID: 0010i
Revises: 0010h
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010i"
down_revision = "0010h"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.add_column("quote_lines", sa.Column("description_parts", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("quote_lines") as batch:
        batch.drop_column("description_parts")
