"""WeChat plaintext mode: the nonces seen within the timestamp window, refused a second time.

Revision ID: 0008w
Revises: 0007p
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008w"
down_revision = "0007p"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "wechat_nonces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_nonces")),
        sa.UniqueConstraint("nonce", "timestamp", name=op.f("uq_wechat_nonces_nonce")),
    )
    op.create_index(
        op.f("ix_wechat_nonces_expires_at"), "wechat_nonces", ["expires_at"], unique=False
    )


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f("ix_wechat_nonces_expires_at"), table_name="wechat_nonces")
    op.drop_table("wechat_nonces")
