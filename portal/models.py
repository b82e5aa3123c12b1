"""Imports every table so Alembic and the tests see the whole schema."""

from __future__ import annotations

# Registers the flush hook that audits staff writes.
import portal.audit.service  # noqa: E402,F401
from portal.accounts.models import LoginAttempt, User
from portal.assets.models import Asset, Product, ProductModel
from portal.audit.models import AuditRecord
from portal.conversations.models import Conversation, Message
from portal.customers.models import (
    ChannelIdentity,
    Customer,
    CustomerAddress,
    CustomerPhone,
    OneTimeCode,
)
from portal.database import Base
from portal.networks.models import Engineer, EngineerSkill, ServiceNetwork
from portal.notifications.models import Notification
from portal.tickets.models import (
    IdempotencyRecord,
    Ticket,
    TicketAttachment,
    TicketComment,
    TicketEvent,
    TicketSequence,
)

__all__ = [
    "Asset",
    "LoginAttempt",
    "AuditRecord",
    "Base",
    "ChannelIdentity",
    "CustomerAddress",
    "CustomerPhone",
    "Engineer",
    "EngineerSkill",
    "Notification",
    "OneTimeCode",
    "Product",
    "ProductModel",
    "ServiceNetwork",
    "TicketAttachment",
    "TicketComment",
    "Conversation",
    "Customer",
    "IdempotencyRecord",
    "Message",
    "Ticket",
    "TicketEvent",
    "TicketSequence",
    "User",
]
