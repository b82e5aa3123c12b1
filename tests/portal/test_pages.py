"""The staff pages through the real app and database: list, detail and its forms, customer
and asset pages, scoping, CSRF, the language switch and escaping of what users typed."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import User
from portal.assets.models import Asset
from portal.database import Database
from portal.tickets.models import Ticket, TicketAttachment, TicketComment
from tests.portal import factories as f

ROWS = re.compile(r'data-testid="ticket-row" data-number="([^"]+)"')
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
XSS = '<script>window.__xss=1</script><img src=x onerror="alert(1)">'


def login(client: TestClient, username: str, password: str = f.PASSWORD) -> None:
    """Start a page session."""
    # The ticket list, not the role's home (an engineer's is the field app, /field).
    response = client.post(
        "/login", data={"username": username, "password": password, "next": "/tickets"}
    )
    assert response.status_code == 200 and "/tickets" in str(response.url), response.text


def rows(client: TestClient, url: str) -> list[str]:
    """The ticket numbers a list page shows, in order."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    return ROWS.findall(page.text)


def csrf(client: TestClient, url: str = "/tickets") -> str:
    """This session's CSRF token, as a page hands it out."""
    found = TOKEN.search(client.get(url).text)
    assert found, "the page carries a CSRF token"
    return found.group(1)


def post(client: TestClient, url: str, data: dict[str, Any], **kwargs: Any) -> Any:
    """A form post with the session's token, following the redirect back to the page."""
    return client.post(url, data={"csrf_token": csrf(client), **data}, **kwargs)


def status_of(db: Database, number: str) -> str:
    with db.session() as session:
        return session.scalars(select(Ticket.status).where(Ticket.number == number)).one()


@pytest.fixture
def world(db: Database) -> dict[str, Any]:
    """Two networks in two cities, an engineer in each, desk users and a few tickets."""
    with db.session() as s:
        sh, bj = f.network(s, city="上海"), f.network(s, city="北京")
        eng_sh, eng_bj = f.engineer(s, network=sh), f.engineer(s, network=bj)
        agent = f.user(s, role="agent")
        dispatcher = f.user(s, role="dispatcher")
        manager = f.user(s, role="network_manager", network=sh)
        alice = f.customer(s, name="王小明")
        bob = f.customer(s, name="李华")
        new = f.ticket(s, customer=alice, product="空调", fault_description="不制冷")
        accepted = f.ticket(s, customer=bob, actions=("accept",), product="冰箱")
        mine = f.ticket(
            s, customer=alice, actions=("accept", "dispatch"), engineer=eng_sh, product="洗衣机"
        )
        theirs = f.ticket(
            s, customer=bob, actions=("accept", "dispatch"), engineer=eng_bj, type="installation",
            preferred_time="周六上午",
        )  # fmt: skip
        eng_sh_user = s.get_one(User, eng_sh.user_id)
        return {
            "agent": agent.username,
            "dispatcher": dispatcher.username,
            "manager": manager.username,
            "engineer": eng_sh_user.username,
            "eng_sh": (eng_sh.id, eng_sh.name),
            "eng_bj": (eng_bj.id, eng_bj.name),
            "sh": sh.id,
            "alice": alice.id,
            "alice_asset": s.scalars(select(Asset.id).where(Asset.customer_id == alice.id)).one(),
            "new": new.number,
            "accepted": accepted.number,
            "mine": mine.number,
            "theirs": theirs.number,
        }


def test_list_filters_views_and_sort(client: TestClient, world: dict[str, Any]) -> None:
    login(client, world["agent"])
    everything = rows(client, "/tickets")
    assert set(everything) == {world[k] for k in ("new", "accepted", "mine", "theirs")}
    assert rows(client, "/tickets?status=accepted") == [world["accepted"]]
    assert rows(client, "/tickets?type=installation") == [world["theirs"]]
    assert rows(client, "/tickets?q=冰箱") == [world["accepted"]]
    assert rows(client, f"/tickets?network={world['sh']}") == [world["mine"]]
    assert set(rows(client, "/tickets?view=pending")) == {world["new"], world["accepted"]}
    assert rows(client, "/tickets?view=to_dispatch") == [world["accepted"]]
    assert set(rows(client, "/tickets?view=in_service")) == {world["mine"], world["theirs"]}
    assert rows(client, "/tickets?view=to_settle") == []
    ascending = rows(client, "/tickets?sort=number")
    assert ascending == sorted(everything) and rows(client, "/tickets?sort=-number") == sorted(
        everything, reverse=True
    )
    page = client.get("/tickets?view=to_dispatch").text
    assert 'aria-current="page" data-view="to_dispatch"' in page and "待派单" in page


