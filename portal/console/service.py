"""Console reads that span domains: the customer sidebar, read through each domain's service."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.assets import service as assets
from portal.console.schemas import (
    CustomerContext,
    SidebarAsset,
    SidebarConversation,
    SidebarCustomer,
    SidebarTicket,
)
from portal.conversations import service as conversations
from portal.database import utcnow
from portal.i18n import STATUS_LABELS, Lang, label
from portal.intake.windows import read_canonical
from portal.privacy.masking import customer_phone, ticket_phone
from portal.security import Principal
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket

TICKETS_SHOWN = 50
# Mirrors tickets.service.update_ticket: the visit details are not offered for change where
# the service would refuse.
VISIT_LOCKED = lifecycle.TERMINAL | {"completed", "evaluated"}


def sidebar_ticket(ticket: Ticket, *, principal: Principal, lang: Lang) -> SidebarTicket:
    """One ticket as the sidebar shows it, its phone as this agent may see it."""
    preferred = str(ticket.details.get("preferred_time") or "")
    window = read_canonical(preferred)
    return SidebarTicket(
        number=ticket.number,
        type=ticket.type,
        status=ticket.status,
        status_label=label(STATUS_LABELS, ticket.status, lang),
        product=ticket.product,
        fault_description=ticket.fault_description,
        created_at=ticket.created_at,
        conversation_id=ticket.conversation_id,
        address=ticket.address,
        preferred_time=preferred,
        visit_label=window.label(lang) if window is not None else preferred,
        phone=ticket_phone(principal, ticket),
        contact_name=ticket.customer.name,
        editable=ticket.status not in VISIT_LOCKED,
    )


def customer_context(
    session: Session, *, public_id: str, principal: Principal, lang: Lang = "zh"
) -> CustomerContext:
    """The customer's profile, products, open and past tickets and other conversations."""
    conversation = conversations.get_by_public_id(session, public_id=public_id)
    customer = conversations.resolve_customer(session, conversation=conversation)
    others = [
        SidebarConversation(
            public_id=c.public_id,
            channel=c.channel,
            state=c.state,
            last_message_at=c.last_message_at,
            csat_score=c.csat_score,
        )
        for c in conversations.past_conversations(session, conversation=conversation)
    ]
    if customer is None:
        return CustomerContext(
            customer=None, assets=[], open_tickets=[], past_tickets=[], conversations=others
        )
    today = utcnow().date()
    owned = [
        SidebarAsset(
            id=a.id,
            serial_number=a.serial_number,
            model_code=a.model.code,
            model_name=a.model.name,
            install_date=a.install_date,
            warranty_end=a.warranty_end,
            in_warranty=a.in_warranty(today),
        )
        for a in assets.list_assets(session, customer_id=customer.id)
    ]
    rows, _total = tickets.list_tickets(
        session, principal=principal, customer_id=customer.id, page_size=TICKETS_SHOWN
    )
    shown = [sidebar_ticket(ticket, principal=principal, lang=lang) for ticket in rows]
    return CustomerContext(
        customer=SidebarCustomer(
            id=customer.id,
            name=customer.name,
            phone=customer_phone(principal, customer),
            tier=customer.tier,
            addresses=[a.full for a in customer.addresses],
        ),
        assets=owned,
        open_tickets=[t for t in shown if t.status in lifecycle.OPEN],
        past_tickets=[t for t in shown if t.status not in lifecycle.OPEN],
        conversations=others,
    )
