"""A ticket's whole life through the API, each step by the role that owns it, and the rules
around it: wrong moves, wrong roles, cancel, reject, reopen, escalate, stages, timeline,
comments, attachments, the audit log, login throttling and idempotency keys."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.accounts.models import LoginAttempt, User
from portal.audit.service import ACTOR_KEY
from portal.config import Settings
from portal.customers.models import Customer
from portal.database import Database, utcnow
from portal.main import create_app
from portal.networks.models import Engineer
from portal.security import hash_password, issue_customer_token
from portal.tickets.models import Ticket, TicketAttachment, TicketEvent
from tests.app_fixtures import FakeRasa
from tests.portal import factories as f

INTAKE = {
    "type": "repair",
    "product": "洗衣机",
    "fault_description": "滚筒不转了",
    "phone": "13800138000",
    "channel": "web",
}


@dataclass
class Crew:
    """One caller per role, and the engineer's records."""

    headers: dict[str, dict[str, str]]
    engineer_id: int
    network_id: int
    usernames: dict[str, str]
    user_ids: dict[str, int]


@pytest.fixture
def crew(db: Database, settings: Settings, client: TestClient) -> Crew:
    """Desk, dispatch, field, finance and admin staff, logged in through /auth/token."""
    with db.session() as s:
        net = f.network(s)
        eng = f.engineer(s, network=net)
        users = {role: f.user(s, role=role) for role in ("agent", "dispatcher", "finance", "admin")}
        users["engineer"] = s.get_one(User, eng.user_id)
        usernames = {role: u.username for role, u in users.items()}
        user_ids = {role: u.id for role, u in users.items()}
        engineer_id, network_id = eng.id, net.id
    headers = {role: _login(client, name) for role, name in usernames.items()}
    headers["bot"] = f.bearer(settings, "bot")
    return Crew(headers, engineer_id, network_id, usernames, user_ids)


