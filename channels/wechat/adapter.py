"""`/channels/wechat`: the official account's callback, translated to ChannelMessage.

- GET answers WeChat's URL check: `echostr` comes back when `signature` signs the token,
  timestamp and nonce.
- POST takes one message or event. Safe mode (an EncodingAESKey is configured; the
  documented default) requires `encrypt_type=aes`, checks `msg_signature`, which covers the
  encrypted body, and encrypts the reply. Plaintext mode has only `signature`, which covers
  the token, timestamp and nonce but not the body: a captured query string would vouch for
  any body until its timestamp runs out, so plaintext mode remembers every nonce for the
  timestamp window and refuses one seen before, and says at start-up that it is weaker. A
  timestamp outside the window, a bad signature, a replayed nonce or a body that cannot be
  read is refused with a 4xx before anything is handed to the hub, so nothing is written.
- WeChat waits 5 seconds and then retries (three times in all) before showing the customer
  "该公众号暂时无法提供服务". So the hub gets `passive_reply_s` (about 4 s): replies ready by
  then go back in the response (被动回复); otherwise the response is `success` at once and
  the replies go out later through `deliver_later` (the customer-service message API);
  replies that did go back passively are reported to `answered`, so whoever holds them for
  later can let them go. Any failure after the checks, building the passive reply included,
  also answers `success` (the replies then go through `deliver_later`): the error is logged,
  never shown to the customer as a broken account ("该公众号暂时无法提供服务"). Retries carry
  the same MsgId (or, for events, the same FromUserName and CreateTime): the hub drops them,
  so one message is one bot turn.

The adapter decides nothing: the hub it is given stores, runs the turn and answers.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from channels.base import ChannelMessage, Hub
from channels.wechat.signing import MessageCrypto, Refused, check_signature, check_timestamp
from channels.wechat.wire import (
    Menu,
    Unreadable,
    default_menu,
    parse,
    reply_text,
    text_reply_xml,
    to_channel_message,
)

log = logging.getLogger(__name__)

SUCCESS = "success"  # WeChat's "received, nothing to reply"
# Callback bodies are a few hundred bytes; anything this big is not from WeChat.
MAX_BODY_BYTES = 64 * 1024

# The replies that missed the passive window, handed to whoever sends them later.
DeliverLater = Callable[[list[ChannelMessage]], Awaitable[None]]
# The replies that went back in the callback's response (被动回复).
Answered = Callable[[list[ChannelMessage]], Awaitable[None]]
# Whether a (nonce, timestamp) is seen for the first time within the window.
NonceCheck = Callable[[str, str], Awaitable[bool]]


class MemoryNonces:
    """Nonces seen by this process, each kept for `keep_s` (one worker, tests)."""

    def __init__(self, *, keep_s: float, clock: Callable[[], float] = time.time) -> None:
        self.keep_s = keep_s
        self.clock = clock
        self._seen: dict[tuple[str, str], float] = {}

    async def __call__(self, nonce: str, timestamp: str) -> bool:
        """True the first time this nonce and timestamp come."""
        now = self.clock()
        if len(self._seen) > 10_000:  # forget the expired ones now and then
            self._seen = {k: v for k, v in self._seen.items() if v > now}
        if self._seen.get((nonce, timestamp), 0.0) > now:
            return False
        self._seen[(nonce, timestamp)] = now + self.keep_s
        return True


@dataclass(frozen=True)
class WeChatConfig:
    """What the callback needs to know; `clock` is injectable so recorded payloads replay."""

    token: str
    app_id: str = ""
    aes_key: str = ""
    timestamp_window_s: int = 300
    passive_reply_s: float = 4.0
    clock: Callable[[], float] = field(default=time.time)
    menu: Menu = field(default_factory=default_menu)

    @property
    def safe_mode(self) -> bool:
        """Whether messages and replies are encrypted."""
        return bool(self.aes_key)


def build_router(
    hub: Hub,
    *,
    config: WeChatConfig,
    deliver_later: DeliverLater,
    answered: Answered | None = None,
    nonces: NonceCheck | None = None,
) -> APIRouter:
    """The callback routes, delivering to `hub`; late replies go to `deliver_later`, passive
    ones are reported to `answered`; plaintext mode checks nonces with `nonces` (one
    process's memory by default)."""
    if not config.token:
        raise ValueError("the WeChat callback needs a token")
    crypto = (
        MessageCrypto(token=config.token, aes_key=config.aes_key, app_id=config.app_id)
        if config.safe_mode
        else None
    )
    if crypto is None:
        log.warning(
            "WeChat callback in plaintext mode: the signature does not cover the message body; "
            "set WECHAT_AES_KEY (the EncodingAESKey) and choose safe mode (安全模式) on the "
            "account for signed, encrypted messages"
        )
        # Twice the window: a timestamp may be that far off either way.
        nonces = nonces or MemoryNonces(keep_s=2 * config.timestamp_window_s, clock=config.clock)
    router = APIRouter(tags=["channels"])
    # Turns still running after their callback was answered; kept so they are not collected.
    pending: set[asyncio.Task[None]] = set()

    def verify(request: Request) -> tuple[str, str]:
        q = request.query_params
        timestamp, nonce = q.get("timestamp"), q.get("nonce")
        check_timestamp(timestamp, now=config.clock(), window_s=config.timestamp_window_s)
        check_signature(
            token=config.token, signature=q.get("signature"), timestamp=timestamp, nonce=nonce
        )
        assert timestamp is not None and nonce is not None  # checked above
        return timestamp, nonce

    @router.get("/channels/wechat", response_class=PlainTextResponse)
    async def url_check(request: Request) -> Response:
        """WeChat's server check: echo `echostr` when the signature is right."""
        try:
            verify(request)
        except Refused as refused:
            log.warning("wechat URL check refused: %s", refused.reason)
            return PlainTextResponse(refused.reason, status_code=refused.status_code)
        echostr = request.query_params.get("echostr")
        if not echostr:
            return PlainTextResponse("missing echostr", status_code=400)
        return PlainTextResponse(echostr)

    async def deliver(message: ChannelMessage, turn: asyncio.Task[list[ChannelMessage]]) -> None:
        try:
            replies = await turn
        except Exception:
            log.exception("wechat turn failed for %s after the passive window", message.sender_id)
            return
        if replies:
            try:
                await deliver_later(replies)
            except Exception:
                log.exception("wechat late delivery failed for %s", message.sender_id)

    @router.post("/channels/wechat")
    async def callback(request: Request) -> Response:
        """One message or event from WeChat; the reply is passive XML or `success`."""
        try:
            timestamp, nonce = verify(request)
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                raise Refused(413, "body too large")
            encrypted = request.query_params.get("encrypt_type", "raw").lower() == "aes"
            if crypto is not None:
                if not encrypted:
                    raise Refused(400, "safe mode: plaintext messages are refused")
                xml = crypto.decrypt(
                    body,
                    msg_signature=request.query_params.get("msg_signature"),
                    timestamp=timestamp,
                    nonce=nonce,
                )
            elif encrypted:
                raise Refused(400, "encrypted message but no WECHAT_AES_KEY configured")
            else:
                assert nonces is not None  # set for plaintext mode above
                if not await nonces(nonce, timestamp):
                    raise Refused(403, "nonce already used")
                xml = body.decode("utf-8")
            try:
                message = to_channel_message(parse(xml), menu=config.menu)
            except (Unreadable, UnicodeDecodeError) as exc:
                raise Refused(400, "not a WeChat message") from exc
        except Refused as refused:
            log.warning("wechat callback refused: %s", refused.reason)
            return PlainTextResponse(refused.reason, status_code=refused.status_code)
        except UnicodeDecodeError:
            return PlainTextResponse("body is not UTF-8", status_code=400)

        turn = asyncio.ensure_future(hub.receive(message))
        try:
            replies = await asyncio.wait_for(asyncio.shield(turn), timeout=config.passive_reply_s)
        except TimeoutError:
            # Too slow for a passive reply: answer now, send the replies when they are ready.
            task = asyncio.ensure_future(deliver(message, turn))
            pending.add(task)
            task.add_done_callback(pending.discard)
            return PlainTextResponse(SUCCESS)
        except Exception:
            log.exception("wechat turn failed for %s", message.sender_id)
            return PlainTextResponse(SUCCESS)
        try:
            body_out = passive_reply(message, replies)
        except Exception:
            # Never a 5xx: WeChat would retry and then tell the customer the account is broken.
            log.exception("wechat passive reply to %s could not be built", message.sender_id)
            if replies:
                try:
                    await deliver_later(replies)
                except Exception:
                    log.exception("wechat late delivery failed for %s", message.sender_id)
            return PlainTextResponse(SUCCESS)
        if answered is not None and replies:
            try:
                await answered(replies)
            except Exception:
                # Not recorded as answered: whoever holds the replies sends them later.
                log.exception("wechat passive reply to %s not recorded", message.sender_id)
                return PlainTextResponse(SUCCESS)
        return body_out if body_out is not None else PlainTextResponse(SUCCESS)

    def passive_reply(message: ChannelMessage, replies: list[ChannelMessage]) -> Response | None:
        """The turn's replies as the callback's response; None when there is nothing to say."""
        text = reply_text(replies)
        if not text:
            return None
        xml_reply = text_reply_xml(
            text=text,
            to_user=message.sender_id,
            from_user=message.extra.get("account", ""),
            now=config.clock(),
        )
        if crypto is not None:
            xml_reply = crypto.encrypt(
                xml_reply, nonce=secrets.token_hex(8), timestamp=str(int(config.clock()))
            )
        # Encoded here, so a reply that cannot be encoded fails inside the caller's try.
        return Response(xml_reply.encode("utf-8"), media_type="application/xml")

    return router
