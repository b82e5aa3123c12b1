"""The ticket API: creation, validation in two languages, idempotency, access."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.database import Database
from portal.tickets.models import Ticket, TicketEvent

BODY = {
    "product": "洗衣机",
    "fault_description": "滚筒不转了",
    "phone": "13800138000",
    "channel": "web",
    "conversation_id": "abc123",
}


def _count(db: Database, model: type) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_bot_files_a_ticket(client: TestClient, bot_headers: dict[str, str], db: Database) -> None:
    response = client.post("/api/v1/tickets", json=BODY, headers=bot_headers)
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert re.fullmatch(r"SR\d{8}-\d{4}", ticket["number"])
    assert ticket["status"] == "new" and ticket["status_label"] == "待受理"
    assert ticket["events"][0]["action"] == "create"
    assert ticket["events"][0]["actor"] == "service:bot"
    assert _count(db, TicketEvent) == 1


def test_numbers_increase_within_the_day(client: TestClient, bot_headers: dict[str, str]) -> None:
    numbers = [
        client.post("/api/v1/tickets", json=BODY, headers=bot_headers).json()["number"]
        for _ in range(3)
    ]
    suffixes = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert suffixes == [suffixes[0], suffixes[0] + 1, suffixes[0] + 2]
    assert len({n.split("-")[0] for n in numbers}) == 1


def test_missing_phone_names_the_field_in_both_languages(
    client: TestClient, bot_headers: dict[str, str], db: Database
) -> None:
    body = {k: v for k, v in BODY.items() if k != "phone"}
    response = client.post("/api/v1/tickets", json=body, headers=bot_headers)
    assert response.status_code == 422
    data = response.json()
    (error,) = data["errors"]
    assert error["field"] == "phone"
    assert "手机号" in error["message_zh"]
    assert "phone" in error["message_en"]
    assert "手机号" in data["message"] and "phone" in data["message"]
    assert _count(db, Ticket) == 0


def test_invalid_phone_names_the_field_in_both_languages(
    client: TestClient, bot_headers: dict[str, str], db: Database
) -> None:
    response = client.post("/api/v1/tickets", json={**BODY, "phone": "12345"}, headers=bot_headers)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "phone"
    assert error["type"] == "phone_invalid"
    assert "格式不正确" in error["message_zh"]
    assert "not a valid phone number" in error["message_en"]
    assert _count(db, Ticket) == 0


def test_phone_is_normalised(client: TestClient, bot_headers: dict[str, str], db: Database) -> None:
    response = client.post(
        "/api/v1/tickets", json={**BODY, "phone": "+86 138-0013-8000"}, headers=bot_headers
    )
    assert response.status_code == 201
    # The bot's account is shown numbers masked (portal.privacy.masking); the stored one is
    # the normalised number.
    assert response.json()["phone"] == "138****8000"
    with db.session() as session:
        assert session.scalars(select(Ticket.phone)).one() == "13800138000"


def test_same_key_same_body_returns_the_same_ticket(
    client: TestClient, bot_headers: dict[str, str], db: Database
) -> None:
    headers = {**bot_headers, "Idempotency-Key": "rasa:abc123:1"}
    first = client.post("/api/v1/tickets", json=BODY, headers=headers)
    second = client.post("/api/v1/tickets", json=BODY, headers=headers)
    assert first.status_code == 201
    assert second.status_code == 200
    assert first.json()["number"] == second.json()["number"]
    assert _count(db, Ticket) == 1
    assert _count(db, TicketEvent) == 1


def test_same_key_other_body_is_a_conflict(
    client: TestClient, bot_headers: dict[str, str], db: Database
) -> None:
    headers = {**bot_headers, "Idempotency-Key": "rasa:abc123:2"}
    assert client.post("/api/v1/tickets", json=BODY, headers=headers).status_code == 201
    response = client.post(
        "/api/v1/tickets", json={**BODY, "fault_description": "漏水"}, headers=headers
    )
    assert response.status_code == 409
    assert "幂等" in response.json()["message_zh"]
    assert _count(db, Ticket) == 1


def test_different_keys_make_different_tickets(
    client: TestClient, bot_headers: dict[str, str], db: Database
) -> None:
    for key in ("k1", "k2"):
        response = client.post(
            "/api/v1/tickets", json=BODY, headers={**bot_headers, "Idempotency-Key": key}
        )
        assert response.status_code == 201
    assert _count(db, Ticket) == 2


def test_anonymous_callers_are_refused(client: TestClient, db: Database) -> None:
    assert client.post("/api/v1/tickets", json=BODY).status_code == 401
    bad = {"Authorization": "Bearer not-the-token"}
    assert client.post("/api/v1/tickets", json=BODY, headers=bad).status_code == 401
    assert client.get("/api/v1/tickets").status_code == 401
    assert _count(db, Ticket) == 0


def test_staff_token_lists_and_reads_tickets(
    client: TestClient, bot_headers: dict[str, str], staff: dict[str, str]
) -> None:
    number = client.post("/api/v1/tickets", json=BODY, headers=bot_headers).json()["number"]
    token = client.post("/api/v1/auth/token", data=staff).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    page = client.get("/api/v1/tickets", headers=headers).json()
    assert page["total"] == 1 and page["items"][0]["number"] == number
    detail = client.get(f"/api/v1/tickets/{number}", headers=headers)
    assert detail.status_code == 200 and detail.json()["events"][0]["to_status"] == "new"
    assert client.get("/api/v1/tickets/SR19990101-0001", headers=headers).status_code == 404


def test_wrong_password_gets_no_token(client: TestClient, staff: dict[str, str]) -> None:
    response = client.post("/api/v1/auth/token", data={"username": "agent1", "password": "nope"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.json()["message_zh"]
