"""How the hub reaches widget visitors: agent messages and the agent's typing indicator."""

from __future__ import annotations

from channels.base import ChannelMessage
from channels.web import VisitorSockets
from channels.web.wire import CHANNEL, typing_frame
from portal.conversations.flows import ConversationHub


def register_web_channel(hub: ConversationHub, sockets: VisitorSockets) -> None:
    """Register the widget's sender and typing indicator with the hub's channel registry."""

    async def send(message: ChannelMessage) -> None:
        await sockets.push(message.sender_id, message)

    async def typing(sender_id: str, on: bool) -> None:
        await sockets.broadcast(sender_id, typing_frame(on))

    hub.register_sender(CHANNEL, send)
    hub.register_typing(CHANNEL, typing)
