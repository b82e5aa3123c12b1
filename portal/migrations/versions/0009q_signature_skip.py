"""Field app: a visit may end without the customer's signature, with the reason and a photo
of the door instead (the customer was not there).

Revision ID: 0009q
Revises: 0007m
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009q"
down_revision = "0007m"
branch_labels = None
depends_on = None

FK = "fk_field_work_records_door_photo_id_ticket_attachments"


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("field_work_records") as batch:
        batch.add_column(
            sa.Column("signature_skip_reason", sa.String(200), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("door_photo_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(FK, "ticket_attachments", ["door_photo_id"], ["id"])


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("field_work_records") as batch:
        batch.drop_constraint(FK, type_="foreignkey")
        batch.drop_column("door_photo_id")
        batch.drop_column("signature_skip_reason")
