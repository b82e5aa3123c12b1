"""The maintenance API: plan CRUD for dispatchers, usage readings (an engineer only for units
of their own jobs), and the manual scheduler run."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import User
from portal.assets.models import Asset
from portal.config import Settings
from portal.database import Database
from tests.portal import factories as f


@pytest.fixture
def world(db: Database, settings: Settings) -> dict[str, Any]:
    with db.session() as s:
        net = f.network(s)
        engineer = f.engineer(s, network=net)
        model = f.product_model(s, product_=f.product(s, category="空调"))
        customer = f.customer(s, with_asset=False)
        unit = f.asset(s, customer=customer, address_=customer.addresses[0], model=model,
                       install_date=date.today() - timedelta(days=175))  # fmt: skip
        f.ticket(s, customer=customer, serial_number=unit.serial_number,
                 actions=("accept", "dispatch"), engineer=engineer)  # fmt: skip
        elsewhere = f.customer(s)  # a unit the engineer has no job on
        return {
            "dispatcher": f.headers_for(s, settings, "dispatcher"),
            "agent": f.headers_for(s, settings, "agent"),
            "engineer": f.bearer(settings, s.get_one(User, engineer.user_id)),
            "asset": unit.id,
            "other_asset": s.scalars(
                select(Asset.id).where(Asset.customer_id == elsewhere.id)
            ).one(),
            "model": model.code,
        }


def test_plan_crud(client: TestClient, world: dict[str, Any]) -> None:
    hd = world["dispatcher"]
    body = {
        "name": "空调季度清洗",
        "model_code": world["model"],
        "interval_kind": "months",
        "interval_value": 3,
    }
    assert (
        client.post("/api/v1/maintenance/plans", json=body, headers=world["agent"]).status_code
        == 403
    )
    made = client.post("/api/v1/maintenance/plans", json=body, headers=hd)
    assert made.status_code == 201, made.text
    plan = made.json()
    assert plan["model_code"] == world["model"] and plan["asset_id"] is None
    assert plan["effective_from"] and plan["active"] is True
    both = {**body, "asset_id": world["asset"]}
    assert client.post("/api/v1/maintenance/plans", json=both, headers=hd).status_code == 422
    too_long = {**body, "interval_value": 121}
    assert client.post("/api/v1/maintenance/plans", json=too_long, headers=hd).status_code == 422
    unknown = {**body, "model_code": "NOPE"}
    assert client.post("/api/v1/maintenance/plans", json=unknown, headers=hd).status_code == 422

    url = f"/api/v1/maintenance/plans/{plan['id']}"
    assert client.get(url, headers=hd).json()["name"] == "空调季度清洗"
    patched = client.patch(url, json={"interval_kind": "days", "interval_value": 90}, headers=hd)
    assert patched.status_code == 200 and patched.json()["interval_kind"] == "days"
    patched = client.patch(url, json={"interval_value": 200}, headers=hd)
    assert patched.json()["interval_value"] == 200
    # 200 months would be too long: refused, and the plan stays as it was.
    assert client.patch(url, json={"interval_kind": "months"}, headers=hd).status_code == 422
    assert client.patch(url, json={"interval_value": 90}, headers=hd).status_code == 200
    listed = client.get(
        "/api/v1/maintenance/plans", params={"model_code": world["model"]}, headers=hd
    )
    assert [p["id"] for p in listed.json()] == [plan["id"]]

    # 175 days after installation, every 90 days: the second occurrence is 5 days away.
    run = client.post("/api/v1/maintenance/run", params={"horizon_days": 14}, headers=hd)
    assert run.status_code == 200, run.text
    created = run.json()["created"]
    assert len(created) == 1 and created[0]["ticket_number"].startswith("SR")
    occurrences = client.get(f"{url}/occurrences", headers=hd).json()
    assert [o["ticket_id"] for o in occurrences] == [created[0]["ticket_id"]]
    again = client.post("/api/v1/maintenance/run", params={"horizon_days": 14}, headers=hd)
    assert again.json()["created"] == []

    assert client.delete(url, headers=hd).status_code == 204
    assert client.get(url, headers=hd).json()["active"] is False
    assert client.get("/api/v1/maintenance/plans/999999", headers=hd).status_code == 404


def test_usage_readings(client: TestClient, world: dict[str, Any]) -> None:
    url = f"/api/v1/maintenance/assets/{world['asset']}/usage"
    first = client.post(url, json={"value": "120.5"}, headers=world["engineer"])
    assert first.status_code == 201, first.text
    assert first.json()["value"] == "120.50" and first.json()["actor"].startswith("user:")
    lower = client.post(url, json={"value": 100}, headers=world["agent"])
    assert lower.status_code == 422
    assert lower.json()["error"] == "maintenance.reading_decreasing"
    assert client.post(url, json={"value": -1}, headers=world["agent"]).status_code == 422
    assert client.post(url, json={"value": 130}, headers=world["dispatcher"]).status_code == 201
    values = [r["value"] for r in client.get(url, headers=world["engineer"]).json()]
    assert values == ["130.00", "120.50"]

    # An engineer reaches only units of their own jobs.
    theirs = f"/api/v1/maintenance/assets/{world['other_asset']}/usage"
    assert client.post(theirs, json={"value": 1}, headers=world["engineer"]).status_code == 404
    assert client.post(theirs, json={"value": 1}, headers=world["agent"]).status_code == 201
    missing = "/api/v1/maintenance/assets/999999/usage"
    assert client.post(missing, json={"value": 1}, headers=world["agent"]).status_code == 404
