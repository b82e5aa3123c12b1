"""Ledger entries and statement lines keep what their memo means (a message code and its
parameters), so each reader reads it in their language; earlier lines keep their sentence.

Revision ID: 0010g
Revises: 0010f
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010g"
down_revision = "0010f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    # Adding a column is no UPDATE: the ledger's append-only triggers are not involved.
    op.add_column("ledger_entries", sa.Column("memo_parts", sa.JSON(), nullable=True))
    op.add_column("statement_lines", sa.Column("memo_parts", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Revert."""
    # Plain ALTER on both databases (SQLite 3.35+): a batch copy of ledger_entries would
    # drop its append-only triggers with the old table.
    for table in ("statement_lines", "ledger_entries"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN memo_parts")
