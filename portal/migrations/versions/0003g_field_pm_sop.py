"""Field app work records, maintenance plans (usage readings, occurrences), standard jobs.

Revision ID: 0003g
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003g"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "sop_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("service_type", sa.String(length=32), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("product_category", sa.String(length=32), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("safety_notes", sa.JSON(), nullable=False),
        sa.Column("standard_parts", sa.JSON(), nullable=False),
        sa.Column("labour_hours", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["product_models.id"], name=op.f("fk_sop_jobs_model_id_product_models")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sop_jobs")),
        sa.UniqueConstraint("code", name=op.f("uq_sop_jobs_code")),
    )
    with op.batch_alter_table("sop_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sop_jobs_lookup", ["service_type", "model_id", "product_category"], unique=False
        )

    op.create_table(
        "maintenance_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("interval_kind", sa.String(length=8), nullable=False),
        sa.Column("interval_value", sa.Integer(), nullable=False),
        sa.Column("usage_unit", sa.String(length=16), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(asset_id IS NULL) <> (model_id IS NULL)",
            name=op.f("ck_maintenance_plans_one_target"),
        ),
        sa.CheckConstraint(
            "interval_value > 0", name=op.f("ck_maintenance_plans_interval_positive")
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_maintenance_plans_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["product_models.id"],
            name=op.f("fk_maintenance_plans_model_id_product_models"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_plans")),
    )
    with op.batch_alter_table("maintenance_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_maintenance_plans_asset_id"), ["asset_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_maintenance_plans_model_id"), ["model_id"], unique=False
        )

    op.create_table(
        "maintenance_usage_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("value >= 0", name=op.f("ck_maintenance_usage_readings_value_nonneg")),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_maintenance_usage_readings_asset_id_assets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_usage_readings")),
    )
    with op.batch_alter_table("maintenance_usage_readings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_maintenance_usage_readings_asset_id"), ["asset_id"], unique=False
        )

    op.create_table(
        "maintenance_occurrences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("due_key", sa.String(length=32), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_maintenance_occurrences_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["maintenance_plans.id"],
            name=op.f("fk_maintenance_occurrences_plan_id_maintenance_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_maintenance_occurrences_ticket_id_tickets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_occurrences")),
        sa.UniqueConstraint("plan_id", "asset_id", "due_key", name="uq_maintenance_occurrence"),
    )
    with op.batch_alter_table("maintenance_occurrences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_maintenance_occurrences_plan_id"), ["plan_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_maintenance_occurrences_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "field_work_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("arrival_event_id", sa.Integer(), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=True),
        sa.Column("diagnosis", sa.Text(), nullable=False),
        sa.Column("work_done", sa.Text(), nullable=False),
        sa.Column("parts_used", sa.JSON(), nullable=False),
        sa.Column("photo_ids", sa.JSON(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.Column("signed_by", sa.String(length=100), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["arrival_event_id"],
            ["ticket_events.id"],
            name=op.f("fk_field_work_records_arrival_event_id_ticket_events"),
        ),
        sa.ForeignKeyConstraint(
            ["engineer_id"],
            ["engineers.id"],
            name=op.f("fk_field_work_records_engineer_id_engineers"),
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["ticket_attachments.id"],
            name=op.f("fk_field_work_records_signature_id_ticket_attachments"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_field_work_records_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_work_records")),
        sa.UniqueConstraint(
            "arrival_event_id", name=op.f("uq_field_work_records_arrival_event_id")
        ),
    )
    with op.batch_alter_table("field_work_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_field_work_records_engineer_id"), ["engineer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_field_work_records_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("field_work_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_work_records_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_field_work_records_engineer_id"))
    op.drop_table("field_work_records")
    with op.batch_alter_table("maintenance_occurrences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_maintenance_occurrences_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_maintenance_occurrences_plan_id"))
    op.drop_table("maintenance_occurrences")
    with op.batch_alter_table("maintenance_usage_readings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_maintenance_usage_readings_asset_id"))
    op.drop_table("maintenance_usage_readings")
    with op.batch_alter_table("maintenance_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_maintenance_plans_model_id"))
        batch_op.drop_index(batch_op.f("ix_maintenance_plans_asset_id"))
    op.drop_table("maintenance_plans")
    with op.batch_alter_table("sop_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_sop_jobs_lookup")
    op.drop_table("sop_jobs")
