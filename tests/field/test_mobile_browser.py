"""The engineer's app in headless Chromium on a phone-sized screen (375×667, touch): log in,
walk a dispatched job through accept → depart → arrive (position from the phone) → work
record → photo → signature drawn on the screen → complete, then check the database.

The portal runs under uvicorn in a thread, on a free port, over a migrated temporary SQLite
database; the engineer and the job are made with the test factories.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal import wiring
from portal.accounts.models import User
from portal.config import Settings
from portal.database import Database
from portal.dispatch.models import EngineerPosition
from portal.dispatch.parts import NoParts
from portal.field.models import WorkRecord
from portal.main import create_app
from portal.migrate import upgrade
from portal.notifications import service as notifications
from portal.tickets.models import Ticket, TicketAttachment
from tests.e2e_fixtures import serve
from tests.field.support import build
from tests.portal import factories as f

pytestmark = pytest.mark.e2e

SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp"))
PHONE = {"latitude": 31.2401, "longitude": 121.5002, "accuracy": 15}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The whole portal on a free port, with two engineers and a job dispatched to each."""
    var = tmp_path_factory.mktemp("field")
    url = f"sqlite:///{var / 'portal.db'}"
    upgrade(url)
    db = wiring.wire(Database(url), Settings(), planner=NoParts())  # as the db fixture
    world = build(db)
    settings = Settings(_env_file=None, var_dir=var, database_url=url, secret_key="field-e2e")
    try:
        with serve(create_app(settings)) as base:
            yield {"url": base, "world": world, "db": db}
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def phone(browser: Browser, portal: dict[str, Any]) -> Iterator[Page]:
    """A phone-sized Chromium tab that lets the page read its position."""
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": 375, "height": 667},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        permissions=["geolocation"],
    )
    context.set_geolocation(PHONE)
    tab = context.new_page()
    tab.requested = []  # type: ignore[attr-defined]
    tab.on("request", lambda request: tab.requested.append(request.url))  # type: ignore[attr-defined]
    tab.dialogs = []  # type: ignore[attr-defined]
    tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    yield tab
    context.close()


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width}px wide on a 375px screen"


