"""Knowledge base: search log, unanswered questions, answer feedback, entry edit history.

Revision ID: 0004k
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004k"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "kb_search_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("query", sa.String(length=200), nullable=False),
        sa.Column("band", sa.String(length=8), nullable=False),
        sa.Column("top_entry_id", sa.String(length=128), nullable=False),
        sa.Column("top_score", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_search_log")),
    )
    op.create_index("ix_kb_search_log_created", "kb_search_log", ["created_at"])
    op.create_index("ix_kb_search_log_band_created", "kb_search_log", ["band", "created_at"])
    op.create_table(
        "kb_unanswered",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.String(length=128), nullable=False),
        sa.Column("closed_by", sa.String(length=64), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_unanswered")),
        sa.UniqueConstraint("query", name=op.f("uq_kb_unanswered_query")),
    )
    op.create_index("ix_kb_unanswered_status_count", "kb_unanswered", ["status", "count"])
    op.create_table(
        "kb_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entry_id", sa.String(length=128), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("query", sa.String(length=200), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_feedback")),
    )
    op.create_index("ix_kb_feedback_entry", "kb_feedback", ["entry_id", "helpful"])
    op.create_table(
        "kb_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entry_id", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_revisions")),
    )
    op.create_index("ix_kb_revisions_entry", "kb_revisions", ["entry_id", "created_at"])


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_kb_revisions_entry", table_name="kb_revisions")
    op.drop_table("kb_revisions")
    op.drop_index("ix_kb_feedback_entry", table_name="kb_feedback")
    op.drop_table("kb_feedback")
    op.drop_index("ix_kb_unanswered_status_count", table_name="kb_unanswered")
    op.drop_table("kb_unanswered")
    op.drop_index("ix_kb_search_log_band_created", table_name="kb_search_log")
    op.drop_index("ix_kb_search_log_created", table_name="kb_search_log")
    op.drop_table("kb_search_log")
