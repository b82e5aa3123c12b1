"""Analytics: per-ticket stage facts, the refresh watermark and its work list.

Revision ID: 0003f
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003f"
down_revision = "0002"
branch_labels = None
depends_on = None

_FLOAT = sa.Float()


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "ticket_stage_facts",
        sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("model_code", sa.String(length=32), nullable=False),
        sa.Column("city", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("engineer_id", sa.Integer(), nullable=True),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("fault_code", sa.String(length=16), nullable=False),
        sa.Column("created_ts", _FLOAT, nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        *[sa.Column(f"t{i}", _FLOAT, nullable=True) for i in range(1, 10)],
        sa.Column("responded_ts", _FLOAT, nullable=True),
        sa.Column("arrived_ts", _FLOAT, nullable=True),
        sa.Column("completed_ts", _FLOAT, nullable=True),
        sa.Column("resolved_ts", _FLOAT, nullable=True),
        sa.Column("settled_ts", _FLOAT, nullable=True),
        sa.Column("waiting_parts_ts", _FLOAT, nullable=True),
        sa.Column("visit_day", sa.String(length=10), nullable=True),
        sa.Column("response_due_ts", _FLOAT, nullable=True),
        sa.Column("arrival_due_ts", _FLOAT, nullable=True),
        sa.Column("resolution_due_ts", _FLOAT, nullable=True),
        sa.Column("remote", sa.Boolean(), nullable=False),
        sa.Column("bot_intake", sa.Boolean(), nullable=False),
        sa.Column("dispatches", sa.Integer(), nullable=False),
        sa.Column("rejects", sa.Integer(), nullable=False),
        sa.Column("eval_requested", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("parts_needed", sa.Boolean(), nullable=False),
        sa.Column("parts_waited", sa.Boolean(), nullable=False),
        sa.Column("age_days", sa.Integer(), nullable=True),
        sa.Column("warranty_days_left", sa.Integer(), nullable=True),
        sa.Column("is_repeat", sa.Boolean(), nullable=False),
        sa.Column("repeated", sa.Boolean(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_stage_facts")),
    )
    with op.batch_alter_table("ticket_stage_facts", schema=None) as batch_op:
        batch_op.create_index("ix_tsf_created", ["created_ts"], unique=False)
        batch_op.create_index("ix_tsf_network_created", ["network_id", "created_ts"], unique=False)
        batch_op.create_index("ix_tsf_engineer_visit", ["engineer_id", "visit_day"], unique=False)
        batch_op.create_index("ix_tsf_asset_created", ["asset_id", "created_ts"], unique=False)
        batch_op.create_index("ix_tsf_status", ["status"], unique=False)
    op.create_table(
        "analytics_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("ticket_mark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rebuilt_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_state")),
    )
    op.create_table(
        "analytics_dirty",
        sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_analytics_dirty")),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("analytics_dirty")
    op.drop_table("analytics_state")
    with op.batch_alter_table("ticket_stage_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_tsf_status")
        batch_op.drop_index("ix_tsf_asset_created")
        batch_op.drop_index("ix_tsf_engineer_visit")
        batch_op.drop_index("ix_tsf_network_created")
        batch_op.drop_index("ix_tsf_created")
    op.drop_table("ticket_stage_facts")
