"""The dashboards through HTTP: who may read them, a network manager's scope, drill-down
lists, CSV export, the JSON routes, and that every script is served by the portal itself."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from portal.accounts.models import User
from portal.analytics.rollups import ALPHA
from portal.config import Settings
from portal.database import Database
from portal.knowledge.models import KbSearchLog
from portal.networks.models import ServiceNetwork
from tests.analytics.conftest import T0, World
from tests.portal import factories as fx

PERIOD = "from=2026-11-01&to=2026-11-22"
PAGES = ("/analytics", "/analytics/operations", "/analytics/people", "/analytics/quality",
         "/analytics/eie", "/analytics/eie?by=period", "/analytics/eie?by=engineer",
         "/analytics/tickets?measure=stage:t1")  # fmt: skip


@pytest.fixture
def app_client(client: TestClient) -> TestClient:
    """The client, with the facts refreshed on every page view."""
    client.app.state.analytics_max_age_s = 0  # type: ignore[attr-defined]
    return client


def login(db: Database, client: TestClient, role: str, network_id: int | None = None) -> None:
    with db.session() as s:
        network = s.get(ServiceNetwork, network_id) if network_id else None
        user = fx.user(s, role=role, network=network)
        username = user.username
    response = client.post("/login", data={"username": username, "password": fx.PASSWORD})
    assert response.status_code == 200, response.text[:500]


def numbers(html: str) -> set[str]:
    return set(re.findall(r'data-testid="drill-row" data-number="([^"]+)"', html))


def test_anonymous_readers_are_sent_to_log_in(app_client: TestClient) -> None:
    response = app_client.get("/analytics", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.mark.parametrize("role", ["agent", "engineer", "knowledge_editor"])
def test_other_roles_are_refused(
    db: Database, app_client: TestClient, world: World, role: str
) -> None:
    if role == "engineer":
        with db.session() as s:
            engineer = fx.engineer(s, network=fx.network(s))
            username = s.get_one(User, engineer.user_id).username
        app_client.post("/login", data={"username": username, "password": fx.PASSWORD})
    else:
        login(db, app_client, role)
    for path in ("/analytics", "/analytics/tickets", "/analytics/export.csv"):
        assert app_client.get(path).status_code == 403


@pytest.mark.parametrize("role", ["admin", "dispatcher", "finance"])
def test_every_page_renders_for_readers(
    db: Database, app_client: TestClient, world: World, role: str
) -> None:
    login(db, app_client, role)
    for path in PAGES:
        sep = "&" if "?" in path else "?"
        page = app_client.get(f"{path}{sep}{PERIOD}")
        assert page.status_code == 200, path
        assert 'data-testid="analytics"' in page.text
    executive = app_client.get(f"/analytics?{PERIOD}").text
    assert 'data-testid="kpi-tickets"' in executive and ">10<" in executive
    assert "上海一网点" in executive and "杭州二网点" in executive
    assert "70.0%" in executive  # 7 of 10 answered within 10 minutes
    people = app_client.get(f"/analytics/people?{PERIOD}").text
    assert "工程师甲" in people and "13.2%" in people  # 9000 s of 2 × 9.5 h
    quality = app_client.get(f"/analytics/quality?{PERIOD}").text
    assert "WM-A" in quality and "125.0%" in quality  # 5 failures on 4 units


def test_a_network_manager_sees_only_their_network(
    db: Database, app_client: TestClient, world: World
) -> None:
    n2 = world.networks["N2"]
    login(db, app_client, "network_manager", n2)
    page = app_client.get(f"/analytics?{PERIOD}&network={world.networks['N1']}")
    assert page.status_code == 200
    assert "杭州二网点" in page.text and "上海一网点" not in page.text
    listed = numbers(app_client.get(f"/analytics/tickets?{PERIOD}&measure=all").text)
    assert listed == {world.number(k) for k in "DEJ"}
    data = app_client.get(f"/api/v1/analytics/overview?{PERIOD}").json()
    assert data["overview"]["kpis"]["tickets"] == 3


def test_drill_down_lists_the_tickets_behind_a_figure(
    db: Database, app_client: TestClient, world: World
) -> None:
    login(db, app_client, "dispatcher")
    page = app_client.get(f"/analytics/tickets?{PERIOD}&measure=ftf:fail")
    assert numbers(page.text) == {world.number("A"), world.number("D")}
    assert "未能一次修复" in page.text
    by_network = app_client.get(
        f"/analytics/tickets?{PERIOD}&measure=stage:t2&network={world.networks['N1']}"
    )
    assert numbers(by_network.text) == {world.number(k) for k in "AFH"}
    executive = app_client.get(f"/analytics?{PERIOD}").text
    # Every tile and table figure links to its tickets.
    assert "/analytics/tickets?" in executive and "measure=response%3Alate" in executive


def test_csv_export(db: Database, app_client: TestClient, world: World) -> None:
    login(db, app_client, "finance")
    response = app_client.get(f"/analytics/export.csv?{PERIOD}&dataset=tickets&measure=all")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff工单号,")
    assert len(body.strip().splitlines()) == 1 + 10
    eie = app_client.get(f"/analytics/export.csv?{PERIOD}&dataset=eie&by=network").text
    assert "上海一网点" in eie and "t9 p90_min" in eie
    for dataset in ("networks", "trend", "backlog", "abnormal", "engineers", "products",
                    "models", "cities", "fault_codes", "warranty"):  # fmt: skip
        reply = app_client.get(f"/analytics/export.csv?{PERIOD}&dataset={dataset}")
        assert reply.status_code == 200 and len(reply.text.splitlines()) >= 2, dataset


def test_json_routes(db: Database, client: TestClient, settings: Settings, world: World) -> None:
    client.app.state.analytics_max_age_s = 0  # type: ignore[attr-defined]
    with db.session() as s:
        reader = fx.headers_for(s, settings, "dispatcher")
        agent = fx.headers_for(s, settings, "agent")
        admin = fx.headers_for(s, settings, "admin")
    assert client.get("/api/v1/analytics/overview", headers=agent).status_code == 403
    data = client.get(f"/api/v1/analytics/overview?{PERIOD}", headers=reader).json()
    kpis = data["overview"]["kpis"]
    assert kpis["tickets"] == 10 and kpis["response"] == {"num": 7, "den": 10, "value": 0.7}
    eie = client.get(f"/api/v1/analytics/eie?{PERIOD}&by=network", headers=reader).json()
    n1 = next(r for r in eie["rows"] if r["key"] == world.networks["N1"])
    assert n1["stages"]["t1"]["p50"] == pytest.approx(330, rel=ALPHA)
    tickets = client.get(
        f"/api/v1/analytics/tickets?{PERIOD}&measure=abnormal:waiting_parts", headers=reader
    ).json()
    assert [r["number"] for r in tickets["rows"]] == [world.number("J")]
    for path in ("kpis?by=period", "backlog?x=1", "people?x=1", "quality?early=30"):
        reply = client.get(f"/api/v1/analytics/{path}&{PERIOD}", headers=reader)
        assert reply.status_code == 200, path
    assert client.post("/api/v1/analytics/refresh", headers=reader).status_code == 403
    rebuilt = client.post("/api/v1/analytics/refresh?full=true", headers=admin).json()
    assert rebuilt["full"] and rebuilt["tickets"] == 10


def test_pages_use_only_scripts_the_portal_serves(
    db: Database, app_client: TestClient, world: World
) -> None:
    login(db, app_client, "admin")
    page = app_client.get(f"/analytics/quality?{PERIOD}").text
    found = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    own = "http://testserver/"
    assert found and all(src.startswith(own) for src in found), found  # no CDN
    paths = [src.removeprefix(own[:-1]) for src in found]
    assert "/static/vendor/echarts/echarts.min.js" in paths
    for path in paths:
        assert app_client.get(path).status_code == 200, path


def test_every_page_reads_in_english_too(
    db: Database, app_client: TestClient, world: World
) -> None:
    login(db, app_client, "admin")
    app_client.cookies.set("lang", "en")
    for path in PAGES:
        sep = "&" if "?" in path else "?"
        page = app_client.get(f"{path}{sep}{PERIOD}")
        assert page.status_code == 200, path
    executive = app_client.get(f"/analytics?{PERIOD}").text
    assert "Response on time" in executive and "10分钟响应率" not in executive
    csv = app_client.get(f"/analytics/export.csv?{PERIOD}&dataset=networks").text
    assert csv.startswith("\ufeffNetwork,Tickets,")


def test_operations_lists_the_unanswered_questions(
    db: Database, app_client: TestClient, world: World
) -> None:
    with db.session() as s:
        searches = (("answer", "空调不制冷"), ("none", "能开专票吗"), ("none", "能开专票吗"))
        for band, query in searches:
            s.add(KbSearchLog(source="bot", query=query, band=band, created_at=T0))
    login(db, app_client, "admin")
    page = app_client.get(f"/analytics/operations?{PERIOD}").text
    assert 'data-testid="unanswered-table"' in page and "能开专票吗" in page
    assert "33.3%" in page  # 1 of 3 searches answered directly
    assert 'href="/knowledge/unanswered"' in page  # admins may write the missing answers
    login(db, app_client, "dispatcher")
    page = app_client.get(f"/analytics/operations?{PERIOD}").text
    assert "能开专票吗" in page and 'href="/knowledge/unanswered"' not in page
