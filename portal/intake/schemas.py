"""The intake reader's request and answer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from portal.intake.windows import WindowErrorReason

MAX_TEXT = 2000


class IntakeParseRequest(BaseModel):
    """A customer's message to read."""

    text: str = Field(
        max_length=MAX_TEXT, examples=["空调不制冷，地址上海市浦东新区张杨路500号，明天下午来"]
    )
    now: datetime | None = Field(
        default=None,
        description="Read the message as if it were this moment (tests); without an offset, "
        "Asia/Shanghai time. Default: now.",
    )

    @field_validator("now")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        # Calendar arithmetic near year 1 or 9999 overflows; no customer lives there.
        if value is not None and not 2000 <= value.year <= 2099:
            raise ValueError("now must lie between the years 2000 and 2099")
        return value


class WindowRead(BaseModel):
    """A bookable visit window in Asia/Shanghai."""

    start: datetime
    end: datetime
    canonical: str = Field(description="How a ticket's preferred_time stores it")
    label_zh: str
    label_en: str


class AddressRead(BaseModel):
    """An address in official names; "" where the message does not say."""

    province: str
    city: str
    district: str
    detail: str
    full: str


class IntakeRead(BaseModel):
    """What the message says about the visit.

    window_error: null with a window, or when the message has no time words at all;
    "unparsed" when it has some that could not be read.
    """

    window: WindowRead | None
    window_error: WindowErrorReason | None
    address: AddressRead | None
    phone: str | None = Field(description="A mainland mobile number, digits only")
