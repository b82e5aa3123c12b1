"""Engineers' certificates with their expiry, and which work requires which certificate.

Revision ID: 0009g
Revises: 0009s
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009g"
down_revision = "0009s"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "engineer_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["engineer_id"],
            ["engineers.id"],
            name=op.f("fk_engineer_certificates_engineer_id_engineers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engineer_certificates")),
        sa.UniqueConstraint("engineer_id", "name", name="uq_engineer_certificate"),
    )
    with op.batch_alter_table("engineer_certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_engineer_certificates_engineer_id"), ["engineer_id"], unique=False
        )
    op.create_table(
        "certificate_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_category", sa.String(length=32), nullable=False),
        sa.Column("service_type", sa.String(length=32), nullable=False),
        sa.Column("certificate", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_rules")),
        sa.UniqueConstraint(
            "product_category", "service_type", "certificate", name="uq_certificate_rule"
        ),
    )
    with op.batch_alter_table("certificate_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificate_rules_product_category"), ["product_category"], unique=False
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("certificate_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_rules_product_category"))
    op.drop_table("certificate_rules")
    with op.batch_alter_table("engineer_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engineer_certificates_engineer_id"))
    op.drop_table("engineer_certificates")
