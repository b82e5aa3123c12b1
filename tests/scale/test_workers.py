"""Two portal workers (two app instances) on one PostgreSQL database and one Redis: live
events reach the socket whichever worker holds it, a conversation's turns run one at a time
across workers in the order they were stored, and the widget's rate limits are shared."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.conversations.models import Conversation, Message
from portal.database import Database
from tests.conversations.support import (
    BOT,
    add_agent,
    next_frame,
    token,
    wait_for,
)
from tests.conversations.support import (
    TrackingRasa as SharedRasa,
)

VISITOR = "visitor_scale_0123456789abcdef"
WS = f"/channels/web/ws?site_key=demo&visitor_id={VISITOR}"


def test_widget_tabs_on_two_workers_see_the_same_chat(
    make_worker: Callable[..., TestClient],
) -> None:
    rasa = SharedRasa()
    a, b = make_worker(rasa.handler), make_worker(rasa.handler)
    with a.websocket_connect(WS) as tab_a, b.websocket_connect(WS) as tab_b:
        assert tab_a.receive_json()["type"] == "history"
        assert tab_b.receive_json()["type"] == "history"
        tab_a.send_json({"type": "message", "text": "洗衣机漏水", "client_id": "c1"})
        # The tab on the other worker sees the echo and the bot's replies, through Redis.
        echo = next_frame(tab_b, "message")
        assert (echo["direction"], echo["text"], echo["client_id"]) == ("in", "洗衣机漏水", "c1")
        reply = next_frame(tab_b, "message")
        assert (reply["direction"], reply["text"]) == ("out", "收到：洗衣机漏水")
        mine = next_frame(tab_a, "message")
        assert mine["text"] == "洗衣机漏水"


def test_agent_and_customer_on_different_workers(
    make_worker: Callable[..., TestClient], pg: Database
) -> None:
    rasa = SharedRasa()
    a, b = make_worker(rasa.handler), make_worker(rasa.handler)
    add_agent(pg, "scale1")
    headers = token(a, "scale1")
    with a.websocket_connect("/console/ws", headers=headers) as console:
        assert console.receive_json()["type"] == "hello"
        with b.websocket_connect(WS) as widget:
            widget.receive_json()
            widget.send_json({"type": "message", "text": "我要人工", "client_id": "h1"})
            next_frame(widget, "message")
            conversation = _public_id(pg)
            # The bot asks worker B to hand off; B routes to the agent whose console is on A
            # (B knows the agent is online only through the shared presence).
            handed = b.post(
                f"/api/v1/conversations/{conversation}/handoff",
                json={"reason": "request", "summary": "客户要求人工"},
                headers=BOT,
            )
            assert handed.status_code == 202, handed.text
            assert next_frame(console, "offer")["conversation"] == conversation
            accepted = a.post(
                f"/api/v1/console/conversations/{conversation}/accept", headers=headers
            )
            assert accepted.status_code == 204, accepted.text
            sent = a.post(
                f"/api/v1/console/conversations/{conversation}/messages",
                json={"text": "您好，我是坐席"},
                headers=headers,
            )
            assert sent.status_code == 201, sent.text
            # The agent wrote on A; the customer's socket is on B.
            _until(widget, lambda f: f.get("author") == "agent" and f["text"] == "您好，我是坐席")
            widget.send_json({"type": "message", "text": "好的谢谢", "client_id": "h2"})
            # The customer wrote on B; the agent's console is on A.
            _until(
                console,
                lambda f: f["type"] == "message" and f["message"]["text"] == "好的谢谢",
            )
    # With an agent, the customer's words go to the agent only, not to the bot.
    assert "好的谢谢" not in rasa.texts_from(conversation)


class OneAtATimeRasa:
    """A slow Rasa shared by both workers' transports: records how many turns overlap."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.heard: list[str] = []

    async def handler(self, request: httpx.Request) -> httpx.Response:
        import json

        body = json.loads(request.content)
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self.heard.append(body["message"])
        await asyncio.sleep(0.05)  # long enough for the other worker's turn to overlap
        with self.lock:
            self.in_flight -= 1
        return httpx.Response(200, json=[{"recipient_id": body["sender"], "text": "好"}])


def test_turns_of_one_conversation_run_one_at_a_time_across_workers(
    make_worker: Callable[..., TestClient], pg: Database
) -> None:
    rasa = OneAtATimeRasa()
    workers = [make_worker(rasa.handler), make_worker(rasa.handler)]
    texts = [f"第{n}条" for n in range(12)]

    def say(n: int) -> int:
        worker = workers[n % 2]
        return worker.post(
            "/channels/rest/webhook", json={"sender": "same-customer", "message": texts[n]}
        ).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        assert list(pool.map(say, range(12))) == [200] * 12
    assert rasa.most == 1
    with pg.session() as session:
        stored = session.scalars(
            select(Message.text)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.sender_id == "same-customer", Message.direction == "in")
            .order_by(Message.id)
        ).all()
    # Stored order (arrival at the lock) is the order Rasa heard them; nothing twice.
    assert sorted(stored) == sorted(texts)
    assert rasa.heard == list(stored)


