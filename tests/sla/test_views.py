"""The SLA routes: a ticket's timers for staff, policies and calendars changed by admins."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.config import Settings
from portal.database import Database
from tests.portal import factories as f
from tests.sla.support import open_ticket, sh


def test_staff_see_a_tickets_timers_customers_do_not(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        customer = f.customer(s)
        number = open_ticket(s, customer=customer, at=sh(2026, 3, 6, 17, 50)).number
        agent = f.headers_for(s, settings, "agent")
        mine = f.bearer(settings, customer)
    response = client.get(f"/api/v1/sla/tickets/{number}/timers", headers=agent)
    assert response.status_code == 200, response.text
    by_kind = {t["kind"]: t for t in response.json()}
    assert set(by_kind) == {"response", "arrival", "resolution"}
    assert by_kind["arrival"]["due_at"] == "2026-03-09T04:50:00Z"  # 12:50 in Shanghai
    assert by_kind["arrival"]["state"] == "pending" and by_kind["arrival"]["level"] == 0
    assert client.get(f"/api/v1/sla/tickets/{number}/timers", headers=mine).status_code == 403
    missing = client.get("/api/v1/sla/tickets/SR20990101-0001/timers", headers=agent)
    assert missing.status_code == 404


def test_admins_add_policies_others_only_read_them(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        admin = f.headers_for(s, settings, "admin")
        agent = f.headers_for(s, settings, "agent")
    policy = {
        "name": "VIP",
        "customer_tier": "vip",
        "response_minutes": 5,
        "arrival_minutes": 120,
        "resolution_minutes": 480,
    }
    assert client.post("/api/v1/sla/policies", json=policy, headers=agent).status_code == 403
    created = client.post("/api/v1/sla/policies", json=policy, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["active"] and created.json()["business_hours"]
    assert created.json()["auto_reassign"] is None  # as the settings say
    listed = client.get("/api/v1/sla/policies", headers=agent).json()
    assert [p["name"] for p in listed] == ["VIP"]
    eager = client.post(
        "/api/v1/sla/policies",
        json={**policy, "name": "VIP 改派", "auto_reassign": True},
        headers=admin,
    )
    assert eager.status_code == 201 and eager.json()["auto_reassign"] is True
    off = client.put(
        f"/api/v1/sla/policies/{created.json()['id']}/active", json={"active": False}, headers=admin
    )
    assert off.status_code == 200 and off.json()["active"] is False
    bad = client.post(
        "/api/v1/sla/policies", json={**policy, "response_minutes": -1}, headers=admin
    )
    assert bad.status_code == 422


def test_calendars_are_replaced_whole_and_checked(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        admin = f.headers_for(s, settings, "admin")
        network_id = f.network(s).id
    calendar = {
        "network_id": network_id,
        "name": "浦东网点",
        "weekly_hours": {"1": "09:00-12:00,13:00-18:00", "6": "09:00-12:00"},
        "days": [
            {"day": "2026-10-01", "name": "国庆"},
            {"day": "2026-10-10", "working": True, "name": "调休"},
        ],
    }
    first = client.put("/api/v1/sla/calendars", json=calendar, headers=admin)
    assert first.status_code == 200, first.text
    again = client.put(
        "/api/v1/sla/calendars", json={**calendar, "days": calendar["days"][:1]}, headers=admin
    )
    assert again.json()["id"] == first.json()["id"]  # replaced, not added
    assert [d["day"] for d in again.json()["days"]] == ["2026-10-01"]
    listed = client.get("/api/v1/sla/calendars", headers=admin).json()
    assert len(listed) == 1 and listed[0]["weekly_hours"]["6"] == "09:00-12:00"
    for broken, field in (
        ({"weekly_hours": {"1": "18:00-09:00"}}, "weekly_hours"),
        ({"weekly_hours": {"1": ""}}, "weekly_hours"),
        ({"network_id": 999999}, "network_id"),
        ({"days": [{"day": "2026-10-01"}, {"day": "2026-10-01"}]}, "days"),
    ):
        response = client.put("/api/v1/sla/calendars", json={**calendar, **broken}, headers=admin)
        assert response.status_code == 422, broken
        assert response.json()["errors"][0]["field"] == field
        assert response.json()["message_zh"]
    zone = client.put(
        "/api/v1/sla/calendars", json={**calendar, "timezone": "Mars/Olympus"}, headers=admin
    )
    assert zone.status_code == 422
