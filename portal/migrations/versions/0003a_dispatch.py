"""Dispatch: engineer positions and planned visits.

Revision ID: 0003a
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003a"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "engineer_positions",
        sa.Column("engineer_id", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("lng", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["engineer_id"],
            ["engineers.id"],
            name=op.f("fk_engineer_positions_engineer_id_engineers"),
        ),
        sa.PrimaryKeyConstraint("engineer_id", name=op.f("pk_engineer_positions")),
    )
    op.create_table(
        "dispatch_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("eta", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["engineer_id"], ["engineers.id"], name=op.f("fk_dispatch_visits_engineer_id_engineers")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_dispatch_visits_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_visits")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_dispatch_visits_ticket_id")),
    )
    with op.batch_alter_table("dispatch_visits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispatch_visits_engineer_id"), ["engineer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dispatch_visits_visit_date"), ["visit_date"], unique=False
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("dispatch_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispatch_visits_visit_date"))
        batch_op.drop_index(batch_op.f("ix_dispatch_visits_engineer_id"))
    op.drop_table("dispatch_visits")
    op.drop_table("engineer_positions")
