"""Ticket check codes (with their lockout) and what the one-time code limits count.

Tickets get a random check code the customer is told with the number; rows from before get
one here. One-time codes record who asked (an address or a chat), and every check of a code
is kept for a day's failure caps.

Revision ID: 0007b
Revises: 0006i
Create Date: 2026-12-06
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007b"
down_revision = "0006i"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("check_code", sa.String(length=12), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("check_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("check_locked_until", sa.DateTime(timezone=True)))
    tickets = sa.table("tickets", sa.column("id", sa.Integer), sa.column("check_code", sa.String))
    bind = op.get_bind()
    for (ticket_id,) in bind.execute(sa.select(tickets.c.id)).all():
        bind.execute(
            tickets.update()
            .where(tickets.c.id == ticket_id)
            .values(check_code=f"{secrets.randbelow(10**6):06d}")
        )
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("requester", sa.String(length=160), nullable=False, server_default="")
        )
        batch_op.create_index(
            batch_op.f("ix_one_time_codes_requester"), ["requester"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_one_time_codes_created_at"), ["created_at"], unique=False
        )
    op.create_table(
        "code_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("requester", sa.String(length=160), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_attempts")),
    )
    with op.batch_alter_table("code_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_code_attempts_phone"), ["phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_code_attempts_requester"), ["requester"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_code_attempts_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    """Revert."""
    op.drop_table("code_attempts")
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_one_time_codes_created_at"))
        batch_op.drop_index(batch_op.f("ix_one_time_codes_requester"))
        batch_op.drop_column("requester")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name in ("check_locked_until", "check_failures", "check_code"):
            batch_op.drop_column(name)
