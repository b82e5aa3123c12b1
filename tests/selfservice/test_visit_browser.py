"""/my and the booked visit, in Chromium on a 390 px phone against the real app (testers found
no visit time and no way to move or cancel it): the booked window and the scheduled day show;
a day outside what can be booked is refused next to the form with the choice kept; a valid
one moves the visit and tells dispatch in the ticket's notes; the request is cancelled; once
the engineer is on site neither is offered.

Screenshots: my-visit-390.png, my-visit-refused-390.png (SCREENSHOT_DIR).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal.dispatch.models import DispatchVisit
from portal.intake.windows import now_local
from portal.tickets.models import Ticket, TicketComment
from tests.page_support import SHOTS, served_portal
from tests.portal import factories as f
from tests.selfservice.support import signed_in_phone

pytestmark = pytest.mark.e2e


def _world(db: Any) -> dict[str, Any]:
    tomorrow = (now_local() + timedelta(days=1)).date()
    with db.session() as s:
        net = f.network(s)
        engineer = f.engineer(s, network=net, name="李师傅")
        customer = f.customer(s, with_asset=False, name="王女士")
        booked = f.ticket(s, customer=customer, actions=("accept", "dispatch"), engineer=engineer)
        booked.details = {**booked.details, "preferred_time": f"{tomorrow} 08:00-12:00"}
        s.add(DispatchVisit(ticket_id=booked.id, engineer_id=engineer.id, visit_date=tomorrow))
        # Routed: the published plan puts the engineer at the door at 09:12 tomorrow.
        other = f.customer(s, with_asset=False, name="赵先生")  # a sign-in code of their own
        routed = f.ticket(s, customer=other, actions=("accept", "dispatch"), engineer=engineer)
        routed.details = {**routed.details, "preferred_time": f"{tomorrow} 08:00-12:00"}
        at_door = now_local().replace(hour=9, minute=12, second=0, microsecond=0)
        s.add(
            DispatchVisit(
                ticket_id=routed.id,
                engineer_id=engineer.id,
                visit_date=tomorrow,
                sequence=1,
                eta=at_door + timedelta(days=1),
                source="plan",
            )
        )
        on_site = f.ticket(
            s,
            customer=customer,
            actions=("accept", "dispatch", "engineer_accept", "depart", "arrive"),
            engineer=engineer,
        )
        s.flush()
        return {
            "phone": customer.phone,
            "booked": booked.number,
            "routed": routed.number,
            "routed_phone": other.phone,
            "on_site": on_site.number,
        }


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal on a free port: a customer with a booked visit and one on site."""
    with served_portal(tmp_path_factory.mktemp("my-visit"), _world) as running:
        yield running


@pytest.fixture
def phone(browser: Browser, portal: dict[str, Any]) -> Iterator[Page]:
    """The customer signed in to /my on a 390 px phone."""
    with signed_in_phone(browser, portal, portal["booked"]) as page:
        yield page


