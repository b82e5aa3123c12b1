"""Monthly rollups: `analytics_daily` summed per local month, so the whole months of a
year's dashboards read twelve rows per group instead of 365.

Revision ID: 0010m
Revises: 0010l
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010m"
down_revision = "0010l"
branch_labels = None
depends_on = None

# As in portal/analytics/rollup_models.py (a migration does not import the models).
COUNTS = (
    "tickets", "response_ok", "response_n", "arrival_ok", "arrival_n", "completion_ok",
    "completion_n", "ftf_ok", "ftf_n", "csat_good", "csat_n", "complaints", "escalated",
    "remote", "bot_intake", "resolved", "frt_n", "dispatched", "dispatched_once", "rejected",
    "done", "eval_requested", "settle_requested", "settled", "failures", "repeats",
    "fail_ttr_n", "fail_t5_n",
)  # fmt: skip
SUMS = ("score_sum", "frt_sum", "ttr_sum", "fail_ttr_sum", "fail_t5_sum")


def upgrade() -> None:
    """Apply; the next full refresh fills the table (`python -m portal.analytics --full`)."""
    op.create_table(
        "analytics_monthly",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("dim", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        *[sa.Column(name, sa.Float(), nullable=False) for name in SUMS],
        sa.PrimaryKeyConstraint(
            "month", "network_id", "dim", "value", name=op.f("pk_analytics_monthly")
        ),
    )
    with op.batch_alter_table("analytics_monthly", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_monthly_dim_month", ["dim", "month"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("analytics_monthly", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_monthly_dim_month")
    op.drop_table("analytics_monthly")
