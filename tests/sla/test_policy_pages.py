"""The SLA policy pages and the policy edit route: an admin adds, changes and switches off a
policy, and new tickets' deadlines follow; bad input comes back with why and what was typed;
other roles are refused."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.config import Settings
from portal.database import Database
from portal.sla import service
from portal.sla.models import SlaPolicy
from tests.portal import factories as f
from tests.portal.test_pages import csrf, login

FORM = {
    "name": "VIP 加急维修",
    "ticket_type": "repair",
    "urgency": "urgent",
    "customer_tier": "vip",
    "response_minutes": "15",
    "arrival_minutes": "120",
    "resolution_minutes": "480",
    "business_hours": "no",
    "auto_reassign": "yes",
}


def _terms(db: Database) -> service.Terms:
    with db.session() as s:
        return service.match_policy(
            s, ticket_type="repair", urgency="urgent", tier="vip", defaults=service.SlaDefaults()
        )


def test_an_admin_adds_changes_and_switches_off_a_policy(client: TestClient, db: Database) -> None:
    with db.session() as s:
        f.user(s, role="admin", username="boss")
    login(client, "boss")
    listing = client.get("/sla/policies")
    assert listing.status_code == 200 and 'data-testid="sla-ladder"' in listing.text
    assert "工程师" in listing.text and "服务平台" in listing.text  # the ladder's levels
    token = csrf(client, "/sla/policies/new")
    bad = client.post(
        "/sla/policies/new", data={"csrf_token": token, **FORM, "arrival_minutes": "-5"}
    )
    assert bad.status_code == 422 and 'data-testid="form-errors"' in bad.text
    assert 'value="VIP 加急维修"' in bad.text and 'value="-5"' in bad.text
    assert '<option value="urgent" selected>' in bad.text
    made = client.post("/sla/policies/new", data={"csrf_token": token, **FORM})
    assert made.status_code == 200 and "已保存策略 VIP 加急维修" in made.text
    terms = _terms(db)
    assert terms.name == "VIP 加急维修" and terms.minutes["arrival"] == 120
    assert terms.business_hours is False and terms.auto_reassign is True
    with db.session() as s:
        policy_id = s.scalars(select(SlaPolicy.id)).one()
    form = client.get(f"/sla/policies/{policy_id}")
    assert 'value="120"' in form.text and '<option value="no" selected>' in form.text
    changed = client.post(
        f"/sla/policies/{policy_id}",
        data={"csrf_token": token, **FORM, "arrival_minutes": "90", "auto_reassign": ""},
    )
    assert changed.status_code == 200
    terms = _terms(db)
    assert terms.minutes["arrival"] == 90 and terms.auto_reassign is None
    off = client.post(
        f"/sla/policies/{policy_id}/active", data={"csrf_token": token, "active": "no"}
    )
    assert 'data-active="false"' in off.text
    assert _terms(db).name == "default"
    assert client.get("/sla/policies/999999").status_code == 404


def test_the_edit_route_and_who_may_call_it(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        admin = f.headers_for(s, settings, "admin")
        dispatcher = f.headers_for(s, settings, "dispatcher")
        f.user(s, role="dispatcher", username="disp")
    body = {
        "name": "安装",
        "ticket_type": "installation",
        "response_minutes": 30,
        "arrival_minutes": 1440,
        "resolution_minutes": 2880,
    }
    made = client.post("/api/v1/sla/policies", json=body, headers=admin).json()
    put = client.put(
        f"/api/v1/sla/policies/{made['id']}",
        json={**body, "arrival_minutes": 720},
        headers=admin,
    )
    assert put.status_code == 200 and put.json()["arrival_minutes"] == 720
    assert (
        client.put(f"/api/v1/sla/policies/{made['id']}", json=body, headers=dispatcher).status_code
        == 403
    )
    assert client.put("/api/v1/sla/policies/999999", json=body, headers=admin).status_code == 404
    login(client, "disp")
    assert client.get("/sla/policies").status_code == 403
