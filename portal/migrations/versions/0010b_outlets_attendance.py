"""Outlets (伞下店) under service networks, and engineers' attendance.

A 伞下店 is a network of kind `sub` with a parent (columns from 0007m); this revision adds the
network's 考勤派单 switch and the engineers' check-in / check-out stretches.

Revision ID: 0010b
Revises: 0010a
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010b"
down_revision = "0010a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("service_networks") as batch:
        batch.add_column(
            sa.Column("attendance", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_lat", sa.Numeric(9, 6), nullable=True),
        sa.Column("in_lng", sa.Numeric(9, 6), nullable=True),
        sa.Column("in_position", sa.String(length=16), nullable=False),
        sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("out_lat", sa.Numeric(9, 6), nullable=True),
        sa.Column("out_lng", sa.Numeric(9, 6), nullable=True),
        sa.Column("out_position", sa.String(length=16), nullable=False),
        sa.Column("auto_closed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["engineer_id"], ["engineers.id"], name=op.f("fk_attendance_engineer_id_engineers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance")),
    )
    with op.batch_alter_table("attendance") as batch:
        batch.create_index(batch.f("ix_attendance_engineer_id"), ["engineer_id"], unique=False)
        batch.create_index(batch.f("ix_attendance_day"), ["day"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("attendance") as batch:
        batch.drop_index(batch.f("ix_attendance_day"))
        batch.drop_index(batch.f("ix_attendance_engineer_id"))
    op.drop_table("attendance")
    with op.batch_alter_table("service_networks") as batch:
        batch.drop_column("attendance")
