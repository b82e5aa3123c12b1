"""The intake reader over HTTP, for the bot (which has no jionlp of its own to agree with)."""

from __future__ import annotations

from fastapi import APIRouter

from portal.intake.policies import Parser
from portal.intake.schemas import AddressRead, IntakeParseRequest, IntakeRead, WindowRead
from portal.intake.service import read_message
from portal.intake.windows import ZONE

router = APIRouter(prefix="/intake", tags=["intake"])

Reader = Parser


@router.post("/parse", response_model=IntakeRead)
def parse(body: IntakeParseRequest, _principal: Reader) -> IntakeRead:
    """Read a customer's message: the visit window it names (or why it cannot be booked),
    the address and the mobile number it holds."""
    now = body.now
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=ZONE)
    found = read_message(text=body.text, now=now)
    window = found.window
    place = found.address
    return IntakeRead(
        window=WindowRead(
            start=window.start,
            end=window.end,
            canonical=window.canonical,
            label_zh=window.label("zh"),
            label_en=window.label("en"),
        )
        if window
        else None,
        window_error=found.window_error,
        address=AddressRead(
            province=place.province,
            city=place.city,
            district=place.district,
            detail=place.detail,
            full=place.full,
        )
        if place
        else None,
        phone=found.phone,
    )
