"""The consults' WebSocket, `/consults/ws`: "consult N changed" frames for the experts' desk
(every consult) and for an engineer's phone (the consults of their jobs).

Authenticated like the console's (the staff session cookie or a bearer token; a socket from
another site is refused). Server -> client: `{"type": "hello"}` once, then
`{"type": "consult", "id": N}` whenever a consult the reader follows changed; the page then
fetches what it may see over HTTP. Client -> server: `{"type": "ping"}` -> `{"type": "pong"}`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, WebSocket, status
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from portal.consults import flows
from portal.consults.policies import DESK, FIELD
from portal.database import Database
from portal.security import principal_from_request

router = APIRouter()
MAX_FRAME = 1024  # a client only pings


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if not origin:
        return True  # not a browser
    return urlsplit(origin).netloc == websocket.headers.get("host", "")


def topics_of(websocket: WebSocket) -> list[str] | None:
    """What the caller follows: the desk's topic, their own jobs' one, or nothing (None)."""
    db: Database = websocket.app.state.db
    with db.session() as session:
        principal = principal_from_request(cast(Request, websocket), session)
    if principal is None or principal.kind != "staff":
        return None
    if DESK.allows(principal):
        return [flows.DESK_TOPIC]
    if FIELD.allows(principal) and principal.engineer_id is not None:
        return [flows.engineer_topic(principal.engineer_id)]
    return None


@router.websocket("/consults/ws")
async def consults_socket(websocket: WebSocket) -> None:
    """One desk or phone tab: a hello, then a frame whenever a followed consult changes."""
    topics = await run_in_threadpool(topics_of, websocket) if _same_origin(websocket) else None
    if topics is None:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await websocket.accept()
    subscription = websocket.app.state.hub.broker.subscribe(topics)
    lock = asyncio.Lock()

    async def send(frame: dict[str, Any]) -> None:
        async with lock:
            await websocket.send_json(frame)

    async def forward() -> None:
        async for event in subscription:
            await send(event)

    forwarder: asyncio.Task[None] | None = None
    try:
        await send({"type": "hello"})
        forwarder = asyncio.create_task(forward())
        while True:
            event = await websocket.receive()
            if event["type"] == "websocket.disconnect":
                break
            raw = event.get("text") or ""
            if len(raw) > MAX_FRAME:
                continue
            try:
                frame = json.loads(raw)
            except ValueError:
                continue
            if isinstance(frame, dict) and frame.get("type") == "ping":
                await send({"type": "pong"})
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        # Nothing awaited here: a test client (or a server shutting down) may cancel this
        # handler while it cleans up, and the forwarder only waits on the queue.
        subscription.close()
        if forwarder is not None:
            forwarder.cancel()
