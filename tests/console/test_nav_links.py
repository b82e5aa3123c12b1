"""The staff navigation: each role sees the links to the pages it may open, and no others."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from starlette.routing import Match

from portal.accounts.models import User
from portal.analytics.filters import READERS
from portal.conversations.service import CHAT_ROLES
from portal.database import Database
from portal.networks.models import ServiceNetwork
from portal.parts.pages import STOCK_ROLES
from portal.security import ROLES
from portal.settlement.pages import MONEY_ROLES
from tests.conversations.support import PASSWORD, add_agent

NAV_LINK = re.compile(r'<a href="([^"]+)" hx-boost="false" data-testid="nav-link"')
# Who may open each page, as the pages' own guards say.
MOUNTED_PAGES: dict[str, frozenset[str]] = {
    "/console": frozenset(CHAT_ROLES),
    "/analytics": READERS,
    "/parts/stock": STOCK_ROLES,
    "/settlement": MONEY_ROLES,
}
# Pages other work is adding; their links wait until the route is mounted.
COMING_PAGES: dict[str, frozenset[str]] = {
    "/kb": frozenset({"admin", "knowledge_editor"}),
    "/maintenance": frozenset({"admin", "dispatcher"}),
    "/sop": frozenset({"admin", "dispatcher"}),
}


def _login(client: TestClient, username: str) -> None:
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/tickets"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _manage_a_network(db: Database, user_id: int) -> None:
    with db.session() as session:
        network = ServiceNetwork(code="SZ01", name="深圳南山网点", city="深圳")
        session.add(network)
        session.flush()
        session.get_one(User, user_id).network_id = network.id


def _links(client: TestClient) -> list[str]:
    page = client.get("/tickets")
    assert page.status_code == 200, page.text
    return NAV_LINK.findall(page.text)


def _mounted(client: TestClient) -> set[str]:
    """Which of the linked pages a route answers."""
    app: FastAPI = client.app  # type: ignore[assignment]
    return {
        path
        for path in {**MOUNTED_PAGES, **COMING_PAGES}
        if any(
            route.matches({"type": "http", "path": path, "method": "GET"})[0] == Match.FULL
            for route in app.router.routes
        )
    }


@pytest.mark.parametrize("role", [r for r in ROLES if r != "engineer"])
def test_each_role_sees_the_pages_it_may_open(hc: TestClient, db: Database, role: str) -> None:
    user_id = add_agent(db, "someone", role=role)
    if role == "network_manager":
        _manage_a_network(db, user_id)  # their pages are scoped to it
    _login(hc, "someone")
    every = {**MOUNTED_PAGES, **COMING_PAGES}
    mounted = _mounted(hc)
    expected = [path for path, roles in every.items() if role in roles and path in mounted]
    assert _links(hc) == expected
    for path in MOUNTED_PAGES:
        assert path in mounted, f"{path} is no longer a page"
        # The pages agree: the linked ones open, the others refuse this role.
        status = hc.get(path).status_code
        assert (status == 200) == (path in expected), (path, status)


def test_links_to_coming_pages_show_once_mounted(hc: TestClient, db: Database) -> None:
    for path in COMING_PAGES:
        if path not in _mounted(hc):
            app: FastAPI = hc.app  # type: ignore[assignment]
            app.add_api_route(
                path, lambda: PlainTextResponse("page"), response_class=PlainTextResponse
            )
    for username, role, shown in [
        ("editor", "knowledge_editor", ["/kb"]),
        ("disp", "dispatcher", ["/analytics", "/parts/stock", "/maintenance", "/sop"]),
        ("chat", "agent", ["/console"]),
        ("money", "finance", ["/analytics", "/parts/stock", "/settlement"]),
    ]:
        add_agent(db, username, role=role)
        _login(hc, username)
        assert _links(hc) == shown, role
    add_agent(db, "root", role="admin")
    _login(hc, "root")
    assert _links(hc) == [*MOUNTED_PAGES, *COMING_PAGES]


def test_the_current_section_is_marked(hc: TestClient, db: Database) -> None:
    add_agent(db, "boss", role="admin")
    _login(hc, "boss")
    page = hc.get("/settlement")
    assert re.search(r'href="/settlement"[^>]*aria-current="page"', page.text)
    assert not re.search(r'href="/console"[^>]*aria-current="page"', page.text)
