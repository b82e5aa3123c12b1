"""One inbound WeChat message being decided, inside one transaction: what the binding
dialogue (`binding`), the location offer (`places`) and the desk (`desk`) share."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from channels.base import Button, ChannelMessage
from portal.config import Settings
from portal.conversations import service as conversations
from portal.conversations.models import Conversation, Message
from portal.customers.models import Customer
from portal.wechat.models import WeChatFollower


def mask(phone: str) -> str:
    """A phone as shown back in chat: 138****8000."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else phone


def words(text: str) -> str:
    """A short answer without spaces and punctuation, lower-cased: 好的。 -> 好的."""
    return re.sub(r"[\s。.!！,，~～]+", "", text).lower()


@dataclass
class Chat:
    """The follower, their conversation and customer (if bound), in the open transaction."""

    session: Session
    settings: Settings
    message: ChannelMessage
    follower: WeChatFollower
    conversation: Conversation
    customer: Customer | None
    now: datetime

    def store_inbound(self, text: str) -> Message | None:
        """The customer's message, once per WeChat id; None when this is a retry."""
        return conversations.add_message(
            self.session,
            conversation=self.conversation,
            direction="in",
            author="customer",
            text=text,
            image_url=self.message.image_url,
            channel_message_id=self.message.message_id,
        )

    def reply(self, *texts: str, buttons: Sequence[Button] = ()) -> list[ChannelMessage]:
        """A system message to the follower, stored (and so sent: `push`)."""
        stored = conversations.add_message(
            self.session,
            conversation=self.conversation,
            direction="out",
            author="system",
            text="\n".join(x for x in texts if x),
            buttons=[{"title": b.title, "payload": b.payload} for b in buttons],
        )
        assert stored is not None  # outbound messages carry no channel id
        return [conversations.to_channel_message(stored, self.conversation)]