def _login(client: TestClient, username: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/token", data={"username": username, "password": f.PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _customer_headers(settings: Settings, ticket: dict[str, Any]) -> dict[str, str]:
    # The customer proved their phone elsewhere (test_customer_auth); here we mint the token.
    return {"Authorization": f"Bearer {issue_customer_token(settings, ticket['customer_id'])}"}


def _act(
    client: TestClient, number: str, headers: dict[str, str], action: str, **extra: Any
) -> httpx.Response:
    return client.post(
        f"/api/v1/tickets/{number}/transitions", json={"action": action, **extra}, headers=headers
    )


def _events(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(TicketEvent)) or 0


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# ---------------------------------------------------------------- the whole life


def test_a_ticket_from_intake_to_closing(
    client: TestClient, crew: Crew, settings: Settings
) -> None:
    h = crew.headers
    created = client.post("/api/v1/tickets", json=INTAKE, headers=h["bot"])
    assert created.status_code == 201, created.text
    ticket = created.json()
    number = ticket["number"]
    customer = _customer_headers(settings, ticket)

    # The desk cannot accept before the intake template is complete; each gap is named.
    for missing, zh, en, patch in (
        ("address", "地址", "address", {"address": "上海市浦东新区世纪大道100号"}),
        ("preferred_time", "上门时间", "visit time", {"preferred_time": "2026-12-08 13:00-18:00"}),
    ):
        refused = _act(client, number, h["agent"], "accept")
        assert refused.status_code == 422, refused.text
        body = refused.json()
        assert [e["field"] for e in body["errors"]] == [missing]
        assert zh in body["message_zh"] and en in body["message_en"]
        assert client.get(f"/api/v1/tickets/{number}", headers=h["agent"]).json()["status"] == "new"
        patched = client.patch(f"/api/v1/tickets/{number}", json=patch, headers=h["agent"])
        assert patched.status_code == 200, patched.text

    steps = [
        ("agent", "accept", {}, "accepted"),
        ("dispatcher", "dispatch", {"engineer_id": crew.engineer_id}, "dispatched"),
        ("engineer", "engineer_accept", {}, "engineer_accepted"),
        ("engineer", "depart", {}, "departed"),
        ("engineer", "arrive", {}, "arrived"),
        ("engineer", "complete", {}, "completed"),
        # No desk step for the revisit: completion asks for it by itself (portal.complaints).
        ("customer", "evaluate", {"score": 5, "comment": "师傅很专业"}, "evaluated"),
        ("finance", "request_settlement", {}, "pending_settlement"),
        ("finance", "settle", {}, "settled"),
        ("finance", "close", {}, "closed"),
    ]
    for role, action, extra, status in steps:
        headers = customer if role == "customer" else h[role]
        before = client.get(f"/api/v1/tickets/{number}", headers=headers).json()
        assert action in before["allowed_actions"], (role, action, before["allowed_actions"])
        response = _act(client, number, headers, action, **extra)
        assert response.status_code == 200, (action, response.text)
        assert response.json()["status"] == status

    final = client.get(f"/api/v1/tickets/{number}", headers=h["admin"]).json()
    assert final["network_id"] == crew.network_id and final["engineer_id"] == crew.engineer_id
    assert final["address"] == "上海市浦东新区世纪大道100号"
    assert final["details"]["preferred_time"] == "2026-12-08 13:00-18:00"
    assert final["allowed_actions"] == []
    events = final["events"]
    expected = ["create"] + [s[1] for s in steps]
    expected.insert(expected.index("complete") + 1, "request_evaluation")
    assert [e["action"] for e in events] == expected
    revisit = next(e for e in events if e["action"] == "request_evaluation")
    assert revisit["actor"] == "system" and revisit["payload"] == {"revisit": "auto"}
    evaluation = next(e for e in events if e["action"] == "evaluate")
    assert evaluation["payload"]["score"] == 5
    assert evaluation["actor"] == f"customer:{ticket['customer_id']}"

    # t1–t9 are the gaps between the events that open and close each stage.
    stages = client.get(f"/api/v1/tickets/{number}/stages", headers=h["dispatcher"]).json()
    at = {e["action"]: _ts(e["created_at"]) for e in events}
    bounds = [
        ("create", "accept"),
        ("accept", "engineer_accept"),
        ("engineer_accept", "depart"),
        ("depart", "arrive"),
        ("arrive", "complete"),
        ("complete", "request_evaluation"),
        ("request_evaluation", "evaluate"),
        ("evaluate", "request_settlement"),
        ("request_settlement", "settle"),
    ]
    assert list(stages) == [f"t{i}" for i in range(1, 10)]
    for i, (start, end) in enumerate(bounds, 1):
        assert stages[f"t{i}"] == pytest.approx((at[end] - at[start]).total_seconds(), abs=1e-3)
        assert stages[f"t{i}"] >= 0

    # The customer's timeline tells their story, without the back-office steps.
    timeline = client.get(f"/api/v1/tickets/{number}/timeline", headers=customer).json()
    assert [e["text"] for e in timeline] == [
        "创建工单",
        "受理",
        "派单",
        "接单",
        "出发",
        "到场",
        "完工",
        "发起回访评价",
        "评价",
    ]
    assert timeline[-1]["status"] == "evaluated" and timeline[-1]["status_label"] == "已评价"


# ---------------------------------------------------------------- refusals

ARRIVED = ("accept", "dispatch", "engineer_accept", "depart", "arrive")


@pytest.fixture
def made(db: Database, crew: Crew) -> Iterator[Any]:
    """Make a factory ticket (dispatched ones go to the crew's engineer); returns its number."""

    def make(*actions: str, at: datetime | None = None) -> str:
        with db.session() as s:
            customer = f.customer(s, with_asset=False)
            eng = s.get_one(Engineer, crew.engineer_id)
            return f.ticket(s, customer=customer, actions=actions, engineer=eng, at=at).number

    yield make


def _customer_of(db: Database, settings: Settings, number: str) -> dict[str, str]:
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        return f.bearer(settings, s.get_one(Customer, ticket.customer_id))


@pytest.mark.parametrize(
    ("history", "action", "zh", "en"),
    [
        ((), "depart", "待受理", "New"),
        (("accept",), "complete", "已受理", "Accepted"),
        (ARRIVED, "cancel", "已到场", "on site"),
        ((*ARRIVED, "complete"), "settle", "已完工", "Completed"),
    ],
)  # fmt: skip
def test_a_wrong_move_is_409_naming_the_status(
    history: tuple[str, ...],
    action: str,
    zh: str,
    en: str,
    client: TestClient,
    db: Database,
    crew: Crew,
    made: Any,
) -> None:
    number = made(*history)
    events = _events(db)
    response = _act(client, number, crew.headers["admin"], action)
    assert response.status_code == 409, response.text
    body = response.json()
    assert f"「{zh}」" in body["message_zh"] and en in body["message_en"]
    assert body["message"] == f"{body['message_zh']} / {body['message_en']}"
    assert _events(db) == events


@pytest.mark.parametrize(
    ("history", "role", "action", "extra", "expected"),
    [
        ((), "finance", "accept", {}, 403),
        # The crew's engineer, on a ticket that is not (yet) theirs: it does not exist for them.
        ((), "engineer", "cancel", {}, 404),
        (("accept",), "agent", "dispatch", {"engineer_id": "ENGINEER"}, 403),
        (("accept",), "finance", "escalate", {}, 403),
        (("accept", "dispatch"), "dispatcher", "engineer_accept", {}, 403),
        (ARRIVED, "customer", "complete", {}, 403),
        ((*ARRIVED, "complete"), "engineer", "evaluate", {"score": 5}, 403),
        ((*ARRIVED, "complete", "evaluate"), "agent", "request_settlement", {}, 403),
        ((*ARRIVED, "complete", "evaluate"), "engineer", "request_settlement", {}, 403),
    ],
)
def test_a_wrong_role_is_refused(
    history: tuple[str, ...],
    role: str,
    action: str,
    extra: dict[str, Any],
    expected: int,
    client: TestClient,
    db: Database,
    settings: Settings,
    crew: Crew,
    made: Any,
) -> None:
    number = made(*history)
    headers = _customer_of(db, settings, number) if role == "customer" else crew.headers[role]
    extra = {k: crew.engineer_id if v == "ENGINEER" else v for k, v in extra.items()}
    events = _events(db)
    response = _act(client, number, headers, action, **extra)
    assert response.status_code == expected, response.text
    if expected == 403:
        assert response.json()["message_zh"] == "没有权限执行此操作"
    assert _events(db) == events


@pytest.mark.parametrize(
    ("history", "allowed"),
    [
        ((), True),
        (("accept",), True),
        (("accept", "dispatch"), True),
        (("accept", "dispatch", "engineer_accept"), True),
        (("accept", "dispatch", "engineer_accept", "depart"), True),
        (("accept", "dispatch", "wait_parts"), True),
        (("accept", "dispatch", "engineer_accept", "depart", "arrive"), False),
        (("accept", "dispatch", "engineer_accept", "depart", "arrive", "complete"), False),
    ],
)
def test_cancel_only_before_the_engineer_arrives(
    history: tuple[str, ...],
    allowed: bool,
    client: TestClient,
    db: Database,
    settings: Settings,
    made: Any,
) -> None:
    number = made(*history)
    response = _act(client, number, _customer_of(db, settings, number), "cancel", reason="不修了")
    if allowed:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "cancelled"
        assert response.json()["allowed_actions"] == []
    else:
        assert response.status_code == 409
        assert "「取消」" in response.json()["message_zh"]


def test_an_engineer_must_say_why_they_reject(client: TestClient, crew: Crew, made: Any) -> None:
    number = made("accept", "dispatch")
    eng = crew.headers["engineer"]
    refused = _act(client, number, eng, "engineer_reject")
    assert refused.status_code == 422
    (error,) = refused.json()["errors"]
    assert error["field"] == "reason"
    assert "原因" in error["message_zh"] and "reason" in error["message_en"]
    rejected = _act(client, number, eng, "engineer_reject", reason="不在服务范围")
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "accepted" and rejected.json()["engineer_id"] is None
    event = rejected.json()["events"][-1]
    assert event["action"] == "engineer_reject" and event["payload"]["reason"] == "不在服务范围"
    # No longer theirs: the engineer cannot see it any more.
    assert client.get(f"/api/v1/tickets/{number}", headers=eng).status_code == 404


def test_reopen_within_the_window_only(
    client: TestClient, db: Database, settings: Settings, made: Any
) -> None:
    done = ("accept", "dispatch", "engineer_accept", "depart", "arrive", "complete")
    recent = made(*done)
    response = _act(client, recent, _customer_of(db, settings, recent), "reopen")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted" and response.json()["reopen_count"] == 1

    old = made(*done, at=utcnow() - timedelta(days=settings.reopen_window_days + 1))
    events = _events(db)
    response = _act(client, old, _customer_of(db, settings, old), "reopen")
    assert response.status_code == 422
    assert "30天" in response.json()["message_zh"]
    assert "30 days" in response.json()["message_en"]
    assert _events(db) == events


def test_escalation_sets_the_flag_and_stays_internal(
    client: TestClient, db: Database, settings: Settings, crew: Crew, made: Any
) -> None:
    number = made("accept")
    response = _act(client, number, crew.headers["agent"], "escalate", reason="客户投诉三次")
    assert response.status_code == 200, response.text
    ticket = response.json()
    assert ticket["escalated"] is True and ticket["status"] == "accepted"
    assert ticket["events"][-1]["action"] == "escalate"
    listed = client.get(
        "/api/v1/tickets", params={"escalated": "true"}, headers=crew.headers["agent"]
    ).json()
    assert [t["number"] for t in listed["items"]] == [number]

    customer = _customer_of(db, settings, number)
    seen = client.get(f"/api/v1/tickets/{number}", headers=customer).json()
    assert seen["events"] == []  # the history with its actors is for staff
    timeline = client.get(f"/api/v1/tickets/{number}/timeline", headers=customer).json()
    assert [e["text"] for e in timeline] == ["创建工单", "受理"]


# ---------------------------------------------------------------- comments and attachments


def test_internal_comments_stay_with_staff(
    client: TestClient, db: Database, settings: Settings, crew: Crew, made: Any
) -> None:
    number = made("accept")
    url = f"/api/v1/tickets/{number}/comments"
    agent, customer = crew.headers["agent"], _customer_of(db, settings, number)
    note = client.post(url, json={"body": "客户脾气急，先打电话"}, headers=agent)
    assert note.status_code == 201 and note.json()["internal"] is True
    reply = client.post(url, json={"body": "师傅明天上午到", "internal": False}, headers=agent)
    assert reply.json()["internal"] is False
    # A customer cannot hide their own note from themselves.
    mine = client.post(url, json={"body": "好的，谢谢", "internal": True}, headers=customer)
    assert mine.status_code == 201 and mine.json()["internal"] is False
    assert mine.json()["author"].startswith("customer:")

    assert [c["body"] for c in client.get(url, headers=customer).json()] == [
        "师傅明天上午到",
        "好的，谢谢",
    ]
    assert len(client.get(url, headers=agent).json()) == 3
    empty = client.post(url, json={"body": "   "}, headers=agent)
    assert empty.status_code == 422, empty.text
    assert empty.json()["errors"][0]["field"] == "body"
    assert "内容" in empty.json()["message_zh"]


def _stored_files(settings: Settings) -> list[Path]:
    root = settings.uploads_path
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _attachment_rows(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(TicketAttachment)) or 0


def test_a_photo_uploads_and_downloads_unchanged(
    client: TestClient, db: Database, settings: Settings, made: Any
) -> None:
    number = made("accept")
    customer = _customer_of(db, settings, number)
    url = f"/api/v1/tickets/{number}/attachments"
    response = client.post(
        url, files={"file": ("../../铭牌.png", f.PNG, "application/octet-stream")}, headers=customer
    )
    assert response.status_code == 201, response.text
    stored = response.json()
    # The name is kept without its path; the type comes from the bytes, not the request.
    assert stored["filename"] == "铭牌.png"
    assert stored["content_type"] == "image/png" and stored["size"] == len(f.PNG)
    assert [a["id"] for a in client.get(url, headers=customer).json()] == [stored["id"]]
    download = client.get(f"{url}/{stored['id']}", headers=customer)
    assert download.status_code == 200
    assert download.content == f.PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert len(_stored_files(settings)) == 1


@pytest.mark.parametrize(
    ("name", "data", "zh"),
    [
        ("photo.png", b"this is not a picture, just text\n", "只支持"),
        ("photo.png", b"", "文件为空"),
        ("run.png", b"#!/bin/sh\nrm -rf /\n", "只支持"),
    ],
    ids=["text-named-png", "empty", "script"],
)
def test_a_file_that_is_not_an_image_is_refused(
    name: str,
    data: bytes,
    zh: str,
    client: TestClient,
    db: Database,
    settings: Settings,
    crew: Crew,
    made: Any,
) -> None:
    number = made("accept")
    response = client.post(
        f"/api/v1/tickets/{number}/attachments",
        files={"file": (name, data, "image/png")},
        headers=crew.headers["agent"],
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "file"
    assert zh in response.json()["message_zh"]
    assert _attachment_rows(db) == 0 and _stored_files(settings) == []


@pytest.fixture
def small_client(settings: Settings, fake_rasa: FakeRasa) -> Iterator[TestClient]:
    """A client of an app that takes uploads of at most 1 MB."""
    app = create_app(
        settings.model_copy(update={"upload_max_bytes": 1024 * 1024}),
        http_transport=httpx.MockTransport(fake_rasa.handler),
    )
    with TestClient(app) as test_client:
        yield test_client


def test_an_oversize_file_is_refused(
    small_client: TestClient, db: Database, settings: Settings, crew: Crew, made: Any
) -> None:
    number = made("accept")
    url = f"/api/v1/tickets/{number}/attachments"
    exactly = f.PNG + b"\0" * (1024 * 1024 - len(f.PNG))
    too_big = exactly + b"\0"
    response = small_client.post(
        url, files={"file": ("big.png", too_big, "image/png")}, headers=crew.headers["agent"]
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "file"
    assert "1 MB" in response.json()["message_zh"] and "1 MB" in response.json()["message_en"]
    assert _attachment_rows(db) == 0 and _stored_files(settings) == []
    # One byte less fits.
    response = small_client.post(
        url, files={"file": ("big.png", exactly, "image/png")}, headers=crew.headers["agent"]
    )
    assert response.status_code == 201 and response.json()["size"] == 1024 * 1024


# ---------------------------------------------------------------- audit


def test_the_audit_log_shows_a_staff_edit_before_and_after(
    client: TestClient, crew: Crew, made: Any
) -> None:
    number = made()
    ticket = client.patch(
        f"/api/v1/tickets/{number}", json={"district": "黄浦区"}, headers=crew.headers["agent"]
    ).json()
    records = client.get(
        "/api/v1/audit",
        params={"entity": "tickets", "entity_id": str(ticket["id"])},
        headers=crew.headers["admin"],
    )
    assert records.status_code == 200, records.text
    (record,) = records.json()
    assert record["action"] == "update" and record["entity"] == "tickets"
    assert record["actor"] == f"user:{crew.user_ids['agent']}"
    assert record["before"]["district"] == "浦东新区" and record["after"]["district"] == "黄浦区"
    assert record["before"]["number"] == number
    # Reading it is for admins only.
    audit = client.get("/api/v1/audit", headers=crew.headers["agent"])
    assert audit.status_code == 403


def test_the_audit_log_never_shows_password_hashes(
    client: TestClient, db: Database, crew: Crew
) -> None:
    # No route changes accounts yet, so make the staff write the way a route would: with the
    # caller's name on the session, which is what the flush hook audits.
    admin = f"user:{crew.user_ids['admin']}"
    with db.session() as s:
        s.info[ACTOR_KEY] = admin
        user = f.user(s, role="agent", username="newhire")  # an insert ...
        user.password_hash = hash_password("changed-pass")  # ... and an update
    response = client.get("/api/v1/audit", params={"actor": admin}, headers=crew.headers["admin"])
    assert response.status_code == 200
    records = {r["action"]: r for r in response.json() if r["entity"] == "users"}
    assert set(records) == {"insert", "update"}
    assert records["insert"]["after"]["username"] == "newhire"
    # A new row's record names it by its id, known only once the insert ran.
    assert records["insert"]["entity_id"] == str(records["insert"]["after"]["id"]) != ""
    assert records["insert"]["after"]["password_hash"] == "***"
    assert records["update"]["before"]["password_hash"] == "***"
    assert records["update"]["after"]["password_hash"] == "***"
    assert "argon2" not in response.text


# ---------------------------------------------------------------- login throttling


def _try_api(client: TestClient, username: str, password: str) -> int:
    return client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    ).status_code


def _try_page(client: TestClient, username: str, password: str) -> int:
    return client.post(
        "/login",
        data={"username": username, "password": password, "next": "/tickets"},
        follow_redirects=False,
    ).status_code


@pytest.mark.parametrize("attempt", [_try_api, _try_page], ids=["api", "page"])
def test_the_sixth_failed_login_is_refused_even_with_the_right_password(
    attempt: Any, client: TestClient, crew: Crew
) -> None:
    name = crew.usernames["agent"]
    ok = 200 if attempt is _try_api else 303
    assert [attempt(client, name, "wrong") for _ in range(5)] == [401] * 5
    assert attempt(client, name, f.PASSWORD) == 429
    if attempt is _try_api:
        response = client.post("/api/v1/auth/token", data={"username": name, "password": "x"})
        assert response.headers["retry-after"] == "300"
        assert "5分钟" in response.json()["message_zh"]
    else:
        page = client.post("/login", data={"username": name, "password": f.PASSWORD})
        assert page.status_code == 429 and "登录失败次数过多" in page.text
        assert client.get("/tickets", follow_redirects=False).status_code == 303
    # Other accounts are not locked out.
    assert attempt(client, crew.usernames["dispatcher"], f.PASSWORD) == ok


def test_failures_count_across_the_api_and_the_login_page(client: TestClient, crew: Crew) -> None:
    name = crew.usernames["finance"]
    assert [_try_api(client, name, "wrong") for _ in range(3)] == [401] * 3
    assert [_try_page(client, name, "wrong") for _ in range(2)] == [401] * 2
    assert _try_page(client, name, f.PASSWORD) == 429
    assert _try_api(client, name, f.PASSWORD) == 429


def test_failures_older_than_five_minutes_do_not_count(
    client: TestClient, db: Database, crew: Crew
) -> None:
    name = crew.usernames["finance"]
    with db.session() as s:
        for _ in range(5):
            s.add(
                LoginAttempt(
                    username=name, succeeded=False, created_at=utcnow() - timedelta(minutes=6)
                )
            )
    assert _try_api(client, name, f.PASSWORD) == 200


# ---------------------------------------------------------------- idempotency


def test_the_same_idempotency_key_from_two_callers_makes_two_tickets(
    client: TestClient, db: Database, crew: Crew
) -> None:
    numbers = {}
    for who in ("bot", "agent"):
        headers = {**crew.headers[who], "Idempotency-Key": "retry-42"}
        first = client.post("/api/v1/tickets", json=INTAKE, headers=headers)
        again = client.post("/api/v1/tickets", json=INTAKE, headers=headers)
        assert (first.status_code, again.status_code) == (201, 200), first.text
        assert first.json()["number"] == again.json()["number"]
        numbers[who] = first.json()["number"]
    assert numbers["bot"] != numbers["agent"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 2
