"""Reading a customer's message for what a visit needs: when, where, and a phone number."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from portal.intake.windows import VisitWindow, WindowErrorReason, find_window
from portal.places.service import Place, find_address

# A mainland mobile number, also written 138 0013 8000, 138-0013-8000 or +86 138…
_PHONE = re.compile(r"(?<![0-9])(?:\+?86[\s\-]?)?(1[3-9][0-9](?:[\s\-]?[0-9]){8})(?![0-9])")


@dataclass(frozen=True, slots=True)
class Intake:
    """What one message says about the visit; None where it says nothing."""

    window: VisitWindow | None
    window_error: WindowErrorReason | None
    address: Place | None
    phone: str | None


def find_phone(text: str) -> str | None:
    """The first mainland mobile number in the text, digits only."""
    match = _PHONE.search(text)
    return re.sub(r"[^0-9]", "", match[1]) if match else None


def read_message(*, text: str, now: datetime | None = None) -> Intake:
    """The visit window, address and phone number a customer's message holds."""
    phone = find_phone(text)
    # A phone number is neither a date (2026…) nor part of an address.
    rest = _PHONE.sub("，", text)
    window, error = find_window(rest, now)
    return Intake(window=window, window_error=error, address=find_address(rest), phone=phone)
