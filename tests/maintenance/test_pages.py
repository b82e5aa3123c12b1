"""The maintenance plan pages through the real app and database: list and filters, a plan
made and changed through its form, refused forms that keep what was typed, what is coming up
and the tickets the scheduler opened, roles and CSRF."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.database import Database, utcnow
from portal.maintenance import flows
from portal.maintenance.models import MaintenancePlan
from portal.maintenance.service import local_day
from tests.portal import factories as f
from tests.portal.test_pages import csrf, login

PLAN_ROWS = re.compile(r'data-testid="plan-row" data-id="(\d+)"')
UPCOMING = re.compile(
    r'data-testid="upcoming-row" data-plan="(\d+)" data-asset="(\d+)" data-day="([\d-]+)"'
)


@pytest.fixture
def world(db: Database) -> dict[str, Any]:
    """A dispatcher, an agent, and two air-conditioner units of one model at a customer."""
    with db.session() as s:
        model = f.product_model(s, product_=f.product(s, category="空调"))
        other_model = f.product_model(s)
        customer = f.customer(s, with_asset=False)
        home = customer.addresses[0]
        units = [f.asset(s, customer=customer, address_=home, model=model) for _ in range(2)]
        lone = f.asset(s, customer=customer, address_=home, model=other_model)
        return {
            "dispatcher": f.user(s, role="dispatcher").username,
            "agent": f.user(s, role="agent").username,
            "model": model.code,
            "units": [u.id for u in units],
            "serials": [u.serial_number for u in units],
            "lone": lone.id,
        }


def submit(client: TestClient, url: str, data: dict[str, Any]) -> Any:
    """Post a form with this session's CSRF token, as the browser does."""
    return client.post(url, data={"csrf_token": csrf(client, "/maintenance"), **data})


def plans(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(MaintenancePlan)) or 0


