"""Console writes that span domains: an agent corrects a ticket's visit details (address,
visit window, contact) from the chat where the customer gave them.

The words are read the way intake reads them: the address into official names of city and
district (`portal.places`), the window into a bookable slot (`portal.intake.windows`), the
phone as every ticket form does. The change goes through the ticket service; the ticket's
internal notes and the conversation's say what changed, for dispatch and colleagues.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.orm import Session

from portal.console.schemas import SidebarTicket, TicketVisitEdit
from portal.console.service import sidebar_ticket
from portal.conversations import service as conversations
from portal.conversations.models import ConversationNote
from portal.dispatch import service as dispatch
from portal.errors import Invalid, NotFound
from portal.i18n import Lang, t
from portal.intake.windows import (
    MAX_AHEAD,
    SERVICE_HOURS,
    VisitWindow,
    find_window,
    now_local,
    read_canonical,
)
from portal.places.service import Place, find_address, normalise
from portal.security import Principal
from portal.tickets import service as tickets
from portal.tickets.models import Ticket
from portal.tickets.schemas import TicketUpdate, normalize_phone


def read_address(text: str, *, city: str = "") -> Place:
    """The address in official names; `city` (the ticket's) places one that names none.

    Refused when an engineer could not find it: no road, building or flat (detail), or no
    city or district to put it in.
    """
    found = find_address(text)
    if found is None or not found.detail:
        raise Invalid("console.error.address_unreadable", field="address")
    if not found.city and city:
        placed = normalise(city=city, district=found.district, address=text)
        found = Place(placed.province, placed.city, placed.district, found.detail)
    if not found.city:
        raise Invalid("console.error.address_no_city", field="address")
    return found


def read_window(text: str, *, now: datetime | None = None) -> VisitWindow:
    """A bookable visit window from the agent's words, or why it is none."""
    stored = read_canonical(text)
    if stored is not None:  # as the ticket stores it: the same rules as the words
        moment = now or now_local()
        opens, closes = SERVICE_HOURS
        reason = (
            "past"
            if stored.end <= moment
            else "too_far"
            if stored.start > moment + MAX_AHEAD
            else "off_hours"
            if stored.start.time() < opens or stored.end.time() > closes
            else None
        )
        if reason is not None:
            raise Invalid(f"console.error.window_{reason}", field="preferred_time")
        return stored
    window, reason = find_window(text, now)
    if window is None:
        raise Invalid(f"console.error.window_{reason or 'unparsed'}", field="preferred_time")
    return window


def _linked_ticket(
    session: Session, *, public_id: str, number: str, principal: Principal
) -> Ticket:
    """The ticket, if it belongs to this chat or its customer (404 otherwise)."""
    conversation = conversations.get_by_public_id(session, public_id=public_id)
    ticket = tickets.get_ticket(session, ref=number, principal=principal)
    customer = conversations.resolve_customer(session, conversation=conversation)
    mine = ticket.conversation_id == public_id or (
        customer is not None and ticket.customer_id == customer.id
    )
    if not mine:
        raise NotFound("object.ticket")
    return ticket


def edit_visit(
    session: Session,
    *,
    public_id: str,
    number: str,
    data: TicketVisitEdit,
    principal: Principal,
    lang: Lang = "zh",
    now: datetime | None = None,
) -> tuple[SidebarTicket, ConversationNote | None]:
    """Correct the address, visit window and contact of a ticket of this chat's customer.

    Every field sent is read first; one that cannot be read refuses the whole change (422
    naming it), so nothing is half saved. Returns the ticket as the sidebar shows it and the
    note left in the conversation (None when nothing changed).
    """
    if not (data.address or data.preferred_time or data.phone or data.customer_name):
        raise Invalid("console.error.visit_empty", field="address")
    ticket = _linked_ticket(session, public_id=public_id, number=number, principal=principal)
    update: dict[str, str] = {}
    said: list[str] = []
    if data.address:
        place = read_address(data.address, city=ticket.place_city or ticket.city)
        if place.full != ticket.address:
            update |= {"address": place.full, "city": place.city, "district": place.district}
            said.append(t("console.edit.address", "zh", value=place.full))
    if data.preferred_time:
        window = read_window(data.preferred_time, now=now)
        if window.canonical != ticket.details.get("preferred_time"):
            update["preferred_time"] = window.canonical
            said.append(t("console.edit.window", "zh", value=window.label("zh")))
    if data.phone:
        try:
            phone = normalize_phone(data.phone)
        except ValueError:
            raise Invalid("validation.phone_invalid", field="phone") from None
        if phone != ticket.phone:
            update["phone"] = phone
            said.append(t("console.edit.phone", "zh", value=phone))
    name = data.customer_name or ""
    if name and name != ticket.customer.name:
        said.append(t("console.edit.name", "zh", value=name))
    if not said:
        return sidebar_ticket(ticket, principal=principal, lang=lang), None
    try:
        changes = TicketUpdate.model_validate(update)
    except ValidationError:  # a place name longer than the column: say which field
        raise Invalid("validation.invalid", field="address") from None
    tickets.update_ticket(session, ticket=ticket, data=changes)
    if "preferred_time" in update:
        dispatch.follow_customer_window(session, ticket=ticket)
    if name and name != ticket.customer.name:
        ticket.customer.name = name
    body = t("console.edit.note", "zh", number=ticket.number, changes="；".join(said))
    tickets.add_comment(session, ticket=ticket, body=body, internal=True, principal=principal)
    conversation = conversations.get_by_public_id(session, public_id=public_id)
    note = conversations.add_note(
        session, conversation=conversation, author_id=principal.user_id, body=body, kind="ticket"
    )
    session.flush()
    return sidebar_ticket(ticket, principal=principal, lang=lang), note
