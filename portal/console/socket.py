"""The console's WebSocket, `/console/ws`: live events for one agent, and their quick actions.

Authenticated by the staff session cookie (or a bearer token), for agents and admins only;
a socket from another site (its Origin not this host) is refused. While it is open the
agent is present; when the last one closes, their chats go back to the queue after the
grace period unless they reconnect.

Server -> client (JSON text frames):
- `{"type": "hello", "me": {...}, "queue": [...], "chats": [...], "live": [...],
  "agents": [...]?}` once on connect (`agents` for supervisors);
- `{"type": "queue", "items": [QueueItem]}` whenever the queue or its offers change;
- `{"type": "offer", "conversation": id}` a waiting conversation is offered to this agent;
- `{"type": "chats", "items": [ChatItem]}` this agent's chats changed;
- `{"type": "chat_closed", "conversation", "reason": "ended|transferred|requeued"}`;
- `{"type": "message", "conversation", "message": MessageRead}` in a chat of theirs
  (supervisors: every chat);
- `{"type": "note", "conversation", "note": NoteRead}`;
- `{"type": "typing", "conversation", "who": "customer", "on"}`;
- `{"type": "live", "item": LiveItem}` a bot conversation moved (for pick-up);
- `{"type": "agents", "items": [AgentStatus]}` and `{"type": "escalated", "conversation",
  "waited_s"}` for supervisors;
- `{"type": "sent", "client_id", "message"}` / `{"type": "error", "client_id", "code",
  "message_zh", "message_en"}` answering a client frame; `{"type": "pong"}`.

Client -> server: `{"type": "ping"}` (heartbeat, every 20 s), `{"type": "status", "status":
"online|away"}`, `{"type": "typing", "conversation", "on"}`, `{"type": "send",
"conversation", "text", "client_id"}`. Everything else goes through the JSON API.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, cast
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, WebSocket, status
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from portal.console.policies import CHAT
from portal.conversations import service
from portal.conversations.flows import ConversationHub
from portal.conversations.schemas import SendRequest
from portal.errors import PortalError
from portal.security import principal_from_request
from portal.tasks import stop_task

log = logging.getLogger(__name__)

router = APIRouter()
MAX_FRAME = 16 * 1024


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if not origin:
        return True  # not a browser
    return urlsplit(origin).netloc == websocket.headers.get("host", "")


def _agent_id(websocket: WebSocket) -> tuple[int, bool] | None:
    """The chatting staff member behind the socket and whether they supervise."""
    hub: ConversationHub = websocket.app.state.hub
    with hub.db.session() as session:
        principal = principal_from_request(cast(Request, websocket), session)
        if principal is None or principal.kind != "staff" or principal.user_id is None:
            return None
        if not CHAT.allows(principal):
            return None
        info = service.get_agent(
            session,
            user_id=principal.user_id,
            default_max=hub.settings.handoff_default_max_chats,
        )
        return info.user_id, info.supervisor


def _error(exc: PortalError, client_id: Any) -> dict[str, Any]:
    return {
        "type": "error",
        "client_id": client_id,
        "code": exc.key,
        "message_zh": exc.message_zh,
        "message_en": exc.message_en,
    }


async def _hello(hub: ConversationHub, agent_id: int, supervisor: bool) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": "hello",
        "me": {
            "user_id": agent_id,
            "supervisor": supervisor,
            "status": hub.presence.status(agent_id),
        },
        "queue": [i.model_dump(mode="json") for i in await hub.queue_items()],
        "chats": [i.model_dump(mode="json") for i in await hub.chat_items(agent_id)],
        "live": [i.model_dump(mode="json") for i in await hub.live_items()],
    }
    if supervisor:
        frame["agents"] = [i.model_dump(mode="json") for i in await hub.agent_statuses()]
    return frame


async def _handle(hub: ConversationHub, agent_id: int, raw: str) -> dict[str, Any] | None:
    """Answer one client frame (None when there is nothing to answer)."""
    if len(raw) > MAX_FRAME:
        return {"type": "error", "code": "too_large", "client_id": None}
    try:
        frame = json.loads(raw)
    except ValueError:
        return {"type": "error", "code": "bad_json", "client_id": None}
    if not isinstance(frame, dict):
        return {"type": "error", "code": "bad_json", "client_id": None}
    kind = frame.get("type")
    client_id = frame.get("client_id") if isinstance(frame.get("client_id"), str) else None
    try:
        if kind == "ping":
            return {"type": "pong"}
        if kind == "status" and frame.get("status") in ("online", "away"):
            await hub.set_status(agent_id, str(frame["status"]))
            return None
        if kind == "typing" and isinstance(frame.get("conversation"), str):
            await hub.do_agent_typing(
                public_id=frame["conversation"], agent_id=agent_id, on=frame.get("on") is True
            )
            return None
        if kind == "send" and isinstance(frame.get("conversation"), str):
            body = SendRequest.model_validate({"text": frame.get("text")})
            message = await hub.do_send(
                public_id=frame["conversation"], agent_id=agent_id, text=body.text
            )
            return {
                "type": "sent",
                "client_id": client_id,
                "message": message.model_dump(mode="json"),
            }
    except PortalError as exc:
        return _error(exc, client_id)
    except ValidationError:
        return {"type": "error", "code": "invalid", "client_id": client_id}
    return {"type": "error", "code": "bad_type", "client_id": client_id}


@router.websocket("/console/ws")
async def console_socket(websocket: WebSocket) -> None:
    """One console tab: a hello snapshot, then events as they happen."""
    hub: ConversationHub = websocket.app.state.hub
    who = await run_in_threadpool(_agent_id, websocket) if _same_origin(websocket) else None
    if who is None:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    agent_id, supervisor = who
    await websocket.accept()
    topics = ["agents", f"agent:{agent_id}"] + (["supervisors"] if supervisor else [])
    subscription = hub.broker.subscribe(topics)
    send_lock = asyncio.Lock()

    async def send(frame: dict[str, Any]) -> None:
        async with send_lock:
            await websocket.send_json(frame)

    async def forward() -> None:
        async for event in subscription:
            await send(event)

    await hub.agent_connected(agent_id)
    forwarder: asyncio.Task[None] | None = None
    try:
        await send(await _hello(hub, agent_id, supervisor))
        forwarder = asyncio.create_task(forward())
        while True:
            event = await websocket.receive()
            if event["type"] == "websocket.disconnect":
                break
            # Every frame (a heartbeat at least every 20 s) re-reads who is behind the socket:
            # an account disabled (or logged out everywhere) meanwhile is cut here.
            if await run_in_threadpool(_agent_id, websocket) is None:
                await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
                break
            hub.presence.seen(agent_id)
            raw = event.get("text")
            if raw is None:
                continue
            answer = await _handle(hub, agent_id, raw)
            if answer is not None:
                await send(answer)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        try:
            await stop_task(forwarder)
        finally:  # even when this handler is being cancelled: the agent is gone
            subscription.close()
            await hub.agent_disconnected(agent_id)
