"""How a WeChat notification goes out when its kind has no template: the facts the sender
(portal.notifications.senders.WeChatSender) asks for, and the record of its choice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.customers.models import Customer
from portal.database import Database, utcnow
from portal.notifications import service as outbox
from portal.notifications.models import Notification
from portal.notifications.senders import Outgoing
from portal.tickets.models import Ticket
from portal.wechat import service
from portal.wechat.models import WeChatFollower


class NotificationRoutes:
    """senders.Routes over the database."""

    def __init__(self, db: Database, *, window: timedelta) -> None:
        self.db = db
        self.window = window

    def within_window(self, openid: str) -> bool:
        """Whether the follower still follows and wrote within the window."""
        with self.db.session() as session:
            follower = session.scalars(
                select(WeChatFollower).where(WeChatFollower.openid == openid)
            ).first()
            if follower is None or not follower.subscribed:
                return False
            return service.within_service_window(follower, now=utcnow(), window=self.window)

    def to_sms(self, message: Outgoing) -> bool:
        """The same notification as an SMS to the ticket's (or the customer's) phone."""
        with self.db.session() as session:
            row = session.get(Notification, message.id)
            ticket = session.get(Ticket, row.ticket_id) if row and row.ticket_id else None
            phone = ticket.phone if ticket is not None else ""
            if ticket is not None and not phone:
                customer = session.get(Customer, ticket.customer_id)
                phone = customer.phone if customer is not None else ""
            if not phone:
                return False
            outbox.enqueue(
                session,
                key=f"{message.key}:sms",
                channel="sms",
                recipient=phone,
                template=message.template,
                payload=dict(message.payload),
                ticket_id=ticket.id if ticket is not None else None,
            )
            return True

    def record(self, message: Outgoing, route: str) -> None:
        """Keep the route on the notification's payload (`wechat_route`)."""
        with self.db.session() as session:
            row = session.get(Notification, message.id)
            if row is not None:
                row.payload = {**row.payload, "wechat_route": route}
