"""An agent corrects a ticket's visit details from the chat: the address read into official
place names as intake reads it, the visit window as the bot reads it, the contact phone and
name; words that cannot be read are refused in Chinese and English, and nothing changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.database import Database
from portal.dispatch.models import DispatchVisit
from portal.intake.windows import now_local
from portal.tickets.models import Ticket
from tests.conversations.support import add_agent, detail, go_online, hand_off, open_chat, token
from tests.portal import factories as f


def _chat_with_ticket(hc: TestClient, db: Database) -> tuple[dict[str, str], str, str]:
    add_agent(db, "desk")
    headers = token(hc, "desk")
    go_online(hc, headers)
    conversation = open_chat(hc, db, "mover")
    hand_off(hc, conversation)
    assert (
        hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=headers)
    ).status_code == 204
    made = hc.post(
        f"/api/v1/console/conversations/{conversation}/tickets",
        json={
            "type": "repair",
            "product": "空调",
            "fault_description": "不制冷",
            "phone": "13812345678",
            "customer_name": "李先生",
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return headers, conversation, made.json()["number"]


def _edit(
    hc: TestClient, headers: dict[str, str], conversation: str, number: str, **body: Any
) -> Any:
    return hc.patch(
        f"/api/v1/console/conversations/{conversation}/tickets/{number}", json=body, headers=headers
    )


def test_address_window_and_contact_are_read_and_saved(hc: TestClient, db: Database) -> None:
    headers, conversation, number = _chat_with_ticket(hc, db)
    edited = _edit(
        hc,
        headers,
        conversation,
        number,
        address="上海浦东张杨路500号3栋1201室",
        preferred_time="明天下午",
        phone="139 1111 2222",
        customer_name="李太太",
    )
    assert edited.status_code == 200, edited.text
    shown = edited.json()["ticket"]
    assert shown["address"] == "上海市浦东新区张杨路500号3栋1201室"
    assert shown["preferred_time"].endswith(" 13:00-18:00")
    assert "下午" in shown["visit_label"]
    assert shown["phone"] == "13911112222" and shown["contact_name"] == "李太太"
    assert edited.json()["note"]["kind"] == "ticket"

    ticket = hc.get(f"/api/v1/tickets/{number}", headers=headers).json()
    assert ticket["address"] == "上海市浦东新区张杨路500号3栋1201室"
    # Placed as dispatch compares it with the networks' coverage.
    assert ticket["city"] == "上海市" and ticket["district"] == "浦东新区"
    assert ticket["phone"] == "13911112222"
    # Dispatch reads what changed in the ticket's notes; colleagues in the conversation's.
    comments = hc.get(f"/api/v1/tickets/{number}/comments", headers=headers).json()
    assert any("张杨路500号" in c["body"] and "13911112222" in c["body"] for c in comments)
    notes = detail(hc, headers, conversation)["notes"]
    assert "上海市浦东新区张杨路500号3栋1201室" in notes[-1]["body"]
    side = hc.get(f"/api/v1/console/conversations/{conversation}/customer", headers=headers)
    (row,) = side.json()["open_tickets"]
    assert row["address"] == shown["address"] and row["editable"] is True

    # Sending the same again changes nothing and leaves no note.
    again = _edit(hc, headers, conversation, number, address="上海市浦东新区张杨路500号3栋1201室")
    assert again.status_code == 200 and again.json()["note"] is None


def test_unreadable_words_are_refused_and_nothing_changes(hc: TestClient, db: Database) -> None:
    headers, conversation, number = _chat_with_ticket(hc, db)
    before = hc.get(f"/api/v1/tickets/{number}", headers=headers).json()
    cases = [
        ({"address": "随便"}, "address", "console.error.address_unreadable"),
        ({"address": "张杨路500号"}, "address", "console.error.address_no_city"),
        ({"preferred_time": "昨天下午"}, "preferred_time", "console.error.window_past"),
        ({"preferred_time": "有空再说吧"}, "preferred_time", "console.error.window_unparsed"),
        (
            {"preferred_time": "2020-01-01 13:00-18:00"},
            "preferred_time",
            "console.error.window_past",
        ),
        ({"phone": "12345"}, "phone", "validation.phone_invalid"),
        # One bad field refuses the whole change: the good address is not saved either.
        (
            {"address": "上海浦东张杨路500号", "preferred_time": "下辈子"},
            "preferred_time",
            "console.error.window_unparsed",
        ),
    ]
    for body, field, key in cases:
        refused = _edit(hc, headers, conversation, number, **body)
        assert refused.status_code == 422, (body, refused.text)
        answer = refused.json()
        assert answer["error"] == key, (body, answer)
        assert answer["errors"][0]["field"] == field
        assert answer["message_zh"] and answer["message_en"]
        assert answer["message_zh"] != answer["message_en"]
    after = hc.get(f"/api/v1/tickets/{number}", headers=headers).json()
    assert {k: after[k] for k in ("address", "phone", "city")} == {
        k: before[k] for k in ("address", "phone", "city")
    }
    too_long = _edit(hc, headers, conversation, number, address="路" * 300)
    assert too_long.status_code == 422


def test_only_tickets_of_this_chats_customer(hc: TestClient, db: Database) -> None:
    headers, _conversation, number = _chat_with_ticket(hc, db)
    stranger = open_chat(hc, db, "stranger")
    foreign = _edit(hc, headers, stranger, number, address="上海浦东张杨路500号")
    assert foreign.status_code == 404
    missing = _edit(hc, headers, _conversation, "SR20990101-9999", address="上海浦东张杨路500号")
    assert missing.status_code == 404


def test_an_empty_visit_form_is_refused_not_saved(hc: TestClient, db: Database) -> None:
    """A tester pressed 保存 with every field empty and read 已保存."""
    headers, conversation, number = _chat_with_ticket(hc, db)
    for body in ({}, {"address": "", "preferred_time": "  ", "phone": "", "customer_name": ""}):
        refused = _edit(hc, headers, conversation, number, **body)
        assert refused.status_code == 422, (body, refused.text)
        answer = refused.json()
        assert answer["error"] == "console.error.visit_empty"
        assert "没有填写要修改的内容" in answer["message_zh"]


def test_a_new_window_moves_a_booked_visit_out_of_its_old_route(
    hc: TestClient, db: Database
) -> None:
    """Issue 19: a visit moved with the customer stayed in the old day's published route."""
    headers, conversation, number = _chat_with_ticket(hc, db)
    tomorrow = (now_local() + timedelta(days=1)).date()
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        engineer = f.engineer(s, network=f.network(s))
        s.add(
            DispatchVisit(
                ticket_id=ticket.id,
                engineer_id=engineer.id,
                visit_date=tomorrow,
                sequence=1,
                eta=now_local().replace(hour=9, minute=0) + timedelta(days=1),
                source="plan",
            )
        )
    edited = _edit(hc, headers, conversation, number, preferred_time="后天晚上")
    assert edited.status_code == 200, edited.text
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        visit = s.scalars(select(DispatchVisit).where(DispatchVisit.ticket_id == ticket.id)).one()
        assert visit.visit_date == tomorrow + timedelta(days=1)
        assert visit.eta is None and visit.sequence is None