def test_list_pages_through_many_tickets(client: TestClient, db: Database) -> None:
    with db.session() as s:
        agent = f.user(s, role="agent")
        someone = f.customer(s, with_asset=False)
        for _ in range(23):
            f.ticket(s, customer=someone)
    login(client, agent.username)
    first, second = rows(client, "/tickets"), rows(client, "/tickets?page=2")
    assert len(first) == 20 and len(second) == 3 and not set(first) & set(second)
    assert "第 1 / 2 页" in client.get("/tickets").text


def test_times_are_shown_in_shanghai(client: TestClient, db: Database) -> None:
    with db.session() as s:
        agent = f.user(s, role="agent")
        late = f.ticket(
            s, customer=f.customer(s), at=datetime(2025, 3, 1, 16, 30, tzinfo=UTC)
        ).number
    login(client, agent.username)
    # The list stacks the date over the time (1280 px desks hold every column).
    assert '2025-03-02<div class="muted small">00:30</div>' in client.get("/tickets").text
    assert "2025-03-02 00:30:00" in client.get(f"/tickets/{late}").text


def test_an_engineer_sees_only_their_tickets(client: TestClient, world: dict[str, Any]) -> None:
    login(client, world["engineer"])
    assert rows(client, "/tickets") == [world["mine"]]
    assert rows(client, "/tickets?view=in_service") == [world["mine"]]
    # The network filter cannot widen what an engineer sees.
    assert rows(client, f"/tickets?network={world['sh']}") == [world["mine"]]
    hidden = client.get(f"/tickets/{world['theirs']}")
    assert hidden.status_code == 404 and "工单不存在" in hidden.text
    assert 'data-testid="error-page"' in hidden.text
    page = client.get(f"/tickets/{world['mine']}").text
    assert 'data-testid="action-engineer_accept"' in page
    assert 'data-testid="action-engineer_reject"' in page
    assert 'data-testid="action-accept"' not in page and 'data-testid="intake-form"' not in page


def test_a_network_manager_sees_their_network(client: TestClient, world: dict[str, Any]) -> None:
    login(client, world["manager"])
    assert rows(client, "/tickets") == [world["mine"]]
    assert client.get(f"/tickets/{world['theirs']}").status_code == 404


def test_accept_needs_the_address_first(
    client: TestClient, db: Database, bot_headers: dict[str, str]
) -> None:
    with db.session() as s:
        agent = f.user(s, role="agent")
    body = {"product": "洗衣机", "fault_description": "漏水", "phone": "13900139001"}
    number = client.post("/api/v1/tickets", json=body, headers=bot_headers).json()["number"]
    login(client, agent.username)
    detail = client.get(f"/tickets/{number}").text
    assert 'data-testid="missing-fields"' in detail and "地址" in detail

    refused = post(client, f"/tickets/{number}/actions", {"action": "accept"})
    assert refused.status_code == 200 and str(refused.url).endswith(f"/tickets/{number}")
    assert "缺少必填字段「地址」" in refused.text and status_of(db, number) == "new"

    saved = post(
        client,
        f"/tickets/{number}/intake",
        {"address": "上海市浦东新区世纪大道100号", "city": "上海", "fault_started": "昨天",
         "preferred_time": "2026-12-08 13:00-18:00",
         "urgency": "high", "fault_description": "漏水"},
    )  # fmt: skip
    assert "报修信息已保存" in saved.text and 'data-testid="missing-fields"' not in saved.text

    accepted = post(client, f"/tickets/{number}/actions", {"action": "accept"})
    assert "已执行「受理」" in accepted.text and status_of(db, number) == "accepted"
    assert 'data-status="accepted"' in accepted.text
    # The history names the agent and the step.
    assert agent.display_name in accepted.text and 'data-action="accept"' in accepted.text
    # The flash is shown once.
    assert "已执行「受理」" not in client.get(f"/tickets/{number}").text


