"""Staff pages behind a login, the demo page, and /healthz."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app_fixtures import FakeRasa

BODY = {"product": "空调", "fault_description": "不制冷", "phone": "13900139000"}


def test_ticket_list_needs_a_login(client: TestClient) -> None:
    response = client.get("/tickets", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_login_then_see_the_ticket(
    client: TestClient, staff: dict[str, str], bot_headers: dict[str, str]
) -> None:
    number = client.post("/api/v1/tickets", json=BODY, headers=bot_headers).json()["number"]
    response = client.post("/login", data={**staff, "next": "/tickets"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/tickets"
    page = client.get("/tickets")
    assert page.status_code == 200
    assert number in page.text and "不制冷" in page.text and "待受理" in page.text
    detail = client.get(f"/tickets/{number}")
    assert detail.status_code == 200 and "13900139000" in detail.text


def test_bad_login_is_refused(client: TestClient, staff: dict[str, str]) -> None:
    response = client.post("/login", data={"username": "agent1", "password": "x"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert client.get("/tickets", follow_redirects=False).status_code == 303


def test_login_never_redirects_off_site(client: TestClient, staff: dict[str, str]) -> None:
    response = client.post(
        "/login", data={**staff, "next": "//evil.example/x"}, follow_redirects=False
    )
    assert response.headers["location"] == "/tickets"


def test_demo_page_embeds_the_widget(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "/static/widget/widget.js" in page.text
    assert client.get("/static/widget/widget.js").status_code == 200


def test_health_is_ok_when_all_parts_answer(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200, response.text
    assert {k: v["status"] for k, v in response.json()["checks"].items()} == {
        "database": "up",
        "rasa": "up",
        "action_server": "up",
    }


def test_health_is_503_when_the_bot_is_down(client: TestClient, fake_rasa: FakeRasa) -> None:
    fake_rasa.up = False
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "up"
    assert checks["rasa"]["status"] == "down" and checks["action_server"]["status"] == "down"


def test_openapi_is_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/tickets" in spec["paths"]
    assert "/channels/rest/webhook" in spec["paths"]
