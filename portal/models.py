"""Imports every table so Alembic and the tests see the whole schema."""

from __future__ import annotations

from portal.accounts.models import User
from portal.conversations.models import Conversation, Message
from portal.customers.models import Customer
from portal.database import Base
from portal.tickets.models import IdempotencyRecord, Ticket, TicketEvent, TicketSequence

__all__ = [
    "Base",
    "Conversation",
    "Customer",
    "IdempotencyRecord",
    "Message",
    "Ticket",
    "TicketEvent",
    "TicketSequence",
    "User",
]
