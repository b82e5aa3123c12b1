"""The staff navigation: each role sees the links to the pages it may open, and no others."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from portal.accounts.models import User
from portal.analytics.filters import READERS
from portal.complaints.pages import READ_ROLES as COMPLAINT_ROLES
from portal.complaints.pages import REVISIT_ROLES
from portal.consults.policies import DESK as CONSULT_DESK
from portal.conversations.service import CHAT_ROLES
from portal.costs.policies import QUALITY
from portal.database import Database
from portal.dispatch.pages import DISPATCH_ROLES
from portal.knowledge.pages import EDITOR_ROLES
from portal.maintenance.pages import PLAN_ROLES
from portal.networks.models import ServiceNetwork
from portal.parts.pages import STOCK_ROLES
from portal.security import ROLES
from portal.settlement.pages import MONEY_ROLES
from portal.sop.pages import READ_ROLES
from portal.staff.policies import USERS as STAFF_ADMIN
from tests.conversations.support import PASSWORD, add_agent

NAV_LINK = re.compile(r'<a href="([^"]+)" hx-boost="false" data-testid="nav-link"')
# Who may open each page, as the pages' own guards say, in the order the nav lists them.
PAGES: dict[str, frozenset[str]] = {
    "/console": frozenset(CHAT_ROLES),
    "/consults": CONSULT_DESK.roles,
    "/dispatch": DISPATCH_ROLES,
    "/analytics": READERS,
    "/parts/stock": STOCK_ROLES,
    "/settlement": MONEY_ROLES,
    "/knowledge": EDITOR_ROLES,
    "/maintenance": PLAN_ROLES,
    "/sop": READ_ROLES,
    "/complaints": COMPLAINT_ROLES,
    "/revisits": REVISIT_ROLES,
    "/quality": QUALITY.roles,
    "/staff": STAFF_ADMIN.roles,
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


@pytest.mark.parametrize("role", [r for r in ROLES if r != "engineer"])
def test_each_role_sees_the_pages_it_may_open(hc: TestClient, db: Database, role: str) -> None:
    user_id = add_agent(db, "someone", role=role)
    if role == "network_manager":
        _manage_a_network(db, user_id)  # their pages are scoped to it
    _login(hc, "someone")
    expected = [path for path, roles in PAGES.items() if role in roles]
    assert _links(hc) == expected
    for path in PAGES:
        # The pages agree: the linked ones open, the others refuse this role.
        status = hc.get(path).status_code
        assert (status == 200) == (path in expected), (path, status)


def test_what_each_desk_sees(hc: TestClient, db: Database) -> None:
    for username, role, shown in [
        ("editor", "knowledge_editor", ["/knowledge", "/sop"]),
        (
            "disp",
            "dispatcher",
            ["/dispatch", "/analytics", "/parts/stock", "/maintenance", "/sop", "/complaints"],
        ),
        ("chat", "agent", ["/console", "/sop", "/complaints", "/revisits"]),
        ("money", "finance", ["/analytics", "/parts/stock", "/settlement", "/sop"]),
        ("root", "admin", list(PAGES)),
    ]:
        add_agent(db, username, role=role)
        _login(hc, username)
        assert _links(hc) == shown, role


def test_the_current_section_is_marked(hc: TestClient, db: Database) -> None:
    add_agent(db, "boss", role="admin")
    _login(hc, "boss")
    page = hc.get("/settlement")
    assert re.search(r'href="/settlement"[^>]*aria-current="page"', page.text)
    assert not re.search(r'href="/console"[^>]*aria-current="page"', page.text)