def test_a_model_plan_is_made_changed_and_shows_what_is_coming_up(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    login(client, world["dispatcher"])
    page = client.get("/maintenance")
    assert page.status_code == 200 and "暂无保养计划" in page.text
    today = local_day(utcnow())
    # Counted from a day that puts the next six-monthly visit 20 days from now.
    start = today + timedelta(days=20) - relativedelta(months=6)
    made = submit(
        client,
        "/maintenance/plans",
        {
            "name": "空调半年清洗",
            "description": "清洗滤网、检查冷媒压力",
            "model_code": world["model"],
            "interval_kind": "months",
            "interval_value": "6",
            "starts_on": start.isoformat(),
            "active": "1",
        },
    )
    assert made.status_code == 200 and "保养计划已创建" in made.text
    plan_id = int(str(made.url).rsplit("/", 1)[1])
    with db.session() as s:
        plan = s.get_one(MaintenancePlan, plan_id)
        assert plan.model_id is not None and plan.asset_id is None
        assert (plan.interval_kind, plan.interval_value, plan.starts_on) == ("months", 6, start)
        assert plan.created_by.startswith("user:")
    due = (today + timedelta(days=20)).isoformat()
    # Both units of the model come up, not yet with a ticket.
    coming = UPCOMING.findall(made.text)
    assert sorted(coming) == sorted((str(plan_id), str(u), due) for u in world["units"])
    assert made.text.count("待系统提前生成") == 2
    listed = client.get("/maintenance")
    assert PLAN_ROWS.findall(listed.text) == [str(plan_id)]
    assert f"型号 {world['model']}" in listed.text and "每 6 个月" in listed.text
    assert len(UPCOMING.findall(listed.text)) == 2
    # The scheduler opens the tickets ahead of time: the page links them.
    with db.session() as s:
        opened = flows.create_due_tickets(s, now=utcnow(), horizon_days=30)
        numbers = sorted(t.number for t in opened)
    assert len(numbers) == 2
    detail = client.get(f"/maintenance/plans/{plan_id}")
    for number in numbers:
        assert f'href="/tickets/{number}"' in detail.text
    assert detail.text.count('data-testid="history-row"') == 2
    assert "待系统提前生成" not in detail.text
    # Changed: every 3 months, stopped; the start day cleared (counted from installation).
    changed = submit(
        client,
        f"/maintenance/plans/{plan_id}",
        {"name": "空调季度清洗", "interval_kind": "months", "interval_value": "3"},
    )
    assert changed.status_code == 200 and "保养计划已保存" in changed.text
    with db.session() as s:
        plan = s.get_one(MaintenancePlan, plan_id)
        assert (plan.name, plan.interval_value, plan.active) == ("空调季度清洗", 3, False)
        assert plan.starts_on is None and plan.description == ""
    assert "已停用" in changed.text
    # A stopped plan leaves the list's upcoming section; the tickets it opened stay on its page.
    assert UPCOMING.findall(client.get("/maintenance").text) == []
    assert len(UPCOMING.findall(changed.text)) == 2
    assert changed.text.count('data-testid="history-row"') == 2
    assert PLAN_ROWS.findall(client.get("/maintenance?active=true").text) == []
    assert PLAN_ROWS.findall(client.get("/maintenance?active=false").text) == [str(plan_id)]


def test_a_plan_for_one_asset_and_the_filters(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    login(client, world["dispatcher"])
    new = client.get(f"/maintenance/plans/new?asset_id={world['lone']}")
    assert new.status_code == 200 and f'value="{world["lone"]}"' in new.text
    made = submit(
        client,
        "/maintenance/plans",
        {"name": "净水器换芯", "asset_id": str(world["lone"]), "interval_kind": "usage",
         "interval_value": "3000", "usage_unit": "升", "active": "1"},
    )  # fmt: skip
    assert made.status_code == 200, made.text
    plan_id = int(str(made.url).rsplit("/", 1)[1])
    assert "每使用 3000 升" in made.text
    submit(
        client,
        "/maintenance/plans",
        {"name": "空调清洗", "model_code": world["model"], "interval_kind": "days",
         "interval_value": "90", "active": "1"},
    )  # fmt: skip
    assert len(PLAN_ROWS.findall(client.get("/maintenance").text)) == 2
    by_asset = client.get(f"/maintenance?asset_id={world['lone']}")
    assert PLAN_ROWS.findall(by_asset.text) == [str(plan_id)]
    by_model = client.get(f"/maintenance?model_code={world['model']}")
    assert len(PLAN_ROWS.findall(by_model.text)) == 1 and str(plan_id) not in PLAN_ROWS.findall(
        by_model.text
    )
    assert PLAN_ROWS.findall(client.get("/maintenance?model_code=NOPE-1").text) == []


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"asset_id": "", "model_code": ""}, "请填写设备编号或产品型号中的一项"),
        ({"asset_id": "1", "model_code": "X"}, "请填写设备编号或产品型号中的一项"),
        ({"model_code": "NOPE-1"}, "型号"),
        ({"interval_value": "0"}, "「间隔」的值无效"),
        ({"interval_kind": "weeks"}, "「周期类型」的值无效"),
        ({"interval_value": "121"}, "间隔不能超过 120"),
        ({"name": ""}, "计划名称"),
        ({"starts_on": "2026-02-30"}, "「起算日期」的值无效"),
    ],
)
def test_a_refused_form_comes_back_as_typed(
    client: TestClient, db: Database, world: dict[str, Any], form: dict[str, str], message: str
) -> None:
    login(client, world["dispatcher"])
    sent = {
        "name": "空调清洗<b>",
        "description": "保留我输入的内容",
        "model_code": world["model"],
        "interval_kind": "months",
        "interval_value": "6",
        "active": "1",
        **form,
    }
    page = submit(client, "/maintenance/plans", sent)
    assert page.status_code == 422
    error = re.search(r'data-testid="form-error">([^<]+)<', page.text)
    assert error and message in html.unescape(error.group(1)), error
    assert "保留我输入的内容" in page.text
    if form.get("name") != "":
        assert "空调清洗&lt;b&gt;" in page.text  # kept, and escaped
    assert plans(db) == 0


def test_an_edit_that_does_not_validate_changes_nothing(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    login(client, world["dispatcher"])
    made = submit(
        client,
        "/maintenance/plans",
        {"name": "空调清洗", "model_code": world["model"], "interval_kind": "days",
         "interval_value": "90", "active": "1"},
    )  # fmt: skip
    plan_id = int(str(made.url).rsplit("/", 1)[1])
    page = submit(
        client,
        f"/maintenance/plans/{plan_id}",
        {"name": "改了名字", "interval_kind": "days", "interval_value": "5000", "active": "1"},
    )
    assert page.status_code == 422 and "间隔不能超过 3660" in page.text
    assert 'value="改了名字"' in page.text  # what was typed stays in the form
    with db.session() as s:
        plan = s.get_one(MaintenancePlan, plan_id)
        assert (plan.name, plan.interval_value) == ("空调清洗", 90)
    assert client.get("/maintenance/plans/999999").status_code == 404


def test_only_dispatch_plans_and_every_post_needs_the_token(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    login(client, world["agent"])
    assert client.get("/maintenance").status_code == 403
    assert client.get("/maintenance/plans/new").status_code == 403
    login(client, world["dispatcher"])
    body = {"name": "x", "model_code": world["model"], "interval_kind": "days",
            "interval_value": "30"}  # fmt: skip
    assert client.post("/maintenance/plans", data=body).status_code == 403
    assert (
        client.post("/maintenance/plans", data={**body, "csrf_token": "forged"}).status_code == 403
    )
    assert plans(db) == 0
    client.cookies.clear()
    assert "/login" in str(client.get("/maintenance").url)