def test_widget_rate_limit_counts_across_workers(
    make_worker: Callable[..., TestClient],
) -> None:
    rasa = SharedRasa()
    a = make_worker(rasa.handler, widget_rate_visitor_per_min=3)
    b = make_worker(rasa.handler, widget_rate_visitor_per_min=3)
    codes = []
    with a.websocket_connect(WS) as tab_a, b.websocket_connect(WS) as tab_b:
        tab_a.receive_json()
        tab_b.receive_json()
        for n, tab in enumerate([tab_a, tab_b, tab_a, tab_b]):
            tab.send_json({"type": "message", "text": f"消息{n}", "client_id": f"r{n}"})
            frame = _until(tab, lambda f, n=n: f.get("client_id") == f"r{n}")
            codes.append(frame.get("code") or frame["direction"])
    # Three per minute for the visitor in all, not three on each worker.
    assert codes == ["in", "in", "in", "rate_limited"]
    # Besides the greeting the widget got when it was opened (/session_start, once).
    said = [m["message"] for m in rasa.received]
    assert said.count("/session_start") == 1 and len(said) == 4


def _public_id(db: Database) -> str:
    with db.session() as session:
        found = session.scalars(
            select(Conversation.public_id).where(
                Conversation.channel == "web", Conversation.sender_id == VISITOR
            )
        ).one()
    return found


def _until(ws: Any, match: Callable[[dict[str, Any]], bool], limit: int = 60) -> dict[str, Any]:
    for _ in range(limit):
        frame = dict(ws.receive_json())
        if match(frame):
            return frame
    raise AssertionError("expected frame never came")


def test_a_worker_without_the_agents_socket_does_not_requeue_their_chat(
    make_worker: Callable[..., TestClient], pg: Database
) -> None:
    rasa = SharedRasa()
    a = make_worker(rasa.handler, handoff_grace_s=0.3)
    b = make_worker(rasa.handler, handoff_grace_s=0.3)
    # The router (the worker whose queue clock requeues) never holds the agents' consoles;
    # with presence per worker it would give their chats back once the grace period is over.
    wait_for(lambda: _routes(a) or _routes(b), what="a worker to take the router lease")
    router, other = (a, b) if _routes(a) else (b, a)
    add_agent(pg, "scale2")
    add_agent(pg, "scale3")
    headers, leaving = token(other, "scale2"), token(other, "scale3")
    with other.websocket_connect("/console/ws", headers=headers) as console:
        console.receive_json()
        conversation = _handed_off(router, pg, "stay")
        accepted = other.post(
            f"/api/v1/console/conversations/{conversation}/accept", headers=headers
        )
        assert accepted.status_code == 204, accepted.text
        # The barrier: another agent, on the same worker, closes their console after that
        # accept and stays away; once the router's clock has given their chat back (grace
        # periods after the first chat was accepted), the first chat is still the agent's.
        with other.websocket_connect("/console/ws", headers=leaving) as gone:
            gone.receive_json()
            lost = _handed_off(router, pg, "leave")
            taken = other.post(f"/api/v1/console/conversations/{lost}/accept", headers=leaving)
            assert taken.status_code == 204, taken.text
        wait_for(lambda: _state(pg, lost) == "waiting", what="the requeue of the closed console")
        assert _state(pg, conversation) == "agent"


def _routes(worker: TestClient) -> bool:
    router = worker.app.state.hub.router  # type: ignore[attr-defined]
    assert router is not None, "a worker with REDIS_URL has a router lease"
    return bool(router.held)


def _handed_off(worker: TestClient, db: Database, sender: str) -> str:
    """A REST customer's chat, handed to the agents by the bot on `worker`."""
    worker.post("/channels/rest/webhook", json={"sender": sender, "message": "你好"})
    with db.session() as session:
        conversation = session.scalars(
            select(Conversation.public_id).where(Conversation.sender_id == sender)
        ).one()
    handed = worker.post(
        f"/api/v1/conversations/{conversation}/handoff",
        json={"reason": "request", "summary": "客户要求人工"},
        headers=BOT,
    )
    assert handed.status_code == 202, handed.text
    return conversation


def _state(db: Database, conversation: str) -> str:
    with db.session() as session:
        return str(
            session.scalars(
                select(Conversation.state).where(Conversation.public_id == conversation)
            ).one()
        )
