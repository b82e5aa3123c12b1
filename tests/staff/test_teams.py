"""Agent teams: a team's skills and chat limit reach its members' chat profiles (what routing
reads), through the pages and the API; members leave with their settings; bad input is
refused with why and the form keeps what was typed."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.config import Settings
from portal.conversations import service as conversations
from portal.conversations.models import AgentProfile
from portal.database import Database
from portal.staff.models import AgentTeam
from tests.portal import factories as f
from tests.portal.test_pages import csrf, login


def _agents(db: Database) -> dict[str, int]:
    with db.session() as s:
        f.user(s, role="admin", username="boss")
        ids = {name: f.user(s, role="agent", username=name).id for name in ("amy", "bo", "cy")}
        s.add(AgentProfile(user_id=ids["cy"], max_chats=2, team="old", product_lines=["冰箱"]))
    return ids


def _profile(db: Database, user_id: int) -> tuple[int, list[str], list[str], str]:
    with db.session() as s:
        info = conversations.get_agent(s, user_id=user_id, default_max=3)
        return info.max_chats, list(info.product_lines), list(info.languages), info.team


def test_a_team_made_on_the_page_sets_its_members_profiles(
    client: TestClient, db: Database
) -> None:
    ids = _agents(db)
    with db.session() as s:
        f.product(s, category="空调")
        f.product(s, category="洗衣机")
    login(client, "boss")
    form = client.get("/staff/teams/new")
    assert 'value="空调"' in form.text and 'data-testid="member-amy"' in form.text
    token = csrf(client, "/staff/teams/new")
    bad = client.post(
        "/staff/teams/new",
        data={
            "csrf_token": token,
            "code": "Air Con",
            "name": "空调专席",
            "max_chats": "4",
            "product_lines": ["空调"],
            "languages": ["zh"],
            "members": [str(ids["amy"])],
        },
    )
    assert bad.status_code == 422 and "团队代码只能包含" in bad.text
    assert 'value="空调专席"' in bad.text and 'value="空调" checked' in bad.text
    made = client.post(
        "/staff/teams/new",
        data={
            "csrf_token": token,
            "code": "aircon",
            "name": "空调专席",
            "max_chats": "4",
            "product_lines": ["空调"],
            "extra_lines": "中央空调，新风",
            "languages": ["zh", "en"],
            "members": [str(ids["amy"]), str(ids["cy"])],
        },
    )
    assert made.status_code == 200 and "已保存团队 空调专席" in made.text
    assert made.text.count('data-testid="team-member"') == 2
    lines = ["空调", "中央空调", "新风"]
    assert _profile(db, ids["amy"]) == (4, lines, ["zh", "en"], "aircon")
    assert _profile(db, ids["cy"]) == (4, lines, ["zh", "en"], "aircon")  # left "old"
    assert _profile(db, ids["bo"])[3] == ""
    # Saving the team again with another limit and without cy: cy keeps theirs, leaves.
    with db.session() as s:
        team_id = s.scalars(select(AgentTeam.id)).one()
    saved = client.post(
        f"/staff/teams/{team_id}",
        data={
            "csrf_token": token,
            "code": "ignored",
            "name": "空调专席",
            "max_chats": "6",
            "product_lines": lines,
            "languages": ["zh"],
            "members": [str(ids["amy"]), str(ids["bo"])],
        },
    )
    assert saved.status_code == 200
    assert _profile(db, ids["amy"]) == (6, lines, ["zh"], "aircon")
    assert _profile(db, ids["bo"]) == (6, lines, ["zh"], "aircon")
    assert _profile(db, ids["cy"]) == (4, lines, ["zh", "en"], "")


def test_the_api_and_a_member_changed_alone(
    client: TestClient, db: Database, settings: Settings
) -> None:
    ids = _agents(db)
    with db.session() as s:
        admin = f.headers_for(s, settings, "admin")
    made = client.post(
        "/api/v1/staff/teams",
        json={"code": "en-desk", "name": "英文坐席", "languages": ["en"], "max_chats": 2},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    team = made.json()
    assert team["members"] == [] and team["product_lines"] == []
    members = client.put(
        f"/api/v1/staff/teams/{team['id']}/members",
        json={"user_ids": [ids["bo"]]},
        headers=admin,
    ).json()["members"]
    assert [(m["username"], m["max_chats"], m["differs"]) for m in members] == [("bo", 2, False)]
    # The console's own per-agent change: the team shows bo as differing.
    with db.session() as s:
        conversations.save_profile(
            s,
            user_id=ids["bo"],
            max_chats=5,
            product_lines=[],
            languages=["en"],
            team="en-desk",
            is_supervisor=False,
        )
    listed = client.get("/api/v1/staff/teams", headers=admin).json()
    assert listed[0]["members"][0]["differs"] is True
    assert (
        client.post(
            "/api/v1/staff/teams", json={"code": "en-desk", "name": "again"}, headers=admin
        ).status_code
        == 409
    )
    renamed = client.put(
        f"/api/v1/staff/teams/{team['id']}",
        json={"code": "other", "name": "x"},
        headers=admin,
    )
    assert renamed.status_code == 422
    with db.session() as s:
        dispatcher = f.user(s, role="dispatcher")
    unknown = client.put(
        f"/api/v1/staff/teams/{team['id']}/members",
        json={"user_ids": [dispatcher.id]},
        headers=admin,
    )
    assert unknown.status_code == 422 and "不是可接待会话的启用账号" in unknown.json()["message_zh"]
