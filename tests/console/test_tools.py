"""Console tools: a ticket from the conversation (structured template, linked), the
customer sidebar, knowledge-base search only when a knowledge base is loaded."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient

from portal.database import Database
from tests.conversations.support import (
    add_agent,
    detail,
    go_online,
    hand_off,
    open_chat,
    token,
)


def test_ticket_from_the_conversation(hc: TestClient, db: Database) -> None:
    add_agent(db, "desk")
    headers = token(hc, "desk")
    go_online(hc, headers)
    conversation = open_chat(hc, db, "buyer")
    hand_off(hc, conversation)
    hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=headers)
    url = f"/api/v1/console/conversations/{conversation}/tickets"

    incomplete = hc.post(url, json={"type": "repair", "phone": "13812345678"}, headers=headers)
    assert incomplete.status_code == 422
    assert incomplete.json()["errors"][0]["field"] == "product"

    made = hc.post(
        url,
        json={
            "type": "repair",
            "product": "洗衣机",
            "fault_description": "滚筒不转，显示E21",
            "phone": "13812345678",
            "customer_name": "张女士",
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    ticket = hc.get(f"/api/v1/tickets/{number}", headers=headers).json()
    assert ticket["conversation_id"] == conversation and ticket["channel"] == "rest"
    assert ticket["status"] == "new" and ticket["product"] == "洗衣机"

    shown = detail(hc, headers, conversation)
    assert shown["customer_name"] == "张女士"
    assert shown["notes"][-1]["kind"] == "ticket" and number in shown["notes"][-1]["body"]
    assert shown["events"][-1] == {**shown["events"][-1], "kind": "ticket"}

    side = hc.get(f"/api/v1/console/conversations/{conversation}/customer", headers=headers)
    assert side.status_code == 200
    body = side.json()
    assert body["customer"]["phone"] == "13812345678"
    assert [t["number"] for t in body["open_tickets"]] == [number]
    assert body["open_tickets"][0]["status_label"] == "待受理"
    assert body["past_tickets"] == []


def test_sidebar_of_an_unknown_customer_lists_other_conversations(
    hc: TestClient, db: Database
) -> None:
    add_agent(db, "desk")
    headers = token(hc, "desk")
    conversation = open_chat(hc, db, "anon")
    side = hc.get(f"/api/v1/console/conversations/{conversation}/customer", headers=headers)
    assert side.json() == {
        "customer": None,
        "assets": [],
        "open_tickets": [],
        "past_tickets": [],
        "conversations": [],
    }


@dataclass
class _Hit:
    id: str
    question: str
    answer: str
    score: float


class _Kb:
    def __init__(self) -> None:
        self.queries: list[tuple[str, int]] = []

    def search(self, query: str, k: int = 5) -> list[_Hit]:
        self.queries.append((query, k))
        return [
            _Hit("wm-e21", "洗衣机显示E21怎么办", "E21表示排水超时，请清理排水泵过滤器。", 0.91)
        ]

    def stop_watching(self) -> None:
        """Called at shutdown; this stand-in watches no files."""


def test_knowledge_base_tool_only_when_loaded(hc: TestClient, db: Database) -> None:
    add_agent(db, "desk")
    headers = token(hc, "desk")
    absent = hc.get("/api/v1/console/kb", params={"q": "E21"}, headers=headers)
    assert absent.json() == {"available": False, "items": []}
    kb = _Kb()
    hc.app.state.kb = kb  # type: ignore[attr-defined]
    assert hc.get("/api/v1/console/me", headers=headers).json()["kb_available"] is True
    found = hc.get("/api/v1/console/kb", params={"q": "E21", "k": 3}, headers=headers).json()
    assert found["available"] is True
    assert found["items"][0]["answer"].startswith("E21表示排水超时")
    assert kb.queries == [("E21", 3)]


def test_console_api_is_for_chatting_staff(hc: TestClient, db: Database) -> None:
    add_agent(db, "eng", role="engineer")
    assert hc.get("/api/v1/console/queue").status_code == 401
    assert hc.get("/api/v1/console/queue", headers=token(hc, "eng")).status_code == 403
