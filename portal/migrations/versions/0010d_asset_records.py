"""Units registered from the work record, and quick measures per fault code.

Assets learn the purchase day and who registered them (the desk, or an engineer's work
record); fault codes carry their usual measures and parts; work records keep the measures
ticked; warranty terms per product category; how often customers read each FAQ entry.

Revision ID: 0010d
Revises: 0010c
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010d"
down_revision = "0010c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("purchase_date", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("origin", sa.String(length=16), nullable=False, server_default="desk")
        )
        batch.add_column(
            sa.Column("registered_by", sa.String(length=64), nullable=False, server_default="")
        )
    with op.batch_alter_table("fault_codes") as batch:
        batch.add_column(sa.Column("measures", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("parts", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("field_work_records") as batch:
        batch.add_column(sa.Column("measures", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "warranty_terms",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("product_category", sa.String(length=32), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("unit_months", sa.Integer(), nullable=False),
        sa.Column("main_part", sa.String(length=32), nullable=False),
        sa.Column("main_part_months", sa.Integer(), nullable=False),
        sa.UniqueConstraint("product_category", "product", name="uq_warranty_term"),
    )
    op.create_index("ix_warranty_terms_product_category", "warranty_terms", ["product_category"])
    op.create_table(
        "kb_entry_reads",
        sa.Column("entry_id", sa.String(length=128), primary_key=True),
        sa.Column("reads", sa.Integer(), nullable=False),
        sa.Column("last_read_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("kb_entry_reads")
    op.drop_index("ix_warranty_terms_product_category", table_name="warranty_terms")
    op.drop_table("warranty_terms")
    with op.batch_alter_table("field_work_records") as batch:
        batch.drop_column("measures")
    with op.batch_alter_table("fault_codes") as batch:
        batch.drop_column("parts")
        batch.drop_column("measures")
    with op.batch_alter_table("assets") as batch:
        batch.drop_column("registered_by")
        batch.drop_column("origin")
        batch.drop_column("purchase_date")
