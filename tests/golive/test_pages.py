"""The go-live checklist page, and where each role lands after logging in."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.database import Database
from portal.templating import LANG_COOKIE
from tests.portal import factories as f


def log_in(client: TestClient, username: str, next_: str = "") -> str:
    response = client.post(
        "/login",
        data={"username": username, "password": f.PASSWORD, "next": next_},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


def test_the_admin_sees_what_is_missing_and_then_that_it_is_there(
    client: TestClient, db: Database
) -> None:
    with db.session() as s:
        f.user(s, role="admin", username="boss")
    assert log_in(client, "boss") == "/tickets"
    page = client.get("/golive")
    assert page.status_code == 200
    assert 'data-key="networks" data-ok="false"' in page.text
    assert "还没有服务网点" in page.text
    assert 'data-key="admins" data-ok="true"' in page.text
    assert 'data-key="desk" data-ok="false"' in page.text and "/staff" in page.text
    assert 'href="/golive"' in page.text  # the admin's nav links to it

    with db.session() as s:
        network = f.network(s, city="上海市", coverage=["浦东新区"])
        f.engineer(s, network=network, skills=(("洗衣机", "repair"),))
        f.user(s, role="dispatcher")
    client.cookies.set(LANG_COOKIE, "en")
    page = client.get("/golive")
    assert 'data-key="networks" data-ok="true"' in page.text
    assert "1 service network" in page.text
    assert (
        'data-key="desk" data-ok="true"' in page.text
        and "1 agent or dispatcher account" in page.text
    )


def test_only_admins_read_the_checklist(client: TestClient, db: Database) -> None:
    with db.session() as s:
        f.user(s, role="agent", username="desk")
    log_in(client, "desk")
    assert client.get("/golive").status_code == 403
    client.post("/logout", headers={"X-CSRF-Token": "x"})


def test_an_engineer_lands_in_the_field_app_unless_a_page_was_asked_for(
    client: TestClient, db: Database
) -> None:
    with db.session() as s:
        network = f.network(s)
        engineer = f.engineer(s, network=network)
        username = engineer.user_id
        login = s.get(f.User, username).username
    assert log_in(client, login) == "/field"
    assert log_in(client, login, "/tickets/SR20261206-0001") == "/tickets/SR20261206-0001"


def test_a_knowledge_editor_lands_in_the_knowledge_base(client: TestClient, db: Database) -> None:
    """A tester's editor landed on an empty ticket list: the FAQ is where their day starts."""
    with db.session() as s:
        login = f.user(s, role="knowledge_editor").username
    assert log_in(client, login) == "/knowledge"
