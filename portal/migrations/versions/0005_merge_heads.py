"""Merge the branch heads that grew from 0002 into one head; no schema change.

Revision ID: 0005
Revises: 0003a, 0003c, 0003f, 0003g, 0004c, 0004d, 0004k, 0004p
Create Date: 2026-12-05
"""

from __future__ import annotations

revision = "0005"
down_revision = ("0003a", "0003c", "0003f", "0003g", "0004c", "0004d", "0004k", "0004p")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply: nothing to change, the merge only joins the history."""


def downgrade() -> None:
    """Revert: nothing to change, the branches become heads again."""
