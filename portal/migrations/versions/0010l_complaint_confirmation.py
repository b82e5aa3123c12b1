"""A complaint's outcome waits for the customer's answer before the case closes (accepted,
rejected, confirmed by phone, or no reply in time), and may open a follow-up repair ticket
(上门复修) linked to the case.

Revision ID: 0010l
Revises: 0010k
Create Date: 2026-12-07
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0010l"
down_revision = "0010k"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(
            sa.Column("confirmation", sa.String(length=16), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("confirm_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("follow_up_ticket_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_complaints_follow_up_ticket_id_tickets", "tickets", ["follow_up_ticket_id"], ["id"]
        )
        batch.create_index("ix_complaints_confirm_due_at", ["confirm_due_at"])
        batch.create_index("ix_complaints_follow_up_ticket_id", ["follow_up_ticket_id"])
    # Cases resolved before this were told, never asked: they wait for an answer (a call from
    # the desk) for the default three days, then close as unanswered.
    op.get_bind().execute(
        sa.text(
            "UPDATE complaints SET confirmation = 'awaiting', confirm_due_at = :due "
            "WHERE status = 'resolved'"
        ),
        {"due": datetime.now(UTC) + timedelta(hours=72)},
    )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("complaints") as batch:
        batch.drop_index("ix_complaints_follow_up_ticket_id")
        batch.drop_index("ix_complaints_confirm_due_at")
        batch.drop_constraint("fk_complaints_follow_up_ticket_id_tickets", type_="foreignkey")
        batch.drop_column("follow_up_ticket_id")
        batch.drop_column("confirm_due_at")
        batch.drop_column("confirmation")
