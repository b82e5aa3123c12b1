"""Ledger transactions keep what their description means (a message code and its
parameters), as their lines' memos do since 0010g; earlier ones keep their sentence.

Revision ID: 0010h
Revises: 0010g
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010h"
down_revision = "0010g"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    # Adding a column is no UPDATE: the ledger's append-only triggers are not involved.
    op.add_column("ledger_transactions", sa.Column("description_parts", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Revert."""
    # Plain ALTER (SQLite 3.35+): a batch copy would drop the append-only triggers.
    op.execute("ALTER TABLE ledger_transactions DROP COLUMN description_parts")
