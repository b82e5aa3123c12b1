"""Chat attachments: files customers send in chat (WeChat photos), kept in our own storage.

Revision ID: 0004c
Revises: 0003d
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004c"
down_revision = "0003d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "conversation_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("channel_message_id", sa.String(length=128), nullable=True),
        sa.Column("source_url", sa.String(length=500), nullable=False),
        sa.Column("media_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_attachments_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_attachments")),
        sa.UniqueConstraint(
            "conversation_id",
            "channel_message_id",
            name="uq_conversation_attachments_channel_id",
        ),
        sa.UniqueConstraint("storage_key", name=op.f("uq_conversation_attachments_storage_key")),
    )
    with op.batch_alter_table("conversation_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_attachments_conversation_id"),
            ["conversation_id"],
            unique=False,
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("conversation_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_attachments_conversation_id"))
    op.drop_table("conversation_attachments")
