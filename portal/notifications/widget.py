"""Widget notifications, delivered by the portal process itself: only it holds the visitors'
WebSockets (channels.web.VisitorSockets), so the outbox worker process has no widget sender
and never claims widget rows. With several portal workers any of them may claim a row: its
push goes through the sockets' relay to whichever worker holds the visitor's tabs.

A widget notification becomes a system message in the visitor's web conversation, then is
pushed to every widget the visitor has open. Stored first, because a visitor who is not
connected right now sees it in the history the widget loads when they come back (the chat
record is the widget's own catch-up), and the agent console shows it in the conversation.
So "not connected" is not a failure and is not retried: the notification is sent when it is
stored. Only a notification older than `max_age_s` when its turn comes (the portal was down)
is given up, because the same event also went to the customer's WeChat or SMS (see
notifications.flows.customer_channels) and a stale status in the chat would mislead.

Claiming, leases, retries with backoff and the idempotency key are the outbox worker's own
(`delivery.Outbox`): a pass runs in a thread, and the live push hops back onto the event loop
that owns the sockets. The key is the stored message's channel id, so a delivery repeated
after a crash stores nothing new and pushes the same message (same id: the widget drops it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from channels.base import ChannelMessage
from channels.web import VisitorSockets
from channels.web.wire import CHANNEL
from portal.config import Settings
from portal.conversations import service as conversations
from portal.conversations.models import Message
from portal.database import Database, utcnow
from portal.i18n import Lang
from portal.notifications.delivery import Outbox
from portal.notifications.loop import OutboxLoop
from portal.notifications.senders import DeliveryError, Outgoing
from portal.workers.loop import worker_name

log = logging.getLogger(__name__)

AUTHOR = "system"
# How long the thread delivering a batch waits for one push on the event loop.
PUSH_TIMEOUT_S = 10.0

# Stores the notification in the visitor's conversation; None when they have none.
Store = Callable[[Outgoing], ChannelMessage | None]
# Pushes a stored message to the visitor's open widgets; returns how many took it.
Push = Callable[[str, ChannelMessage], int]


def store_in_conversation(db: Database, message: Outgoing) -> ChannelMessage | None:
    """The notification as a system message of the visitor's web conversation, stored once
    per idempotency key (a repeat returns the message stored the first time)."""
    with db.session() as session:
        conversation = conversations.find_conversation(
            session, channel=CHANNEL, sender_id=message.recipient
        )
        if conversation is None:
            return None
        lang: Lang = "en" if conversation.customer_language == "en" else "zh"
        stored = conversations.add_message(
            session,
            conversation=conversation,
            direction="out",
            author=AUTHOR,
            text=message.text_en if lang == "en" and message.text_en else message.text,
            buttons=buttons_of(message, lang),
            channel_message_id=message.key[:128],
        )
        if stored is None:  # delivered before, by a pass that died before marking it sent
            stored = session.scalars(
                select(Message).where(
                    Message.conversation_id == conversation.id,
                    Message.channel_message_id == message.key[:128],
                )
            ).one()
        return conversations.to_channel_message(stored, conversation)


def buttons_of(message: Outgoing, lang: Lang = "zh") -> list[dict[str, str]]:
    """The buttons a notification carries in its payload (a quote's accept and decline),
    titled in `lang` where the payload gives that language."""
    raw = message.payload.get("buttons")
    if not isinstance(raw, list):
        return []
    return [
        {
            "title": b["title_en"]
            if lang == "en" and isinstance(b.get("title_en"), str)
            else b["title"],
            "payload": b["payload"],
        }
        for b in raw
        if isinstance(b, dict)
        and isinstance(b.get("title"), str)
        and isinstance(b.get("payload"), str)
    ]


@dataclass
class WidgetSender:
    """Stores the notification in the visitor's chat and pushes it to their open widgets."""

    store: Store
    push: Push
    max_age_s: float = 3600.0
    now: Callable[[], datetime] = field(default=utcnow)

    def send(self, message: Outgoing) -> None:
        """Deliver once; see the module docstring for what counts as delivered."""
        age = (self.now() - message.created_at).total_seconds()
        if age > self.max_age_s:
            raise DeliveryError("widget: too old to show", retry=False)
        stored = self.store(message)
        if stored is None:
            raise DeliveryError("widget: the visitor has no conversation", retry=False)
        reached = self.push(message.recipient, stored)
        log.debug("widget notification %s pushed to %d open widgets", message.id, reached)


class WidgetDelivery(OutboxLoop):
    """The portal's widget outbox loop: started and stopped by the app's lifespan."""

    def __init__(
        self,
        *,
        db: Database,
        sockets: VisitorSockets,
        settings: Settings,
        worker: str | None = None,
    ) -> None:
        self.sockets = sockets
        sender = WidgetSender(store=lambda m: store_in_conversation(db, m), push=self._push)
        super().__init__(
            outbox=Outbox.from_settings(
                db,
                settings,
                worker=worker or worker_name("portal-widget"),
                senders={"widget": sender},
            ),
            poll_s=settings.outbox_poll_s,
            label="widget notifications",
            task_name="widget-outbox",
        )

    def _push(self, visitor: str, message: ChannelMessage) -> int:
        """From the delivering thread: push on the event loop that owns the sockets."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self.sockets.push(visitor, message), self._loop)
        return future.result(timeout=PUSH_TIMEOUT_S)
