"""Addresses no route answers, as a reader meets them: a mistyped link is the portal's error
page in their language (the customers' one under /my), and reloading a form's address after
a refused post goes back to its page instead of answering "Method Not Allowed". Programs (the
API, channels, health checks) keep FastAPI's JSON."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.accounts.models import User
from portal.database import Database
from tests.page_support import sign_in
from tests.portal import factories as f

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_a_mistyped_staff_address_is_the_error_page(client: TestClient) -> None:
    page = client.get("/tickts", headers=HTML)
    assert page.status_code == 404
    assert 'data-testid="error-page" data-status="404"' in page.text
    assert "这个地址没有页面" in page.text and "Not Found" not in page.text
    client.cookies.set("lang", "en")
    english = client.get("/tickts", headers=HTML)
    assert english.status_code == 404 and "There is no page at this address" in english.text


def test_a_mistyped_customer_address_is_the_customers_error_page(client: TestClient) -> None:
    page = client.get("/my/tickts", headers=HTML)
    assert page.status_code == 404
    assert 'data-testid="error-page" data-status="404"' in page.text
    assert 'href="/my"' in page.text and "这个地址没有页面" in page.text


def test_reloading_a_forms_address_goes_back_to_its_page(db: Database, client: TestClient) -> None:
    """A tester reloaded …/record after a refused work record and read `Method Not Allowed`."""
    with db.session() as s:
        net = f.network(s)
        eng = f.engineer(s, network=net)
        ticket = f.ticket(
            s,
            customer=f.customer(s),
            engineer=eng,
            actions=("accept", "dispatch", "engineer_accept", "depart", "arrive"),
        )
        number, username = ticket.number, s.get_one(User, eng.user_id).username
    sign_in_next = client.post(
        "/login", data={"username": username, "password": f.PASSWORD, "next": "/field"}
    )
    assert sign_in_next.status_code == 200
    answer = client.get(f"/field/jobs/{number}/record", headers=HTML, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/field/jobs/{number}"
    job = client.get(f"/field/jobs/{number}/record", headers=HTML)
    assert job.status_code == 200 and number in job.text
    # Another method than a form's post is refused on the page, not redirected.
    put = client.put(f"/field/jobs/{number}/record", headers=HTML)
    assert put.status_code == 405 and "这个地址不接受这种请求" in put.text


def test_programs_keep_the_json_answers(client: TestClient) -> None:
    api = client.get("/api/v1/no-such-thing", headers=HTML)
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    plain = client.get("/tickts", headers={"accept": "application/json"})
    assert plain.status_code == 404 and plain.json() == {"detail": "Not Found"}
    health = client.post("/healthz", headers=HTML)
    assert health.status_code == 405 and health.json() == {"detail": "Method Not Allowed"}


def test_a_signed_in_staff_member_keeps_the_menu_on_the_error_page(
    db: Database, client: TestClient
) -> None:
    with db.session() as s:
        f.user(s, role="dispatcher", username="errors-dispatcher")
    sign_in(client, "errors-dispatcher")
    page = client.get("/tickets/list/extra/nothing", headers=HTML)
    assert page.status_code == 404 and 'href="/tickets"' in page.text
