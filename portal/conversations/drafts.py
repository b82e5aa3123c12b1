"""What the customer told the bot, for the agent who takes the chat over: their own words as
the summary, and a draft of the ticket (product, fault, phone, address) for the console's
ticket form. Read from the stored transcript, so it works whatever the bot had collected."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets.models import Product
from portal.conversations.models import Message
from portal.conversations.schemas import TicketDraft
from portal.i18n import MESSAGES
from portal.intake.service import read_message

# The customer's last few lines are the summary; older ones are in the transcript above it.
SUMMARY_LINES = 5
_LINE_CHARS = 200
_CATEGORY = "category."


def customer_lines(messages: Sequence[Message]) -> list[str]:
    """What the customer typed, oldest first; button payloads (/intent{...}) left out."""
    lines = (m.text.strip() for m in messages if m.direction == "in")
    return [line for line in lines if line and not line.startswith("/")]


def summary(messages: Sequence[Message]) -> str:
    """The customer's last lines, one a line: what they asked the bot before the takeover."""
    return "\n".join(line[:_LINE_CHARS] for line in customer_lines(messages)[-SUMMARY_LINES:])


def categories(session: Session) -> list[str]:
    """Product categories the portal knows (master data and the named ones), longest first
    so that 燃气灶 is not read as a shorter name inside it."""
    known = set(session.scalars(select(Product.category).distinct()))
    known |= {key[len(_CATEGORY) :] for key in MESSAGES if key.startswith(_CATEGORY)}
    return sorted(known, key=len, reverse=True)


def ticket_draft(
    session: Session, *, messages: Sequence[Message], product_line: str | None
) -> TicketDraft:
    """The ticket form as far as the customer's words fill it: the product they named (else
    the chat's product line), the line that named it as the fault, the last phone and
    address they gave."""
    names = categories(session)
    product, fault, phone, address, city = "", "", "", "", ""
    for line in customer_lines(messages):
        said = read_message(text=line)
        phone = said.phone or phone
        if said.address is not None and said.address.detail:
            address, city = said.address.full, said.address.city or city
        named = next((name for name in names if name in line), "")
        if named and not product:
            product, fault = named, line[:2000]
    return TicketDraft(
        product=product or product_line or "",
        fault_description=fault,
        phone=phone,
        address=address[:255],
        city=city[:32],
    )
