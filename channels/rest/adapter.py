"""`POST /channels/rest/webhook`: Rasa's REST channel contract, answered through the hub.

Any Rasa REST client can talk to the product: `{"sender": ..., "message": ...}` in, a list of
`{"recipient_id", "text", "buttons"?, "image"?}` out, exactly as Rasa's own channel answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from channels.base import ChannelMessage, Hub

CHANNEL = "rest"


class RestInbound(BaseModel):
    """A message as Rasa's REST channel takes it."""

    model_config = ConfigDict(extra="ignore")

    sender: str = Field(min_length=1, max_length=128)
    message: str = Field(min_length=1, max_length=2000)


class RestButton(BaseModel):
    """A button as Rasa renders it."""

    title: str
    payload: str


class RestOutbound(BaseModel):
    """One bot reply as Rasa's REST channel returns it."""

    model_config = ConfigDict(extra="forbid")

    recipient_id: str
    text: str | None = None
    buttons: list[RestButton] | None = None
    image: str | None = None


def to_wire(message: ChannelMessage) -> dict[str, Any]:
    """A reply in Rasa's REST shape, leaving out what it does not carry."""
    out: dict[str, Any] = {"recipient_id": message.sender_id}
    if message.text:
        out["text"] = message.text
    if message.buttons:
        out["buttons"] = [{"title": b.title, "payload": b.payload} for b in message.buttons]
    if message.image_url:
        out["image"] = message.image_url
    return out


def build_router(hub: Hub) -> APIRouter:
    """The REST channel's routes, delivering to `hub`."""
    router = APIRouter(tags=["channels"])

    @router.post(
        "/channels/rest/webhook",
        response_model=list[RestOutbound],
        response_model_exclude_none=True,
    )
    async def webhook(body: RestInbound) -> list[dict[str, Any]]:
        """Send one customer message; the bot's replies come back in Rasa's REST format."""
        replies = await hub.receive(
            ChannelMessage(channel=CHANNEL, sender_id=body.sender, text=body.message)
        )
        return [to_wire(r) for r in replies]

    return router