def test_a_wrong_action_shows_the_message(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    login(client, world["agent"])
    page = post(client, f"/tickets/{world['new']}/actions", {"action": "complete"})
    assert page.status_code == 200
    assert "工单当前状态为「待受理」，不能执行「完工」" in page.text
    assert status_of(db, world["new"]) == "new"
    unknown = post(client, f"/tickets/{world['new']}/actions", {"action": "fly"})
    assert "未知操作「fly」" in unknown.text
    # Reassigning without a reason names the missing field.
    login(client, world["dispatcher"])
    no_reason = post(
        client,
        f"/tickets/{world['mine']}/actions",
        {"action": "reassign", "engineer_id": str(world["eng_sh"][0])},
    )
    assert "缺少必填字段「原因」" in no_reason.text


def test_cancelling_a_ticket_is_confirmed_first(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    """A tester cancelled a ticket with one click: the page now asks (a <details>, no script)
    and the form without its confirmation changes nothing."""
    login(client, world["agent"])
    number = world["new"]
    page = client.get(f"/tickets/{number}").text
    box = page[page.index('data-testid="confirm-box-cancel"') :]
    box = box[: box.index("</details>")]
    assert f"确定取消工单 {number}？" in box and 'name="confirm" value="yes"' in box
    hasty = post(client, f"/tickets/{number}/actions", {"action": "cancel"})
    assert "此操作需要先确认，未执行" in hasty.text and status_of(db, number) == "new"
    done = post(
        client,
        f"/tickets/{number}/actions",
        {"action": "cancel", "confirm": "yes", "reason": "重复"},
    )
    assert "已执行「取消」" in done.text and status_of(db, number) == "cancelled"


def test_dispatch_checks_the_engineers_skills(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    # The dispatch section ranks candidates (tests/dispatch/test_pages.py); the Shanghai
    # engineer repairs washing machines only, so for a fridge they are listed with why not.
    login(client, world["dispatcher"])
    page = client.get(f"/tickets/{world['accepted']}").text
    section = page[page.index('data-testid="ticket-dispatch"') :]
    eng_id, eng_name = world["eng_sh"]
    assert 'data-testid="no-candidates"' in section
    assert f'data-engineer-id="{eng_id}" data-reason="skill"' in section
    assert world["eng_bj"][1] not in section
    refused = post(
        client,
        f"/tickets/{world['accepted']}/actions",
        {"action": "dispatch", "engineer_id": eng_id},
    )
    assert f"{eng_name}不能接此单：不具备该产品的此类服务技能" in refused.text
    assert status_of(db, world["accepted"]) == "accepted"


def test_the_engineer_works_the_job_and_the_desk_evaluates(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    login(client, world["engineer"])
    for action in ("engineer_accept", "depart", "arrive", "complete"):
        post(client, f"/tickets/{world['mine']}/actions", {"action": action})
    assert status_of(db, world["mine"]) == "completed"
    page = client.get(f"/tickets/{world['mine']}").text
    stages = page[page.index('data-testid="stages"') :]
    assert "T5 现场服务" in stages and "未完成" in stages  # t6–t9 are not reached yet
    login(client, world["agent"])
    out_of_range = post(client, f"/tickets/{world['mine']}/actions",
                        {"action": "evaluate", "score": "9"})  # fmt: skip
    assert "「评分」的值无效" in out_of_range.text and status_of(db, world["mine"]) == "completed"
    post(client, f"/tickets/{world['mine']}/actions", {"action": "evaluate", "score": "4"})
    assert status_of(db, world["mine"]) == "evaluated"
    assert "评分 4" in client.get(f"/tickets/{world['mine']}").text


def test_a_rejecting_engineer_goes_back_to_their_list(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    login(client, world["engineer"])
    page = post(client, f"/tickets/{world['mine']}/actions",
                {"action": "engineer_reject", "reason": "不在服务范围"})  # fmt: skip
    assert str(page.url).endswith("/tickets") and page.status_code == 200
    assert status_of(db, world["mine"]) == "accepted"


def test_post_without_the_csrf_token_is_refused(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    login(client, world["agent"])
    csrf(client)  # the session has a token; the forged request does not carry it
    url = f"/tickets/{world['new']}/actions"
    missing = client.post(url, data={"action": "cancel"})
    assert missing.status_code == 403 and "页面已过期" in missing.text
    wrong = client.post(url, data={"action": "cancel", "csrf_token": "forged"})
    assert wrong.status_code == 403
    for path in ("comments", "intake", "attachments"):
        assert client.post(f"/tickets/{world['new']}/{path}", data={"body": "x"}).status_code == 403
    assert status_of(db, world["new"]) == "new"
    with db.session() as s:
        assert s.scalars(select(TicketComment)).all() == []
    # The header works as well as the field (for script requests).
    confirmed = {"action": "cancel", "confirm": "yes"}  # cancelling is confirmed first
    header = client.post(url, data=confirmed, headers={"X-CSRF-Token": csrf(client)})
    assert header.status_code == 200 and status_of(db, world["new"]) == "cancelled"


def test_english_switch_changes_the_labels(client: TestClient, world: dict[str, Any]) -> None:
    login(client, world["agent"])
    chinese = client.get("/tickets").text
    assert "工单列表" in chinese and "待受理" in chinese and 'lang="zh-CN"' in chinese
    switch = client.get("/lang/en?next=/tickets%3Fview%3Dpending", follow_redirects=False)
    assert switch.status_code == 303 and switch.headers["location"] == "/tickets?view=pending"
    english = client.get("/tickets").text
    assert 'lang="en"' in english and ">Tickets <small" in english and "New</span>" in english
    assert "工单列表" not in english and "待受理" not in english
    detail = client.get(f"/tickets/{world['new']}").text
    assert "Intake details" in detail and "报修信息" not in detail
    refused = post(client, f"/tickets/{world['new']}/actions", {"action": "complete"})
    assert "The ticket is 'New'; 'complete' is not allowed now" in html.unescape(refused.text)
    assert client.get("/lang/xx").status_code == 404
    back = client.get("/lang/zh?next=//evil.example", follow_redirects=False)
    assert back.headers["location"] == "/tickets"
    assert "工单列表" in client.get("/tickets").text


def test_what_users_typed_is_escaped(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    with db.session() as s:
        evil = f.ticket(s, customer=f.customer(s, name=XSS), fault_description=XSS).number
    login(client, world["agent"])
    post(client, f"/tickets/{evil}/comments", {"body": XSS, "internal": "1"})
    for url in ("/tickets", f"/tickets/{evil}", "/customers"):
        page = client.get(url).text
        assert "<script>window.__xss" not in page and '<img src=x onerror="alert(1)">' not in page
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page, url


def test_comments_and_attachments(client: TestClient, db: Database, world: dict[str, Any]) -> None:
    login(client, world["agent"])
    number = world["new"]
    added = post(client, f"/tickets/{number}/comments", {"body": "已电话联系", "internal": "1"})
    assert "备注已添加" in added.text and "已电话联系" in added.text and "内部" in added.text
    post(client, f"/tickets/{number}/comments", {"body": "师傅明天上门"})
    empty = post(client, f"/tickets/{number}/comments", {"body": "  "})
    assert "「内容」不能为空" in empty.text
    with db.session() as s:
        internal = dict(s.execute(select(TicketComment.body, TicketComment.internal)).all())
    assert internal == {"已电话联系": True, "师傅明天上门": False}

    token = csrf(client)
    url = f"/tickets/{number}/attachments"
    ok = client.post(url, data={"csrf_token": token}, files={"file": ("现场.png", f.PNG)})
    assert "附件已上传" in ok.text and "现场.png" in ok.text
    bad = client.post(url, data={"csrf_token": token}, files={"file": ("a.txt", b"hello")})
    assert bad.status_code == 200 and "只支持 JPG、PNG、GIF、WEBP 图片和 PDF 文件" in bad.text
    with db.session() as s:
        assert [a.filename for a in s.scalars(select(TicketAttachment))] == ["现场.png"]
    link = re.search(rf'href="(/api/v1/tickets/{number}/attachments/\d+)"', ok.text)
    assert link and client.get(link.group(1)).content == f.PNG


def test_customer_and_asset_pages(client: TestClient, world: dict[str, Any]) -> None:
    login(client, world["agent"])
    found = client.get("/customers?q=王小明").text
    assert f'data-id="{world["alice"]}"' in found and "李华" not in found
    profile = client.get(f"/customers/{world['alice']}").text
    assert "王小明" in profile and "上海浦东新区" in profile
    assert f'href="/assets/{world["alice_asset"]}"' in profile
    assert "保内" in profile or "已过保" in profile
    assert world["new"] in profile and world["mine"] in profile and world["theirs"] not in profile
    asset = client.get(f"/assets/{world['alice_asset']}")
    assert asset.status_code == 200 and "服务记录" in asset.text
    missing = client.get("/customers/999999")
    assert missing.status_code == 404 and "客户不存在" in missing.text
    assert client.get("/customers/abc").status_code == 404
    assert client.get("/assets/999999").status_code == 404


def test_customer_pages_are_for_the_desk(client: TestClient, world: dict[str, Any]) -> None:
    login(client, world["engineer"])
    refused = client.get(f"/customers/{world['alice']}")
    assert refused.status_code == 403 and "没有权限执行此操作" in refused.text
    assert client.get("/customers").status_code == 403
    assert 'href="/customers"' not in client.get("/tickets").text


def test_pages_serve_their_scripts_themselves(client: TestClient, world: dict[str, Any]) -> None:
    login(client, world["agent"])
    page = client.get(f"/tickets/{world['new']}").text
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)
    assert sources and all(s.startswith("http://testserver/static/") for s in sources), sources
    assert all(client.get(s).status_code == 200 for s in sources)
    assert "//cdn" not in page and "https://" not in page
