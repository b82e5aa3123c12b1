"""The one message shape every channel translates to and from, and the hub contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

Direction = Literal["in", "out"]


@dataclass(frozen=True, slots=True)
class Button:
    """A quick reply: what the customer sees, and what is sent back when it is clicked."""

    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    """One message on one channel, in either direction.

    `sender_id` is the customer's identity on that channel (widget visitor id, WeChat
    openid, REST sender); `message_id` is the channel's own id, used to drop retries.
    """

    channel: str
    sender_id: str
    text: str = ""
    direction: Direction = "in"
    buttons: tuple[Button, ...] = ()
    image_url: str | None = None
    message_id: str | None = None
    author: str = "customer"  # customer | bot | agent | system
    id: int | None = None  # the hub's own id once stored
    created_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


class Hub(Protocol):
    """What a channel adapter delivers to; the portal's conversation hub implements it."""

    async def receive(self, message: ChannelMessage) -> list[ChannelMessage]:
        """Store an inbound customer message, run one turn, return the stored replies."""
        ...

    async def history(
        self, *, channel: str, sender_id: str, after_id: int | None = None
    ) -> list[ChannelMessage]:
        """Every stored message of this customer's conversation, oldest first."""
        ...
