"""Rollups that keep a year of dashboards fast: daily counts per network and dimension,
per-day column arrays for percentiles, and the fact indexes that refresh them.

Revision ID: 0010f
Revises: 0010e
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010f"
down_revision = "0010e"
branch_labels = None
depends_on = None

# As in portal/analytics/rollup_models.py (a migration does not import the models).
PENDING_SQL = (
    "(status IN ('accepted', 'arrived', 'departed', 'dispatched', 'engineer_accepted', "
    "'new', 'waiting_parts') OR (responded_ts IS NULL AND status <> 'cancelled'))"
)


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "analytics_daily",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("dim", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.Column("response_ok", sa.Integer(), nullable=False),
        sa.Column("response_n", sa.Integer(), nullable=False),
        sa.Column("arrival_ok", sa.Integer(), nullable=False),
        sa.Column("arrival_n", sa.Integer(), nullable=False),
        sa.Column("completion_ok", sa.Integer(), nullable=False),
        sa.Column("completion_n", sa.Integer(), nullable=False),
        sa.Column("ftf_ok", sa.Integer(), nullable=False),
        sa.Column("ftf_n", sa.Integer(), nullable=False),
        sa.Column("csat_good", sa.Integer(), nullable=False),
        sa.Column("csat_n", sa.Integer(), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.Column("escalated", sa.Integer(), nullable=False),
        sa.Column("remote", sa.Integer(), nullable=False),
        sa.Column("bot_intake", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("frt_n", sa.Integer(), nullable=False),
        sa.Column("dispatched", sa.Integer(), nullable=False),
        sa.Column("dispatched_once", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("eval_requested", sa.Integer(), nullable=False),
        sa.Column("settle_requested", sa.Integer(), nullable=False),
        sa.Column("settled", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("fail_ttr_n", sa.Integer(), nullable=False),
        sa.Column("fail_t5_n", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Float(), nullable=False),
        sa.Column("frt_sum", sa.Float(), nullable=False),
        sa.Column("ttr_sum", sa.Float(), nullable=False),
        sa.Column("fail_ttr_sum", sa.Float(), nullable=False),
        sa.Column("fail_t5_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "network_id", "dim", "value", name=op.f("pk_analytics_daily")
        ),
    )
    with op.batch_alter_table("analytics_daily", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_daily_dim_day", ["dim", "day"], unique=False)
    op.create_table(
        "analytics_columns",
        sa.Column("basis", sa.String(length=1), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("basis", "day", "name", name=op.f("pk_analytics_columns")),
    )
    with op.batch_alter_table("ticket_stage_facts", schema=None) as batch_op:
        batch_op.create_index("ix_tsf_day", ["day"], unique=False)
        batch_op.create_index("ix_tsf_visit_day", ["visit_day"], unique=False)
        batch_op.create_index(
            "ix_tsf_pending",
            ["created_ts"],
            unique=False,
            postgresql_where=sa.text(PENDING_SQL),
            sqlite_where=sa.text(PENDING_SQL),
        )
    # The next refresh rebuilds everything, rollups included.
    op.execute("UPDATE analytics_state SET refreshed_at = NULL")


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("ticket_stage_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_tsf_pending")
        batch_op.drop_index("ix_tsf_visit_day")
        batch_op.drop_index("ix_tsf_day")
    op.drop_table("analytics_columns")
    with op.batch_alter_table("analytics_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_daily_dim_day")
    op.drop_table("analytics_daily")
