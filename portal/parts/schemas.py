"""Request and response shapes of the parts API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Quantity = Annotated[int, Field(ge=1, le=100_000)]
Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")]


class PartCreate(BaseModel):
    """A new catalogue entry."""

    code: Code
    name: str = Field(min_length=1, max_length=100)
    category: str = Field(default="", max_length=32)
    compatible_models: list[Annotated[str, Field(max_length=32)]] = Field(
        default_factory=list, max_length=200
    )
    unit_cost: Price
    unit_price: Price
    returnable: bool = False


class PartRead(BaseModel):
    """A catalogue entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    category: str
    compatible_models: list[str]
    unit_cost: Decimal
    unit_price: Decimal
    returnable: bool
    active: bool


class LocationRead(BaseModel):
    """A stock location."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    kind: str
    name: str
    network_id: int | None
    engineer_id: int | None


class BalanceRead(BaseModel):
    """Stock of one part at one location."""

    location_id: int
    location_code: str
    location_name: str
    part_id: int
    part_code: str
    part_name: str
    part_name_en: str = ""  # empty: the part has no English name
    on_hand: int
    reserved: int
    available: int
    defective: int
    min_level: int
    low: bool
    low_since: datetime | None = None


class MovementRead(BaseModel):
    """One effect of a stock movement on a location."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    batch: str
    kind: str
    part_id: int
    location_id: int
    counter_location_id: int | None
    on_hand_delta: int
    reserved_delta: int
    defective_delta: int
    ticket_id: int | None
    actor: str
    note: str
    created_at: datetime


class ReceiveRequest(BaseModel):
    """Goods in at a location."""

    location_id: Id
    part_id: Id
    quantity: Quantity
    note: str = Field(default="", max_length=500)


class TransferRequest(BaseModel):
    """Free stock from one location to another."""

    source_location_id: Id
    target_location_id: Id
    part_id: Id
    quantity: Quantity


class ThresholdRequest(BaseModel):
    """The low-stock threshold of a part at a location."""

    location_id: Id
    part_id: Id
    min_level: int = Field(ge=0, le=100_000)


class StockCountRequest(BaseModel):
    """A stock count (盘点): the good units counted on the shelf, and why the books differ."""

    model_config = ConfigDict(str_strip_whitespace=True)

    location_id: Id
    part_id: Id
    counted: int = Field(ge=0, le=100_000)
    reason: str = Field(min_length=1, max_length=200)


class StockCountRead(BaseModel):
    """What a stock count did: the books before, the count, the adjustment (if any)."""

    on_hand_before: int
    counted: int
    delta: int
    movement: MovementRead | None
    balance: BalanceRead


class PartLineIn(BaseModel):
    """A part (by part number) and how many."""

    part_code: Code
    quantity: Quantity = 1


class PartsRequest(BaseModel):
    """Parts for a ticket."""

    lines: list[PartLineIn] = Field(min_length=1, max_length=50)


class ConsumeRequest(BaseModel):
    """The parts fitted on a ticket (none given: everything held for it)."""

    lines: list[PartLineIn] | None = Field(default=None, max_length=50)


class PartLineRead(BaseModel):
    """A part and how many."""

    part_code: str
    quantity: int
    name: str


class ReservationResult(BaseModel):
    """What was held and what is short (a shortage order was raised for it)."""

    reserved: list[PartLineRead]
    shortages: list[PartLineRead]
    ticket_status: str


class ReservationRead(BaseModel):
    """Parts held for a ticket."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    part_id: int
    location_id: int
    quantity: int
    status: str


class ShortageRead(BaseModel):
    """A shortage order (缺件订单)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    ticket_id: int
    part_id: int
    location_id: int
    quantity: int
    status: str
    created_at: datetime
    fulfilled_at: datetime | None


class ReturnRead(BaseModel):
    """A defective part on its way back (旧件返还)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    part_id: int
    engineer_id: int | None
    to_location_id: int
    quantity: int
    status: str
    tracking: str
    created_at: datetime
    shipped_at: datetime | None
    received_at: datetime | None
    disposed_at: datetime | None
    due_at: datetime
    overdue: bool


class ReturnStep(BaseModel):
    """Move a defective return on."""

    step: str = Field(pattern=r"^(ship|receive|repair|scrap)$")
    tracking: str = Field(default="", max_length=64)


class CountRead(BaseModel):
    """How many things an action touched."""

    count: int


class VanRead(BaseModel):
    """An engineer's van: stock, what is held for their tickets, old parts to send back."""

    location: LocationRead
    stock: list[BalanceRead]
    reservations: list[ReservationRead]
    returns: list[ReturnRead]
