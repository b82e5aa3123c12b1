"""`POST /channels/rest/webhook`: Rasa's REST channel contract, answered through the hub.

Any Rasa REST client can talk to the product: `{"sender": ..., "message": ...}` in, a list of
`{"recipient_id", "text", "buttons"?, "image"?}` out, exactly as Rasa's own channel answers.

The caller chooses `sender`, and a sender bound to a customer (phone + one-time code) is that
customer from then on, so outside demo mode every call needs an integration key (header
`X-Integration-Key`, one of `keys`; 401 otherwise). Every mode rate-limits, like the widget:
per sender, per key and per client address (behind trusted proxies, the forwarded one), each
in messages a minute, 0 switching one off; over a limit is a 429 with Retry-After and the
message never reaches the hub.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from channels.base import ChannelMessage, Hub
from channels.rest.client_ip import Network, request_address
from channels.web.limits import LimitFactory, LocalLimit

CHANNEL = "rest"
KEY_HEADER = "X-Integration-Key"
# What the caller is told, in Chinese and English (the portal passes its own wording).
DEFAULT_MESSAGES: Mapping[str, tuple[str, str]] = {
    "integration_key": ("集成密钥无效或缺失", "Missing or unknown integration key"),
    "rate_limited": ("消息发送过于频繁，请稍后再试", "Too many messages; please slow down"),
}


@dataclass(frozen=True)
class RestPolicy:
    """Who may call the REST channel and how often. `keys` None: open (demo mode only);
    a set (possibly empty): the integration keys accepted."""

    keys: frozenset[str] | None = None
    sender_per_min: int = 20
    key_per_min: int = 600
    ip_per_min: int = 60
    proxies: tuple[Network, ...] = ()
    messages: Mapping[str, tuple[str, str]] = field(default_factory=lambda: DEFAULT_MESSAGES)


TAG_LENGTH = 16


def _key_tag(key: str) -> str:
    """A key as the limits count it: never the key itself (limit keys may reach Redis)."""
    return hashlib.sha256(key.encode()).hexdigest()[:TAG_LENGTH] if key else "-"


class RestInbound(BaseModel):
    """A message as Rasa's REST channel takes it."""

    model_config = ConfigDict(extra="ignore")

    # Stored as `<key tag>:<sender>` in a 128-character column when keys are in use.
    sender: str = Field(min_length=1, max_length=128 - TAG_LENGTH - 1)
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


def build_router(
    hub: Hub,
    policy: RestPolicy | None = None,
    *,
    limits: LimitFactory | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> APIRouter:
    """The REST channel's routes, delivering to `hub`; `limits` (the portal's, with several
    workers) makes the budgets shared by all workers."""
    policy = policy or RestPolicy()
    router = APIRouter(tags=["channels"])
    make_limit = limits or (lambda _name, per_min: LocalLimit(per_min, clock=clock))
    per_sender = make_limit("rest_sender", policy.sender_per_min)
    per_key = make_limit("rest_key", policy.key_per_min)
    per_ip = make_limit("rest_ip", policy.ip_per_min)
    accepted = [k.encode() for k in policy.keys or ()]

    def refusal(status: int, code: str) -> JSONResponse:
        zh, en = policy.messages.get(code, DEFAULT_MESSAGES[code])
        headers = {"Retry-After": "60"} if status == 429 else None
        body = {"error": code, "message": f"{zh} / {en}", "message_zh": zh, "message_en": en}
        return JSONResponse(body, status_code=status, headers=headers)

    def key_ok(given: str) -> bool:
        if policy.keys is None:
            return True
        # Compared with every key, so the time taken does not say how close a guess was.
        return any([hmac.compare_digest(given.encode(), k) for k in accepted]) if given else False

    @router.post(
        "/channels/rest/webhook",
        response_model=list[RestOutbound],
        response_model_exclude_none=True,
        responses={
            401: {"description": "Missing or unknown integration key (outside demo mode)"},
            429: {"description": "Over a rate limit; see Retry-After"},
        },
    )
    async def webhook(
        body: RestInbound,
        request: Request,
        integration_key: Annotated[str, Header(alias=KEY_HEADER, max_length=256)] = "",
    ) -> Any:
        """Send one customer message; the bot's replies come back in Rasa's REST format.
        Outside demo mode the `X-Integration-Key` header must carry an integration key."""
        if not key_ok(integration_key):
            return refusal(401, "integration_key")
        tag = _key_tag(integration_key)
        address = request_address(request, policy.proxies)
        if not (
            await per_ip.take(address)
            and await per_key.take(tag)
            and await per_sender.take(f"{tag}:{body.sender}")
        ):
            return refusal(429, "rate_limited")
        # With keys, each integration names its own senders: the same name under another key
        # is another chat and never the customer the first one bound.
        sender_id = body.sender if policy.keys is None else f"{tag}:{body.sender}"
        replies = await hub.receive(
            ChannelMessage(channel=CHANNEL, sender_id=sender_id, text=body.message)
        )
        return [{**to_wire(r), "recipient_id": body.sender} for r in replies]

    return router
