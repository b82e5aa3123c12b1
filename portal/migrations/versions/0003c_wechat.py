"""WeChat official account: followers, the shared access token, failed customer-service sends.

Revision ID: 0003c
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003c"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "wechat_access_tokens",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("access_token", sa.String(length=512), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_holder", sa.String(length=64), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresh_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_wechat_access_tokens")),
    )
    op.create_table(
        "wechat_followers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column("subscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bind_state", sa.String(length=16), nullable=False),
        sa.Column("bind_phone", sa.String(length=20), nullable=False),
        sa.Column("bind_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offered_address", sa.String(length=255), nullable=False),
        sa.Column("offered_lat", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("offered_lng", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("visit_address", sa.String(length=255), nullable=False),
        sa.Column("visit_lat", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("visit_lng", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_followers")),
        sa.UniqueConstraint("openid", name=op.f("uq_wechat_followers_openid")),
    )
    op.create_table(
        "wechat_delivery_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("errmsg", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_wechat_delivery_failures_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_wechat_delivery_failures_message_id_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_delivery_failures")),
    )
    with op.batch_alter_table("wechat_delivery_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wechat_delivery_failures_openid"), ["openid"], unique=False
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("wechat_delivery_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wechat_delivery_failures_openid"))
    op.drop_table("wechat_delivery_failures")
    op.drop_table("wechat_followers")
    op.drop_table("wechat_access_tokens")
