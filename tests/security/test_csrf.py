"""Issue 18, finding 7 (CSRF): every write a session cookie authenticates needs the session's
CSRF token. The JSON API outside the console relied on SameSite=Lax alone: a form or script on
another site could post with a staff member's or a customer's cookie."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from portal.config import Settings
from portal.database import Database
from portal.main import create_app
from tests.portal import factories as f
from tests.security.routes import routes
from tests.selfservice.support import sign_in

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
INTAKE = {
    "type": "repair",
    "product": "洗衣机",
    "fault_description": "滚筒不转了",
    "phone": "13800138000",
    "channel": "web",
}
# Writes no session authenticates: each answers the same with or without a cookie.
PUBLIC_WRITES = {
    "POST /login",  # credentials, not a cookie
    "POST /api/v1/auth/token",  # credentials, answers a bearer token
    "POST /api/v1/customer-auth/code",  # sends a code to a phone
    "POST /api/v1/customer-auth/verify",  # proves the phone, answers a bearer token
    "POST /channels/rest/webhook",  # integration key, no cookie
    "POST /my/quote-answers",  # the quote's signed token (sent to the customer), no cookie
}


def _staff_session(client: TestClient, db: Database) -> str:
    with db.session() as s:
        name = f.user(s, role="agent").username
    page = client.post("/login", data={"username": name, "password": f.PASSWORD})
    assert page.status_code == 200, page.text
    found = TOKEN.search(page.text)
    assert found
    return found.group(1)


def test_a_staff_cookie_cannot_write_through_the_api_without_the_token(
    client: TestClient, db: Database
) -> None:
    token = _staff_session(client, db)
    forged = client.post("/api/v1/tickets", json=INTAKE)
    assert forged.status_code == 403 and forged.json()["error"] == "error.csrf"
    wrong = client.post("/api/v1/tickets", json=INTAKE, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403 and wrong.json()["error"] == "error.csrf"
    done = client.post("/api/v1/tickets", json=INTAKE, headers={"X-CSRF-Token": token})
    assert done.status_code == 201, done.text
    # Reads need no token.
    assert client.get("/api/v1/tickets").status_code == 200


def test_a_bearer_token_needs_no_csrf_token(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        headers = f.bearer(settings, f.user(s, role="agent"))
    assert client.post("/api/v1/tickets", json=INTAKE, headers=headers).status_code == 201


def test_a_customer_cookie_cannot_write_through_the_api_without_the_token(
    client: TestClient, db: Database
) -> None:
    client.follow_redirects = False
    sign_in(client, db, "13912345678")
    forged = client.post("/api/v1/tickets", json=INTAKE)
    assert forged.status_code == 403 and forged.json()["error"] == "error.csrf"


def test_logout_needs_the_token(client: TestClient, db: Database) -> None:
    token = _staff_session(client, db)
    client.follow_redirects = False
    assert client.post("/logout").status_code == 403
    assert client.get("/tickets").status_code == 200  # still signed in
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/tickets").status_code == 303


def _checks_csrf(app: FastAPI) -> list[str]:
    unprotected = []
    for route in routes(app):
        if route.method in ("GET", "OPTIONS") or route.label in PUBLIC_WRITES:
            continue
        names = {getattr(d.call, "__name__", "") for d in route.dependants()}
        # current_principal checks the header for cookie callers; protect the form field.
        if not names & {"current_principal", "protect"}:
            unprotected.append(route.label)
    return unprotected


def test_every_write_route_checks_the_token_or_takes_no_cookie(settings: Settings) -> None:
    app = create_app(settings)
    assert _checks_csrf(app) == []
    # The public writes are still there (a renamed route must be looked at again).
    labels = {r.label for r in routes(app)}
    assert labels >= PUBLIC_WRITES
