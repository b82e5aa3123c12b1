"""The audit log in headless Chromium on the real app: an admin narrows it to one clerk's
changes to tickets in a time range, then to one ticket."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import func, insert, select

from portal.audit.models import AuditRecord
from portal.database import Database
from tests.page_support import SHOTS, served_portal, signed_in_tab
from tests.portal import factories as f

pytestmark = pytest.mark.e2e
T0 = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)  # 09:30 in Beijing


def _build(db: Database) -> dict[str, Any]:
    with db.session() as s:
        clerk = f.user(s, role="agent", display_name="坐席小李")
        other = f.user(s, role="dispatcher", display_name="调度老王")
        admin = f.user(s, role="admin")
        rows = []
        for i, (who, entity, eid, hours) in enumerate(
            [(clerk, "tickets", "41", 0), (other, "tickets", "41", 1), (clerk, "customers", "9", 2),
             (clerk, "tickets", "42", 3), (clerk, "tickets", "41", 30)]
        ):  # fmt: skip
            rows.append({
                "actor": f"user:{who.id}", "action": "update", "entity": entity,
                "entity_id": eid, "created_at": T0 + timedelta(hours=hours),
                "before": {"status": "new", "note": ""},
                "after": {"status": "accepted", "note": f"第{i + 1}次修改"},
            })  # fmt: skip
        s.execute(insert(AuditRecord), rows)
        # A real ticket's record: named by its number, its owner and status as words.
        ticket = f.ticket(s, customer=f.customer(s))
        s.execute(
            insert(AuditRecord),
            [{"actor": f"user:{clerk.id}", "action": "update", "entity": "complaints",
              "entity_id": "5", "created_at": T0 + timedelta(days=3),
              "before": {"ticket_id": ticket.id, "owner_id": None, "status": "open",
                         "deadline_at": "2026-11-24T02:00:00+00:00"},
              "after": {"ticket_id": ticket.id, "owner_id": other.id, "status": "in_progress",
                        "deadline_at": "2026-11-25T02:00:00+00:00"}}],
        )  # fmt: skip
        return {"admin": admin.username, "clerk": clerk.username, "clerk_actor": f"user:{clerk.id}",
                "ticket": ticket.number}  # fmt: skip


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with served_portal(tmp_path_factory.mktemp("audit-e2e"), _build) as running:
        yield running


def test_an_admin_filters_the_audit_log(browser: Browser, portal: dict[str, Any]) -> None:
    with signed_in_tab(browser, portal["base"], portal["admin"]) as page:
        # The audit log is past the bar's first entries: an admin opens "More" for it.
        page.click("[data-testid=nav-more] summary")
        page.click("[data-testid=nav-audit]")
        page.wait_for_url("**/audit")
        form = page.locator("[data-testid=audit-filters]")
        form.locator("input[name=actor]").fill(portal["clerk"])
        # The object types read as words, not table names (the value stays the table).
        entity = form.locator("select[name=entity]")
        shown = entity.locator("option").all_inner_texts()
        assert "工单" in shown and "备件预留" in shown and "tickets" not in shown
        assert not [o for o in shown if re.fullmatch(r"[a-z_]+", o)], shown
        entity.select_option("tickets")
        form.locator("input[name=from]").fill("2026-11-20T09:00")
        form.locator("input[name=to]").fill("2026-11-20T18:00")
        form.locator("[data-testid=audit-search]").click()
        page.wait_for_url("**actor=**")
        rows = page.locator("[data-testid=audit-row]")
        expect(rows).to_have_count(2)
        assert {rows.nth(i).get_attribute("data-entity-id") for i in range(2)} == {"41", "42"}
        for i in range(2):
            expect(rows.nth(i)).to_have_attribute("data-actor", portal["clerk_actor"])
            expect(rows.nth(i)).to_contain_text("坐席小李")
        expect(rows.first).to_contain_text("第4次修改")
        # The filters stay as typed; a click on an object narrows to it.
        expect(form.locator("input[name=actor]")).to_have_value(portal["clerk"])
        expect(form.locator("input[name=from]")).to_have_value("2026-11-20T09:00")
        page.screenshot(path=str(SHOTS / "audit-1280.png"), full_page=True)
        row_41 = page.locator("[data-testid=audit-row][data-entity-id='41']").first
        row_41.locator("[data-testid=audit-only-this]").click()
        page.wait_for_url("**entity_id=41**")
        expect(page.locator("[data-testid=audit-row]")).to_have_count(1)
        page.click("a:has-text('清除筛选')")
        page.wait_for_url("**/audit")
        with portal["db"].session() as s:
            every = s.scalar(select(func.count()).select_from(AuditRecord))
        expect(page.locator("[data-testid=audit-row]")).to_have_count(every)


def test_the_log_reads_in_both_languages(browser: Browser, portal: dict[str, Any]) -> None:
    """The record of a complaint names its ticket by number (a link to it), its owner by
    name, the status and times as words, in Chinese and in English."""
    with signed_in_tab(browser, portal["base"], portal["admin"]) as page:
        for lang, owner, status in (("zh", "负责人", "处理中"), ("en", "owner", "In progress")):
            page.goto(f"{portal['base']}/lang/{lang}?next=/audit%3Fentity%3Dcomplaints")
            row = page.locator("[data-testid=audit-row]").first
            expect(row.locator("[data-testid=audit-ticket]")).to_have_text(portal["ticket"])
            expect(row).to_contain_text(owner)
            expect(row).to_contain_text("调度老王")
            expect(row).to_contain_text(status)
            expect(row).to_contain_text("2026-11-25 10:00:00")
            page.screenshot(path=str(SHOTS / f"audit-record-{lang}-1280.png"), full_page=True)
        row.locator("[data-testid=audit-ticket]").click()
        page.wait_for_url(f"**/tickets/{portal['ticket']}")
