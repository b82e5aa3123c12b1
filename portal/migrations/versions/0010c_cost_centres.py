"""Fault causes of in-warranty jobs, cost centres and quality appraisals.

One cost case per in-warranty ticket: the engineer's fault cause and its evidence photos,
the cost centre it names (工厂 / 市场销售中心), and factory quality's appraisal (鉴定). The
cost centres' ledger accounts are opened on first use, like the others.

Revision ID: 0010c
Revises: 0010b
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010c"
down_revision = "0010b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "cost_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("cause_class", sa.String(length=16), nullable=False),
        sa.Column("centre", sa.String(length=16), nullable=False),
        sa.Column("recorded_cause", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_code", sa.String(length=64), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("appraised_by", sa.String(length=64), nullable=True),
        sa.Column("appraised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appraisal_reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["engineer_id"], ["engineers.id"], name=op.f("fk_cost_cases_engineer_id_engineers")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_cost_cases_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_cases")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_cost_cases_ticket_id")),
    )
    with op.batch_alter_table("cost_cases", schema=None) as batch_op:
        for column in (
            "cause_class",
            "centre",
            "completed_at",
            "engineer_id",
            "model_code",
            "status",
        ):
            batch_op.create_index(batch_op.f(f"ix_cost_cases_{column}"), [column], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("cost_cases", schema=None) as batch_op:
        for column in (
            "cause_class",
            "centre",
            "completed_at",
            "engineer_id",
            "model_code",
            "status",
        ):
            batch_op.drop_index(batch_op.f(f"ix_cost_cases_{column}"))
    op.drop_table("cost_cases")
