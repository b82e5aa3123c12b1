"""Request and response shapes of the settlement API (fees, ledger, statements, deposits)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Money = Annotated[Decimal, Field(max_digits=12, decimal_places=2, ge=-(10**9), le=10**9)]
PositiveMoney = Annotated[Decimal, Field(max_digits=12, decimal_places=2, gt=0, le=10**9)]
Fee = Annotated[Decimal, Field(max_digits=12, decimal_places=2, ge=0, le=10**9)]
Km = Annotated[Decimal, Field(max_digits=8, decimal_places=1, ge=0, le=100_000)]
Period = Annotated[str, Field(pattern=r"^20\d{2}-(0[1-9]|1[0-2])$")]


class RateLineIn(BaseModel):
    """One line of a rate card."""

    service_type: str = Field(default="*", pattern=r"^(\*|installation|repair|maintenance)$")
    product_category: str = Field(default="*", min_length=1, max_length=32)
    warranty: str = Field(pattern=r"^(in|out)$")
    service_fee: Fee
    included_minutes: int = Field(default=60, ge=0, le=24 * 60)
    hour_rate: Fee = Decimal("0")
    engineer_pay: Fee
    engineer_hour_rate: Fee = Decimal("0")


class BandIn(BaseModel):
    """A distance band: [min_km, max_km) earns the fee (no max: and beyond)."""

    min_km: Km
    max_km: Km | None = None
    fee: Fee
    engineer_pay: Fee = Decimal("0")


class RateCardIn(BaseModel):
    """A new version of a rate card."""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=100)
    effective_from: date
    lines: list[RateLineIn] = Field(min_length=1, max_length=200)
    bands: list[BandIn] = Field(default_factory=list, max_length=50)


class RateLineRead(RateLineIn):
    """A rate card line."""

    model_config = ConfigDict(from_attributes=True)

    id: int


class BandRead(BandIn):
    """A distance band."""

    model_config = ConfigDict(from_attributes=True)

    id: int


class RateCardRead(BaseModel):
    """A rate card version."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    version: int
    name: str
    effective_from: date
    effective_to: date | None
    lines: list[RateLineRead]
    bands: list[BandRead]


class PricedPartRead(BaseModel):
    """A part on the job."""

    part_code: str
    name: str
    quantity: int
    cost: Decimal
    price: Decimal


class PricingRead(BaseModel):
    """What a ticket's job is worth."""

    warranty: str
    warranty_reason: str
    service_type: str
    category: str
    rate_card: str | None
    on_site_minutes: int
    extra_half_hours: int
    distance_km: Decimal
    service_fee: Decimal
    labour_time_fee: Decimal
    mileage_fee: Decimal
    engineer_pay: Decimal
    engineer_time_pay: Decimal
    engineer_mileage: Decimal
    parts: list[PricedPartRead]
    customer_total: Decimal


class QuoteLineRead(BaseModel):
    """A priced line of a quote."""

    model_config = ConfigDict(from_attributes=True)

    kind: str
    description: str
    part_id: int | None
    quantity: int
    unit_price: Decimal
    amount: Decimal


class QuoteRead(BaseModel):
    """A quote."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    ticket_id: int
    warranty: str
    payer: str
    total: Decimal
    status: str
    created_at: datetime
    decided_at: datetime | None
    lines: list[QuoteLineRead]


class QuoteDecision(BaseModel):
    """The customer's answer to a quote."""

    accept: bool


class ReceiptIn(BaseModel):
    """What the customer paid."""

    amount: PositiveMoney
    method: str = Field(pattern=r"^(cash|wechat|alipay|card)$")
    note: str = Field(default="", max_length=500)


class ReceiptRead(BaseModel):
    """A customer's receipt."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    ticket_id: int
    quote_id: int | None
    amount: Decimal
    method: str
    note: str
    paid_at: datetime


class EntryRead(BaseModel):
    """One side of a posting (positive: debit)."""

    id: int
    account: str
    account_name: str
    account_name_en: str = ""
    amount: Decimal
    kind: str
    rule: str
    memo: str  # in Chinese; memo_en in English (plain-text memos: as written in both)
    memo_en: str = ""
    ticket_id: int | None


class TransactionRead(BaseModel):
    """A ledger transaction with its entries."""

    id: int
    idempotency_key: str
    kind: str
    description: str  # in Chinese; description_en in English
    description_en: str = ""
    ticket_id: int | None
    run_id: int | None
    reverses_id: int | None
    period: str
    created_at: datetime
    entries: list[EntryRead]


class SettleOutcome(BaseModel):
    """What settling one ticket did."""

    ticket_id: int
    result: str
    transaction_id: int | None


class RunIn(BaseModel):
    """Settle a month."""

    period: Period


class RunRead(BaseModel):
    """A settlement run."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    idempotency_key: str
    period: str
    tickets_settled: int
    tickets_corrected: int
    transactions: int
    created_at: datetime


class StatementLineRead(BaseModel):
    """One line of a statement (positive: paid to the party)."""

    id: int
    entry_id: int
    ticket_id: int | None
    ticket_number: str | None
    kind: str
    rule: str
    memo: str  # in Chinese; memo_en in English (plain-text memos: as written in both)
    memo_en: str = ""
    amount: Decimal


class CommentRead(BaseModel):
    """A remark on a statement."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    author: str
    body: str
    created_at: datetime


class StatementRead(BaseModel):
    """A monthly statement."""

    id: int
    number: str
    party: str
    party_name: str
    network_id: int
    engineer_id: int | None
    period: str
    status: str
    total: Decimal
    summary: dict[str, Decimal]
    lines: list[StatementLineRead]
    comments: list[CommentRead]


class StatementSummary(BaseModel):
    """A statement in a list."""

    id: int
    number: str
    party: str
    party_name: str
    network_id: int
    engineer_id: int | None
    period: str
    status: str
    total: Decimal


class StatementAction(BaseModel):
    """A workflow step on a statement."""

    action: str = Field(pattern=r"^(confirm|dispute|resolve|approve|pay)$")
    comment: str = Field(default="", max_length=2000)


class CommentIn(BaseModel):
    """A note on a statement."""

    body: str = Field(min_length=1, max_length=2000)


class GenerateIn(BaseModel):
    """Draft a month's statements."""

    period: Period


class DepositIn(BaseModel):
    """Take, deduct from or refund a network's deposit."""

    action: str = Field(pattern=r"^(receive|deduct|refund)$")
    amount: PositiveMoney
    memo: str = Field(default="", max_length=200)


class DepositRead(BaseModel):
    """A network's deposit and its history."""

    network_id: int
    balance: Decimal
    entries: list[EntryRead]


class ReverseIn(BaseModel):
    """Why a transaction is reversed."""

    reason: str = Field(min_length=1, max_length=200)


class AccountBalance(BaseModel):
    """An account and its balance (debits minus credits)."""

    code: str
    name: str
    kind: str
    balance: Decimal


class TrialBalance(BaseModel):
    """Every account's balance; they sum to zero."""

    accounts: list[AccountBalance]
    total: Decimal


class RuleIn(BaseModel):
    """An incentive or penalty rule."""

    trigger: str = Field(
        pattern=r"^(response_late|arrival_late|completion_late|low_rating|high_rating|complaint|repeat_repair)$"
    )
    party: str = Field(pattern=r"^(network|engineer)$")
    threshold: int = Field(ge=0, le=100_000)
    amount: Money
    active: bool = True
    effective_from: date | None = None


class RuleRead(RuleIn):
    """A rule."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
