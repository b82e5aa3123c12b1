"""Website chat widget channel: a WebSocket plus a catch-up route, translated to ChannelMessage.

Wire protocol (JSON text frames, see `channels.web.wire`):

- connect  `/channels/web/ws?site_key=KEY&visitor_id=ID&lang=LANG`; an unknown site key or a
  malformed visitor id is closed with 1008 (policy violation) before the socket is accepted.
  `lang` is the host page's language, "zh" or "en"; any other value is ignored (as if none
  was given). It goes to the hub with the greeting (`lang=`) and with every message of the
  socket (`extra["lang"]`), so a chat opened on an English page is greeted in English.
- server -> `{"type": "history", "messages": [message, ...]}` once, right after connecting.
  Before it, a hub with `greet(channel=, sender_id=)` is told the chat is open (`lang=` too
  when the page gave one): on first contact it stores the bot's greeting, so the history
  starts with it.
- client -> `{"type": "message", "text": "...", "payload": "..."?, "client_id": "..."?}`.
- server -> `{"type": "typing", "on": true}`, then the stored inbound message echoed back
  (`direction: "in"`, with the client's `client_id`, so other tabs of the visitor see it),
  then every reply `{"type": "message", "id", "direction": "out", "author", "text", "html",
  "buttons": [{"title", "payload"}], "image_url", "created_at"}`, then `typing` off.
  All of these go to every open socket of that visitor. `html` is the safe HTML of a bot or
  system message's Markdown (`knowledge_base.render`), null for what a customer or an agent
  typed: the widget shows that `text` as text.
- client -> `{"type": "typing", "on": true|false}` while the visitor types (the widget sends
  `on` at most every few seconds and `off` when they pause or send). Handed to the hub's
  `customer_typing(channel=, sender_id=, on=)` when the hub has one (the portal's shows it
  to the agent who owns the chat); nothing is answered. Over `typing_rate_per_min` a
  visitor's typing frames are dropped silently: they are a hint, not a message.
- server -> `{"type": "error", "code", "client_id", "message_zh", "message_en"}` for a refused
  frame (not JSON, empty text, over 2,000 characters), a message over the rate limits (code
  `rate_limited`: per visitor, and per site key, in messages a minute) or a turn the hub
  failed; the socket stays open and a rate-limited message never reaches the hub.
  `{"type": "ping"}` is answered `{"type": "pong"}` (keeps proxies from closing an idle
  socket).

Quick replies: a clicked button arrives as `text` = its title and `payload` = its payload.
The adapter hands the hub `ChannelMessage(text=title, extra={"payload": payload})`; the hub
stores and shows the title and sends `extra["payload"]` to the bot when it is present.
`extra["site_key"]` carries the site key the widget was embedded with; `message_id` is the
widget's `client_id`, so a hub can drop a retried frame.

The adapter decides nothing: the hub it is given stores, runs the turn and answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, WebSocket, status
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketDisconnect

from channels.base import Hub
from channels.web.limits import LimitFactory, LocalLimit, RateLimiter
from channels.web.sockets import VisitorSockets
from channels.web.wire import (
    CHANNEL,
    PONG,
    SITE_KEY,
    VISITOR_ID,
    FrameError,
    Typing,
    error_frame,
    history_frame,
    parse_frame,
    to_wire,
    typing_frame,
    valid_visitor_id,
)

log = logging.getLogger(__name__)

# The page languages a widget may announce; the bot answers in one of these.
PAGE_LANGUAGES = frozenset({"zh", "en"})


def build_router(
    hub: Hub,
    *,
    site_keys: frozenset[str] | None = None,
    sockets: VisitorSockets | None = None,
    visitor_rate_per_min: int = 0,
    site_rate_per_min: int = 0,
    typing_rate_per_min: int = 60,
    clock: Callable[[], float] = time.monotonic,
    limits: LimitFactory | None = None,
) -> APIRouter:
    """The widget's routes, delivering to `hub`; pass `sockets` to push agent messages later.

    `visitor_rate_per_min` and `site_rate_per_min` cap the messages one visitor, and all
    visitors of one site key, may send a minute (0: no cap); `typing_rate_per_min` caps the
    typing frames one visitor may send.
    """
    registry = sockets if sockets is not None else VisitorSockets()
    # `limits` (the portal's, with several workers) makes both budgets shared by all workers.
    make_limit = limits or (lambda _name, per_min: LocalLimit(per_min, clock=clock))
    per_visitor = make_limit("visitor", visitor_rate_per_min)
    per_site = make_limit("site", site_rate_per_min)
    typing_limit = RateLimiter(typing_rate_per_min, clock=clock)
    # Optional: a hub without it (a bare bot bridge) just never shows customer typing.
    customer_typing: Callable[..., Awaitable[None]] | None = getattr(hub, "customer_typing", None)
    # Optional too: a hub without it leaves a new visitor to speak first.
    greet: Callable[..., Awaitable[object]] | None = getattr(hub, "greet", None)

    async def report_typing(visitor_id: str, on: bool) -> None:
        if customer_typing is None or not typing_limit.allow(visitor_id):
            return
        try:
            await customer_typing(channel=CHANNEL, sender_id=visitor_id, on=on)
        except Exception:  # a lost typing hint must never break the chat
            log.warning("hub failed on a typing frame from %s", visitor_id, exc_info=True)

    router = APIRouter(tags=["channels"])

    def site_allowed(site_key: str | None) -> bool:
        if site_key is not None and SITE_KEY.fullmatch(site_key) is None:
            return False
        return site_keys is None or (site_key is not None and site_key in site_keys)

    async def run_turn(
        socket: WebSocket, visitor_id: str, site_key: str | None, lang: str | None, raw: Any
    ) -> None:
        try:
            message = parse_frame(raw, sender_id=visitor_id, site_key=site_key)
        except FrameError as refused:
            await registry.send(socket, error_frame(refused.code))
            return
        if message is None:
            await registry.send(socket, PONG)
            return
        if isinstance(message, Typing):
            await report_typing(visitor_id, message.on)
            return
        if lang is not None:
            message = replace(message, extra={**message.extra, "lang": lang})
        # The visitor's own bucket first, so one noisy visitor cannot drain the site's.
        if not await per_visitor.take(visitor_id) or not await per_site.take(site_key or ""):
            await registry.send(socket, error_frame("rate_limited", client_id=message.message_id))
            return
        await registry.broadcast(visitor_id, typing_frame(True))
        try:
            replies = await hub.receive(message)
        except Exception:
            log.exception("hub failed on a widget message from %s", visitor_id)
            await registry.broadcast(visitor_id, typing_frame(False))
            await registry.send(socket, error_frame("hub_failed", client_id=message.message_id))
            return
        # The hub returns only the replies; the echo gets a time so other tabs can order it.
        await registry.push(visitor_id, replace(message, created_at=datetime.now(UTC)))
        for reply in replies:
            await registry.push(visitor_id, reply)
        await registry.broadcast(visitor_id, typing_frame(False))

    @router.websocket("/channels/web/ws")
    async def widget_socket(websocket: WebSocket) -> None:
        """One widget tab: history on connect, then one bot turn per message frame."""
        site_key = websocket.query_params.get("site_key")
        visitor_id = websocket.query_params.get("visitor_id")
        # Only a language the bot speaks: anything else is as if the page said nothing.
        lang = websocket.query_params.get("lang")
        if lang not in PAGE_LANGUAGES:
            lang = None
        if not site_allowed(site_key) or visitor_id is None or not valid_visitor_id(visitor_id):
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
            return
        await websocket.accept()
        registry.add(visitor_id, websocket)
        try:
            if greet is not None:
                try:
                    # `lang` only when given: a hub without a use for it need not take it.
                    page = {"lang": lang} if lang is not None else {}
                    await greet(channel=CHANNEL, sender_id=visitor_id, **page)
                except Exception:  # no greeting is no reason to refuse the chat
                    log.exception("hub greeting failed for widget visitor %s", visitor_id)
            try:
                past = await hub.history(channel=CHANNEL, sender_id=visitor_id)
            except Exception:
                log.exception("hub history failed for widget visitor %s", visitor_id)
                # 1011 makes the widget back off and retry rather than show a broken chat.
                await websocket.close(code=status.WS_1011_INTERNAL_ERROR)
                return
            await registry.send(websocket, history_frame(past))
            while True:
                event = await websocket.receive()
                if event["type"] == "websocket.disconnect":
                    break
                raw = event.get("text", event.get("bytes"))
                await run_turn(websocket, visitor_id, site_key, lang, raw)
        except WebSocketDisconnect:
            pass
        finally:
            registry.discard(visitor_id, websocket)

    @router.get("/channels/web/history")
    async def widget_history(
        visitor_id: Annotated[str, Query(pattern=VISITOR_ID.pattern)],
        site_key: Annotated[str | None, Query()] = None,
        # Message ids are INTEGER columns: past 2**31-1 is a 422, never an overflow (500).
        after_id: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    ) -> JSONResponse:
        """Messages of a widget visitor's conversation after `after_id`, oldest first."""
        if not site_allowed(site_key):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "unknown site key")
        past = await hub.history(channel=CHANNEL, sender_id=visitor_id, after_id=after_id)
        # Read from the host page's origin; the visitor id, not a cookie, is the credential.
        headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
        return JSONResponse({"messages": [to_wire(m) for m in past]}, headers=headers)

    return router
