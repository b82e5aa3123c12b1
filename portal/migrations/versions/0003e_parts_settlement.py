"""Parts and settlement: the parts catalogue, stock locations, balances and the movement
ledger, reservations, shortage orders, defective returns; rate cards, quotes, receipts; the
double-entry ledger, settlement runs and rules, statements.

Revision ID: 0003e
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003e"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("compatible_models", sa.JSON(), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("returnable", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parts")),
        sa.UniqueConstraint("code", name=op.f("uq_parts_code")),
    )
    with op.batch_alter_table("parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parts_category"), ["category"], unique=False)

    op.create_table(
        "rate_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_cards")),
        sa.UniqueConstraint("code", "version", name="uq_rate_card_version"),
    )
    op.create_table(
        "settlement_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_rules")),
        sa.UniqueConstraint("code", name=op.f("uq_settlement_rules_code")),
    )
    op.create_table(
        "settlement_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("tickets_settled", sa.Integer(), nullable=False),
        sa.Column("tickets_corrected", sa.Integer(), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_runs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_settlement_runs_idempotency_key")),
    )
    with op.batch_alter_table("settlement_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settlement_runs_period"), ["period"], unique=False)

    op.create_table(
        "distance_bands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rate_card_id", sa.Integer(), nullable=False),
        sa.Column("min_km", sa.Numeric(precision=8, scale=1), nullable=False),
        sa.Column("max_km", sa.Numeric(precision=8, scale=1), nullable=True),
        sa.Column("fee", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("engineer_pay", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["rate_card_id"],
            ["rate_cards.id"],
            name=op.f("fk_distance_bands_rate_card_id_rate_cards"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distance_bands")),
    )
    with op.batch_alter_table("distance_bands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_distance_bands_rate_card_id"), ["rate_card_id"], unique=False
        )

    op.create_table(
        "rate_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rate_card_id", sa.Integer(), nullable=False),
        sa.Column("service_type", sa.String(length=32), nullable=False),
        sa.Column("product_category", sa.String(length=32), nullable=False),
        sa.Column("warranty", sa.String(length=8), nullable=False),
        sa.Column("service_fee", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("included_minutes", sa.Integer(), nullable=False),
        sa.Column("hour_rate", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("engineer_pay", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("engineer_hour_rate", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["rate_card_id"], ["rate_cards.id"], name=op.f("fk_rate_lines_rate_card_id_rate_cards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_lines")),
    )
    with op.batch_alter_table("rate_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rate_lines_rate_card_id"), ["rate_card_id"], unique=False
        )

    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("engineer_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["engineer_id"], ["engineers.id"], name=op.f("fk_ledger_accounts_engineer_id_engineers")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["service_networks.id"],
            name=op.f("fk_ledger_accounts_network_id_service_networks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_ledger_accounts_code")),
    )
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_accounts_engineer_id"), ["engineer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_accounts_network_id"), ["network_id"], unique=False
        )

    op.create_table(
        "stock_locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("engineer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["engineer_id"], ["engineers.id"], name=op.f("fk_stock_locations_engineer_id_engineers")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["service_networks.id"],
            name=op.f("fk_stock_locations_network_id_service_networks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_locations")),
        sa.UniqueConstraint("code", name=op.f("uq_stock_locations_code")),
        sa.UniqueConstraint("engineer_id", name=op.f("uq_stock_locations_engineer_id")),
    )
    with op.batch_alter_table("stock_locations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stock_locations_network_id"), ["network_id"], unique=False
        )

    op.create_table(
        "defective_returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=True),
        sa.Column("to_location_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tracking", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disposed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["engineer_id"],
            ["engineers.id"],
            name=op.f("fk_defective_returns_engineer_id_engineers"),
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_defective_returns_part_id_parts")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_defective_returns_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["to_location_id"],
            ["stock_locations.id"],
            name=op.f("fk_defective_returns_to_location_id_stock_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_defective_returns")),
    )
    with op.batch_alter_table("defective_returns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_defective_returns_engineer_id"), ["engineer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_defective_returns_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_defective_returns_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("posted_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_transactions_reverses_id_ledger_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["settlement_runs.id"],
            name=op.f("fk_ledger_transactions_run_id_settlement_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ledger_transactions_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_transactions_idempotency_key")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_ledger_transactions_reverses_id")),
    )
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_transactions_period"), ["period"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_transactions_run_id"), ["run_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_transactions_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "part_reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["stock_locations.id"],
            name=op.f("fk_part_reservations_location_id_stock_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_part_reservations_part_id_parts")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_part_reservations_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_part_reservations")),
    )
    with op.batch_alter_table("part_reservations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_part_reservations_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "quotes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("warranty", sa.String(length=8), nullable=False),
        sa.Column("payer", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_quotes_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint("number", name=op.f("uq_quotes_number")),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quotes_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "shortage_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["stock_locations.id"],
            name=op.f("fk_shortage_orders_location_id_stock_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_shortage_orders_part_id_parts")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_shortage_orders_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shortage_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_shortage_orders_number")),
    )
    with op.batch_alter_table("shortage_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shortage_orders_location_id"), ["location_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_shortage_orders_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_shortage_orders_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "stock_balances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("defective", sa.Integer(), nullable=False),
        sa.Column("min_level", sa.Integer(), nullable=False),
        sa.CheckConstraint("defective >= 0", name=op.f("ck_stock_balances_defective_nonneg")),
        sa.CheckConstraint("on_hand >= 0", name=op.f("ck_stock_balances_on_hand_nonneg")),
        sa.CheckConstraint(
            "reserved <= on_hand", name=op.f("ck_stock_balances_reserved_le_on_hand")
        ),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_stock_balances_reserved_nonneg")),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["stock_locations.id"],
            name=op.f("fk_stock_balances_location_id_stock_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_stock_balances_part_id_parts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_balances")),
        sa.UniqueConstraint("location_id", "part_id", name="uq_stock_balance"),
    )
    with op.batch_alter_table("stock_balances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stock_balances_location_id"), ["location_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_stock_balances_part_id"), ["part_id"], unique=False)

    op.create_table(
        "stock_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("counter_location_id", sa.Integer(), nullable=True),
        sa.Column("on_hand_delta", sa.Integer(), nullable=False),
        sa.Column("reserved_delta", sa.Integer(), nullable=False),
        sa.Column("defective_delta", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["counter_location_id"],
            ["stock_locations.id"],
            name=op.f("fk_stock_movements_counter_location_id_stock_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["stock_locations.id"],
            name=op.f("fk_stock_movements_location_id_stock_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_stock_movements_part_id_parts")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_stock_movements_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_movements_batch"), ["batch"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_stock_movements_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            "ix_stock_movements_loc_part", ["location_id", "part_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_stock_movements_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("rule", sa.String(length=48), nullable=False),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_entries_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ledger_entries_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_entries_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_ticket_id"), ["ticket_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_transaction_id"), ["transaction_id"], unique=False
        )

    op.create_table(
        "quote_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_quote_lines_part_id_parts")
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_quote_lines_quote_id_quotes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_lines")),
    )
    with op.batch_alter_table("quote_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quote_lines_quote_id"), ["quote_id"], unique=False)

    op.create_table(
        "receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.Integer(), nullable=True),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["service_networks.id"],
            name=op.f("fk_receipts_network_id_service_networks"),
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_receipts_quote_id_quotes")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_receipts_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("number", name=op.f("uq_receipts_number")),
    )
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receipts_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("payment_transaction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by", sa.String(length=64), nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("paid_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["service_networks.id"],
            name=op.f("fk_statements_network_id_service_networks"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_statements_payment_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
        sa.UniqueConstraint("number", name=op.f("uq_statements_number")),
        sa.UniqueConstraint("party", "network_id", "engineer_id", "period", name="uq_statement"),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statements_network_id"), ["network_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_statements_period"), ["period"], unique=False)

    op.create_table(
        "statement_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_statement_comments_statement_id_statements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_comments")),
    )
    with op.batch_alter_table("statement_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statement_comments_statement_id"), ["statement_id"], unique=False
        )

    op.create_table(
        "statement_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("rule", sa.String(length=48), nullable=False),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_statement_lines_entry_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_statement_lines_statement_id_statements"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_statement_lines_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_lines")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_statement_lines_entry_id")),
    )
    with op.batch_alter_table("statement_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statement_lines_statement_id"), ["statement_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_statement_lines_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("statement_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statement_lines_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_statement_lines_statement_id"))

    op.drop_table("statement_lines")
    with op.batch_alter_table("statement_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statement_comments_statement_id"))

    op.drop_table("statement_comments")
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statements_period"))
        batch_op.drop_index(batch_op.f("ix_statements_network_id"))

    op.drop_table("statements")
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipts_ticket_id"))

    op.drop_table("receipts")
    with op.batch_alter_table("quote_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quote_lines_quote_id"))

    op.drop_table("quote_lines")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_account_id"))

    op.drop_table("ledger_entries")
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_movements_ticket_id"))
        batch_op.drop_index("ix_stock_movements_loc_part")
        batch_op.drop_index(batch_op.f("ix_stock_movements_created_at"))
        batch_op.drop_index(batch_op.f("ix_stock_movements_batch"))

    op.drop_table("stock_movements")
    with op.batch_alter_table("stock_balances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_balances_part_id"))
        batch_op.drop_index(batch_op.f("ix_stock_balances_location_id"))

    op.drop_table("stock_balances")
    with op.batch_alter_table("shortage_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shortage_orders_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_shortage_orders_status"))
        batch_op.drop_index(batch_op.f("ix_shortage_orders_location_id"))

    op.drop_table("shortage_orders")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quotes_ticket_id"))

    op.drop_table("quotes")
    with op.batch_alter_table("part_reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_part_reservations_ticket_id"))

    op.drop_table("part_reservations")
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_transactions_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_transactions_run_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_transactions_period"))

    op.drop_table("ledger_transactions")
    with op.batch_alter_table("defective_returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_defective_returns_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_defective_returns_status"))
        batch_op.drop_index(batch_op.f("ix_defective_returns_engineer_id"))

    op.drop_table("defective_returns")
    with op.batch_alter_table("stock_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_locations_network_id"))

    op.drop_table("stock_locations")
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_accounts_network_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_accounts_engineer_id"))

    op.drop_table("ledger_accounts")
    with op.batch_alter_table("rate_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_lines_rate_card_id"))

    op.drop_table("rate_lines")
    with op.batch_alter_table("distance_bands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_distance_bands_rate_card_id"))

    op.drop_table("distance_bands")
    with op.batch_alter_table("settlement_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_runs_period"))

    op.drop_table("settlement_runs")
    op.drop_table("settlement_rules")
    op.drop_table("rate_cards")
    with op.batch_alter_table("parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parts_category"))

    op.drop_table("parts")