def test_walk_a_job_on_a_phone(portal: dict[str, Any], phone: Page) -> None:
    base, world = portal["url"], portal["world"]
    page = phone
    page.goto(base + "/field")
    expect(page).to_have_url(base + "/login?next=/field")
    page.fill("input[name=username]", world.username)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + "/field")

    card = page.locator(f"[data-testid=job-card][data-number='{world.job}']")
    expect(card).to_be_visible()
    expect(page.locator("[data-testid=job-card]")).to_have_count(1)
    expect(card.locator("[data-testid=eta]")).to_contain_text("预计")
    assert (
        card.locator("[data-testid=call]").get_attribute("href", timeout=1000).startswith("tel:1")
    )  # type: ignore[union-attr]
    amap = card.locator("[data-testid=map-amap]").get_attribute("href") or ""
    assert amap.startswith("https://uri.amap.com/marker?position=121.470000,31.230000")
    assert (card.locator("[data-testid=map-geo]").get_attribute("href") or "").startswith("geo:")
    _fits(page)
    page.screenshot(path=str(SHOTS / "field_today.png"), full_page=True)

    card.locator("[data-testid=open-job]").click()
    expect(page).to_have_url(base + f"/field/jobs/{world.job}")
    status = page.locator("[data-testid=job-status]")
    expect(status).to_have_attribute("data-status", "dispatched")
    _fits(page)
    page.screenshot(path=str(SHOTS / "field_job_new.png"), full_page=True)

    page.locator("[data-testid=accept]").tap()
    expect(status).to_have_attribute("data-status", "engineer_accepted")
    page.locator("[data-testid=depart]").tap()
    expect(status).to_have_attribute("data-status", "departed")
    page.locator("[data-testid=arrive]").tap()
    expect(status).to_have_attribute("data-status", "arrived")
    expect(page.locator("[data-testid=event-position]").first).to_contain_text("31.24010")

    page.fill("[data-testid=diagnosis]", "排水泵堵塞，E21")
    page.fill("[data-testid=work-done]", "清理排水泵，更换密封圈，试机正常")
    page.fill("[data-testid=part-0]", "密封圈")
    page.fill("[data-testid=qty-0]", "2")
    page.locator("[data-testid=save-record]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("工作记录已保存")

    page.set_input_files(
        "[data-testid=photo-input]",
        files=[{"name": "现场.png", "mimeType": "image/png", "buffer": f.PNG}],
    )
    page.locator("[data-testid=upload-photos]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("附件已上传")
    expect(page.locator("[data-testid=photo]")).to_have_count(1)

    # An empty pad is not sent.
    page.locator("[data-testid=save-signature]").tap()
    assert page.dialogs == ["请先签名"]  # type: ignore[attr-defined]
    pad = page.locator("[data-testid=signature-pad]")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None and box["width"] > 300
    x, y = box["x"], box["y"]
    page.mouse.move(x + 30, y + 120)
    page.mouse.down()
    for i in range(1, 16):
        page.mouse.move(x + 30 + i * 16, y + 120 - (i % 4) * 22, steps=2)
    page.mouse.up()
    page.locator("[data-testid=save-signature]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("客户签名已保存")
    expect(page.locator("[data-testid=signed] img")).to_be_visible()
    _fits(page)
    page.screenshot(path=str(SHOTS / "field_job_on_site.png"), full_page=True)

    # In warranty: the fault cause decides the cost centre (a non-quality one needs no photo).
    page.select_option("[data-testid=cause-select]", "improper_installation")
    page.locator("[data-testid=save-cause]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("故障原因已保存")
    page.locator("[data-testid=complete]").tap()
    expect(status).to_have_attribute("data-status", "completed")
    expect(page.locator("[data-testid=flash]")).to_have_text("已执行「完工」")
    summary = page.locator("[data-testid=record-summary]")
    expect(summary).to_contain_text("清理排水泵")
    expect(summary.locator("img")).to_have_count(2)  # the photo and the signature
    _fits(page)
    page.screenshot(path=str(SHOTS / "field_job_done.png"), full_page=True)

    # Another engineer's job is not there for them.
    missing = page.goto(base + f"/field/jobs/{world.others_job}")
    assert missing is not None and missing.status == 404

    outside = [u for u in page.requested if not u.startswith(base)]  # type: ignore[attr-defined]
    assert outside == [], f"the app reached outside the portal: {outside}"

    with portal["db"].session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == world.job)).one()
        assert ticket.status == "completed"
        steps = [(e.action, e.to_status) for e in ticket.events][-5:]
        assert steps == [
            ("engineer_accept", "engineer_accepted"),
            ("depart", "departed"),
            ("arrive", "arrived"),
            ("complete", "completed"),
            ("request_evaluation", "completed"),  # the automatic revisit asks for a rating
        ]
        arrive = next(e for e in ticket.events if e.action == "arrive")
        assert arrive.payload["position"]["lat"] == pytest.approx(31.2401)
        assert arrive.payload["position"]["lng"] == pytest.approx(121.5002)
        here = s.get_one(EngineerPosition, world.engineer_id)
        assert float(here.lat) == pytest.approx(31.2401)
        record = s.scalars(select(WorkRecord).where(WorkRecord.ticket_id == ticket.id)).one()
        assert record.work_done.startswith("清理排水泵")
        assert record.parts_used == [
            {"part_code": "", "name": "密封圈", "quantity": 2, "source": "other"}
        ]
        files = {
            a.id: a
            for a in s.scalars(
                select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)
            )
        }
        assert [files[i].filename for i in record.photo_ids] == ["现场.png"]
        signature = files[record.signature_id]  # type: ignore[index]
        assert signature.content_type == "image/png" and signature.size > 1000


def test_the_bell_shows_the_engineer_s_unread_notifications(
    portal: dict[str, Any], phone: Page
) -> None:
    """Staff pages have a bell; the engineer's app has one too, counting their own unread
    notifications (runs after the walk above, so the phone is signed in as the engineer)."""
    base, world, db = portal["url"], portal["world"], portal["db"]
    with db.session() as s:
        me = s.scalars(select(User).where(User.username == world.username)).one()
        before = notifications.list_mine(s, user_id=me.id, page_size=1)[2]
        for i in range(2):
            notifications.enqueue(
                s,
                key=f"bell-test-{i}",
                channel=notifications.PORTAL,
                recipient=notifications.staff_recipient(me.id),
                template="handoff_escalated",
                payload={"conversation": f"c{i}", "channel": "web", "minutes": 5},
            )
    phone.goto(base + "/field")
    count = phone.locator(".fbell [data-testid=bell-count]")
    expect(count).to_have_text(str(before + 2))
    _fits(phone)
    phone.screenshot(path=str(SHOTS / "field_bell.png"))
    phone.locator(".fbell [data-testid=bell]").click()
    expect(phone).to_have_url(base + "/notifications")
    expect(phone.locator("body")).to_contain_text("c1")
