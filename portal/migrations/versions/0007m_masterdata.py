"""Master data: network type, parent, province, capacity and contact; engineers' active flag
and home base; models' main-parts warranty; fault codes per model.

Revision ID: 0007m
Revises: 0007c
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007m"
down_revision = "0007c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("service_networks") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="own"))
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("province", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("capacity", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("contact_name", sa.String(64), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("contact_phone", sa.String(20), nullable=False, server_default="")
        )
        batch.create_foreign_key(
            "fk_service_networks_parent", "service_networks", ["parent_id"], ["id"]
        )
    with op.batch_alter_table("engineers") as batch:
        batch.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("home_base", sa.String(200), nullable=False, server_default=""))
    with op.batch_alter_table("product_models") as batch:
        batch.add_column(
            sa.Column("parts_warranty_months", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "fault_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["product_models.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model_id", "code", name="uq_fault_code"),
    )
    op.create_index("ix_fault_codes_model_id", "fault_codes", ["model_id"])


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_fault_codes_model_id", table_name="fault_codes")
    op.drop_table("fault_codes")
    with op.batch_alter_table("product_models") as batch:
        batch.drop_column("parts_warranty_months")
    with op.batch_alter_table("engineers") as batch:
        batch.drop_column("home_base")
        batch.drop_column("active")
    with op.batch_alter_table("service_networks") as batch:
        batch.drop_constraint("fk_service_networks_parent", type_="foreignkey")
        for column in ("contact_phone", "contact_name", "capacity", "province", "parent_id"):
            batch.drop_column(column)
        batch.drop_column("kind")
