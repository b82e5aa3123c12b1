"""Targets per KPI, globally and per network.

Revision ID: 0010e
Revises: 0010d
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010e"
down_revision = "0010d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "kpi_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kpi", sa.String(length=32), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("target", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("amber", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["service_networks.id"],
            name=op.f("fk_kpi_targets_network_id_service_networks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_targets")),
    )
    with op.batch_alter_table("kpi_targets", schema=None) as batch_op:
        batch_op.create_index("ix_kpi_targets_kpi_network", ["kpi", "network_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kpi_targets_network_id"), ["network_id"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("kpi_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_targets_network_id"))
        batch_op.drop_index("ix_kpi_targets_kpi_network")
    op.drop_table("kpi_targets")
