"""Every id a URL carries is bounded (issue 18, finding 8): a number no id column can hold is
a 422 that names the parameter and its range, in Chinese and English (on a page: the 404
page, as for any path that names nothing), never a 500 from the database.

The first test is generated from the app's routes, so a new route with a bare `int` id fails
it; the second sends the numbers that used to crash to the routes that crashed.
"""

from __future__ import annotations

import annotated_types as at
import pytest
from fastapi.testclient import TestClient

from portal.config import Settings
from portal.database import Database
from portal.ids import MAX_ID
from tests.portal import factories as f
from tests.security.routes import routes

BIG = 2**63  # past SQLite's INTEGER: `OverflowError` before the fix


def _is_id(name: str, path: str) -> bool:
    return name == "id" or name.endswith("_id") or "{" + name + "}" in path


def test_every_integer_id_in_a_url_is_bounded(client: TestClient) -> None:
    unbounded = []
    checked = 0
    for route in routes(client.app):  # type: ignore[arg-type]
        if route.path.startswith("/channels/"):
            continue  # the channels' own adapters (no portal.ids there): see the test below
        for param in route.params():
            if not _is_id(param.name, route.path) or "int" not in str(param.field_info.annotation):
                continue
            checked += 1
            meta = param.field_info.metadata
            low = [m.ge for m in meta if isinstance(m, at.Ge)]
            high = [m.le for m in meta if isinstance(m, at.Le)]
            if not (low and high and low[0] >= 0 and high[0] <= MAX_ID):
                unbounded.append(f"{route.label} {param.name}")
    assert checked > 40
    assert unbounded == []


@pytest.mark.parametrize(
    ("method", "path", "field", "page"),
    [
        ("PUT", f"/api/v1/console/agents/{BIG}", "user_id", False),
        ("PUT", f"/api/v1/dispatch/engineers/{BIG}/position", "engineer_id", False),
        ("GET", f"/api/v1/customers/{BIG}", "customer_id", False),
        ("GET", f"/api/v1/assets/{BIG}", "asset_id", False),
        ("GET", f"/api/v1/customers/{MAX_ID + 1}", "customer_id", False),
        ("GET", "/api/v1/customers/0", "customer_id", False),
        ("GET", f"/customers/{BIG}", "customer_id", True),
        ("GET", f"/assets/{BIG}", "asset_id", True),
    ],
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_id_past_every_column_is_refused_not_crashed_on(
    method: str,
    path: str,
    field: str,
    page: bool,
    client: TestClient,
    db: Database,
    settings: Settings,
) -> None:
    with db.session() as s:
        admin = f.user(s, role="admin")
        headers = f.bearer(settings, admin)
    if page:
        assert client.post("/login", data={"username": admin.username, "password": f.PASSWORD})
        response = client.request(method, path)
        # A page's path that names nothing is the plain 404 page (PageRoute), not a crash.
        assert response.status_code == 404, response.text
        assert 'data-status="404"' in response.text
        return
    response = client.request(method, path, headers=headers, json={})
    assert response.status_code == 422, response.text
    body = response.json()
    assert field in [e["field"] for e in body["errors"]]
    error = next(e for e in body["errors"] if e["field"] == field)
    assert error["message_zh"] and error["message_en"]
    assert str(MAX_ID) in error["message_en"] or "at least 1" in error["message_en"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_widget_history_refuses_an_after_id_past_every_column(client: TestClient) -> None:
    for route in routes(client.app):  # type: ignore[arg-type]
        if route.path == "/channels/web/history":
            after = next(p for p in route.params() if p.name == "after_id")
            high = [m.le for m in after.field_info.metadata if isinstance(m, at.Le)]
            assert high and high[0] <= MAX_ID
            return
    raise AssertionError("no /channels/web/history route")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("after", ["9223372036854775808", "2147483648", "-1"])
def test_the_widget_history_answers_422_for_an_after_id_no_message_can_have(
    client: TestClient, after: str
) -> None:
    visitor = "v-" + "a" * 20
    fine = client.get(f"/channels/web/history?visitor_id={visitor}&site_key=demo&after_id=5")
    assert fine.status_code == 200
    response = client.get(
        f"/channels/web/history?visitor_id={visitor}&site_key=demo&after_id={after}"
    )
    assert response.status_code == 422
    assert "after_id" in response.text
