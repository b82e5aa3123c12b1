"""A ticket records its address in official names when it is filed (by the bot, with only a
free-text address) and again when the desk corrects the address."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.config import Settings
from portal.database import Database
from portal.tickets.models import Ticket
from tests.portal import factories as f

BODY = {
    "product": "空调",
    "fault_description": "不制冷",
    "phone": "13800138000",
    "channel": "web",
}


def _row(db: Database, number: str) -> tuple[str, ...]:
    with db.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        return (t.city, t.district, t.place_province, t.place_city, t.place_district)


def test_the_bot_files_a_free_text_address(
    client: TestClient, bot_headers: dict[str, str], db: Database
) -> None:
    r = client.post(
        "/api/v1/tickets",
        json={**BODY, "address": "上海市浦东新区张杨路500号"},
        headers=bot_headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["address"] == "上海市浦东新区张杨路500号"  # what the customer said, kept
    assert (body["city"], body["district"]) == ("上海市", "浦东新区")
    # Blank city and district are filled from the address.
    assert _row(db, body["number"]) == ("上海市", "浦东新区", "上海市", "上海市", "浦东新区")


def test_typed_fields_are_kept_and_named_officially(
    client: TestClient, bot_headers: dict[str, str], db: Database
) -> None:
    r = client.post(
        "/api/v1/tickets",
        json={**BODY, "city": "沪", "district": "浦东", "address": "张杨路500号"},
        headers=bot_headers,
    )
    assert r.status_code == 201, r.text
    assert _row(db, r.json()["number"]) == ("沪", "浦东", "上海市", "上海市", "浦东新区")


def test_no_address_no_place(client: TestClient, bot_headers: dict[str, str], db: Database) -> None:
    r = client.post("/api/v1/tickets", json=BODY, headers=bot_headers)
    assert r.status_code == 201, r.text
    assert _row(db, r.json()["number"]) == ("", "", "", "", "")


def test_a_corrected_address_is_placed_again(
    client: TestClient, bot_headers: dict[str, str], db: Database, settings: Settings
) -> None:
    r = client.post(
        "/api/v1/tickets", json={**BODY, "address": "北京朝阳区建国路88号"}, headers=bot_headers
    )
    number = r.json()["number"]
    with db.session() as s:
        agent = f.headers_for(s, settings, "agent")
    fixed = client.patch(
        f"/api/v1/tickets/{number}",
        json={"address": "广州天河体育西路1号", "city": "", "district": ""},
        headers=agent,
    )
    assert fixed.status_code == 200, fixed.text
    assert _row(db, number) == ("广州市", "天河区", "广东省", "广州市", "天河区")
