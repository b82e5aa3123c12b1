"""The console page: staff who chat get it, others are refused; scripts are served locally."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from portal.database import Database
from tests.conversations.support import PASSWORD, add_agent
from tests.page_support import reading_in

CONFIG = re.compile(r'<script type="application/json" id="console-config">(.*?)</script>', re.S)


def _login(client: TestClient, username: str) -> None:
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/console"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_console_page_for_agents(hc: TestClient, db: Database) -> None:
    add_agent(db, "boss", role="admin")
    add_agent(db, "helper", team="ac")
    assert hc.get("/console", follow_redirects=False).headers["location"].startswith("/login")
    _login(hc, "boss")
    page = hc.get("/console")
    assert page.status_code == 200
    assert 'data-testid="console"' in page.text and 'data-testid="agents"' in page.text
    config = json.loads(CONFIG.search(page.text).group(1))  # type: ignore[union-attr]
    assert config["supervisor"] is True and config["kb"] is False
    assert config["teams"] == ["ac"]
    assert [a["name"] for a in config["agents"]] == ["坐席helper"]
    assert config["strings"]["author_agent"] == "坐席"
    assert config["quickReplies"][0].startswith("您好")
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page.text)
    assert any(a.endswith("/static/console/console.js") for a in assets)
    for src in assets:
        assert src.startswith(("/static/", "http://testserver/static/")), src
        assert hc.get(src).status_code == 200
    with reading_in(hc, "en"):
        english = hc.get("/console")
    assert "Agent console" in english.text


def test_console_page_refuses_other_roles(hc: TestClient, db: Database) -> None:
    add_agent(db, "disp", role="dispatcher")
    _login(hc, "disp")
    assert hc.get("/console").status_code == 403
