"""Engineers' consults with technical experts from the field.

Revision ID: 0010a
Revises: 0009g
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010a"
down_revision = "0009g"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "consults",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=True),
        sa.Column("fault_code", sa.String(length=32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=True),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_answer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_answer_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=False),
        sa.Column("measure", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["engineer_id"], ["engineers.id"], name=op.f("fk_consults_engineer_id_engineers")
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["users.id"], name=op.f("fk_consults_expert_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["first_answer_by"], ["users.id"], name=op.f("fk_consults_first_answer_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_consults_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consults")),
    )
    with op.batch_alter_table("consults", schema=None) as batch_op:
        for column in ("created_at", "engineer_id", "expert_id", "status", "ticket_id"):
            batch_op.create_index(batch_op.f(f"ix_consults_{column}"), [column], unique=False)

    op.create_table(
        "consult_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consult_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("measure", sa.String(length=500), nullable=False),
        sa.Column("attachment_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consult_id"], ["consults.id"], name=op.f("fk_consult_messages_consult_id_consults")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consult_messages")),
    )
    with op.batch_alter_table("consult_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consult_messages_consult_id"), ["consult_id"], unique=False
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("consult_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consult_messages_consult_id"))
    op.drop_table("consult_messages")
    with op.batch_alter_table("consults", schema=None) as batch_op:
        for column in ("ticket_id", "status", "expert_id", "engineer_id", "created_at"):
            batch_op.drop_index(batch_op.f(f"ix_consults_{column}"))
    op.drop_table("consults")
