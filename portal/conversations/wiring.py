"""How the hub reaches widget visitors: agent messages and the agent's typing indicator."""

from __future__ import annotations

from typing import Any

from channels.base import ChannelMessage
from channels.web import VisitorSockets
from channels.web.sockets import Relay
from channels.web.wire import CHANNEL, typing_frame
from portal.conversations.broker import Broker
from portal.conversations.flows import ConversationHub

# The broker topic carrying widget frames between workers.
WEB_TOPIC = "web"


def register_web_channel(hub: ConversationHub, sockets: VisitorSockets) -> None:
    """Register the widget's sender and typing indicator with the hub's channel registry."""

    async def send(message: ChannelMessage) -> None:
        await sockets.push(message.sender_id, message)

    async def typing(sender_id: str, on: bool) -> None:
        await sockets.broadcast(sender_id, typing_frame(on))

    hub.register_sender(CHANNEL, send)
    hub.register_typing(CHANNEL, typing)


def web_relay(broker: Broker) -> Relay:
    """Several workers: a visitor's frames go through the broker to every worker."""

    async def relay(sender_id: str, frame: dict[str, Any]) -> None:
        await broker.publish(WEB_TOPIC, {"visitor": sender_id, "frame": frame})

    return relay


async def forward_web_frames(broker: Broker, sockets: VisitorSockets) -> None:
    """Hand every relayed widget frame to this worker's sockets of that visitor (runs until
    cancelled, for the app's life)."""
    subscription = broker.subscribe([WEB_TOPIC])
    try:
        async for event in subscription:
            await sockets.deliver_local(str(event["visitor"]), event["frame"])
    finally:
        subscription.close()