def test_the_visit_is_shown_moved_and_cancelled(phone: Page, portal: dict[str, Any]) -> None:
    page, db = phone, portal["db"]
    tomorrow = (now_local() + timedelta(days=1)).date()
    card = page.locator("[data-testid=my-visit]")
    expect(card.locator("[data-testid=visit-window]")).to_contain_text("已约定")
    expect(card.locator("[data-testid=visit-window]")).to_contain_text("上午 08:00–12:00")
    expect(card.locator("[data-testid=visit-window]")).to_have_attribute(
        "data-day", tomorrow.isoformat()
    )
    page.locator("[data-testid=visit-move-open]").tap()
    # Forty days ahead (a browser that ignores the field's max): refused, the choice kept.
    far = (now_local() + timedelta(days=40)).date().isoformat()
    page.evaluate("document.querySelector('[data-testid=visit-day-input]').removeAttribute('max')")
    page.fill("[data-testid=visit-day-input]", far)
    page.select_option("[data-testid=visit-part]", "evening")
    page.locator("[data-testid=visit-move]").tap()
    error = page.locator("[data-testid=visit-error]")
    expect(error).to_contain_text("只能预约 30 天以内")
    expect(error).to_be_in_viewport()
    expect(page.locator("[data-testid=visit-day-input]")).to_have_value(far)
    expect(page.locator("[data-testid=visit-part]")).to_have_value("evening")
    page.screenshot(path=str(SHOTS / "my-visit-refused-390.png"))
    # Tomorrow afternoon: moved, and the ticket's notes tell dispatch.
    page.fill("[data-testid=visit-day-input]", tomorrow.isoformat())
    page.select_option("[data-testid=visit-part]", "afternoon")
    page.locator("[data-testid=visit-move]").tap()
    expect(page.locator("[data-testid=flash]")).to_contain_text("已改约到")
    expect(card.locator("[data-testid=visit-window]")).to_contain_text("下午 13:00–18:00")
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "my-visit-390.png"))
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == portal["booked"])).one()
        assert ticket.details["preferred_time"] == f"{tomorrow} 13:00-18:00"
        notes = s.scalars(select(TicketComment).where(TicketComment.ticket_id == ticket.id)).all()
        assert any("客户在线改约上门时间" in n.body for n in notes)
    # Cancelled.
    page.locator("[data-testid=visit-cancel-open]").tap()
    page.fill("[data-testid=cancel-reason]", "已自行修好")
    page.locator("[data-testid=visit-cancel]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("报修已取消")
    expect(page.locator("[data-testid=ticket-status]")).to_have_text("已取消")
    expect(page.locator("[data-testid=visit-move-open]")).to_have_count(0)
    # On site: neither is offered, and a hand-made request is refused with the API's words.
    page.goto(f"{portal['base']}/my/tickets/{portal['on_site']}")
    expect(page.locator("[data-testid=visit-locked]")).to_be_visible()
    token = page.locator("form.my-logout input[name=csrf_token]").input_value()
    answer = page.request.post(
        f"{portal['base']}/my/tickets/{portal['on_site']}/visit",
        form={"csrf_token": token, "day": tomorrow.isoformat(), "part": "afternoon"},
    )
    assert answer.status == 422 and "不能再改约时间" in answer.text()


def test_a_moved_visit_shows_only_its_new_time(browser: Browser, portal: dict[str, Any]) -> None:
    """Issue 19: after moving a routed visit the page still said 已约定 the old day and the
    old ETA (which was the SLA deadline, not the route's 09:12), and the form offered 下午
    for a morning booking."""
    tomorrow = (now_local() + timedelta(days=1)).date()
    later = tomorrow + timedelta(days=2)
    old_day = f"{tomorrow.month}月{tomorrow.day}日"
    routed = {**portal, "phone": portal["routed_phone"]}
    with signed_in_phone(browser, routed, portal["routed"]) as page:
        card = page.locator("[data-testid=my-visit]")
        window = card.locator("[data-testid=visit-window]")
        expect(window).to_contain_text("已约定")
        expect(window).to_contain_text("上午 08:00–12:00，预计 09:12 到达")
        expect(page.locator("[data-testid=ticket-eta]")).to_contain_text("09:12")
        page.locator("[data-testid=visit-move-open]").tap()
        expect(page.locator("[data-testid=visit-part]")).to_have_value("morning")
        page.fill("[data-testid=visit-day-input]", later.isoformat())
        page.select_option("[data-testid=visit-part]", "evening")
        page.locator("[data-testid=visit-move]").tap()
        expect(page.locator("[data-testid=flash]")).to_contain_text("已改约到")
        expect(window).to_contain_text(f"{later.month}月{later.day}日")
        expect(window).to_contain_text("晚上 18:00–20:00")
        expect(window).not_to_contain_text(old_day)
        expect(window).not_to_contain_text("待网点确认")
        expect(page.locator("[data-testid=ticket-eta]")).to_have_count(0)
        page.locator("[data-testid=visit-move-open]").tap()
        expect(page.locator("[data-testid=visit-part]")).to_have_value("evening")
    with portal["db"].session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == portal["routed"])).one()
        visit = s.scalars(select(DispatchVisit).where(DispatchVisit.ticket_id == ticket.id)).one()
        assert visit.visit_date == later and visit.eta is None and visit.sequence is None
