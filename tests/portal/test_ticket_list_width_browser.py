"""The ticket list of a network manager at a 1280 px desk in English (a tester's finding, issue
19): with the demo's long statuses, product names, faults and networks the "Updated" column was
behind a sideways scroll."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from portal.database import Database
from tests.page_support import SHOTS, served_portal, signed_in_tab
from tests.portal import factories as f

pytestmark = pytest.mark.e2e


def _build(db: Database) -> dict[str, Any]:
    with db.session() as s:
        net = f.network(s, name="上海浦东服务中心")
        engineer = f.engineer(s, network=net, name="林浩然")
        manager = f.user(s, role="network_manager", network=net).username
        for product, actions in (
            ("空调", ("accept", "dispatch", "engineer_accept", "depart")),
            ("洗衣机", ("accept", "dispatch", "engineer_accept", "depart", "arrive")),
            ("热水器", ("accept", "dispatch")),
        ):
            f.ticket(
                s,
                customer=f.customer(s, name="谢海燕"),
                actions=actions,
                engineer=engineer,
                product=product,
                fault_description="空调不制冷了，外机不转，显示屏闪烁 E4 故障代码，已经两天了",
                channel="web",
            )
    return {"manager": manager}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with served_portal(tmp_path_factory.mktemp("list-width"), _build) as running:
        yield running


def test_the_managers_english_ticket_list_fits_1280(
    browser: Browser, portal: dict[str, Any]
) -> None:
    with signed_in_tab(browser, portal["base"], portal["manager"]) as page:
        page.goto(f"{portal['base']}/lang/en?next=/tickets")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("[data-testid=ticket-row]")).to_have_count(3)
        page.screenshot(path=str(SHOTS / "tickets-manager-en-1280.png"), full_page=True)
        hidden = page.evaluate(
            "[...document.querySelectorAll('.table-wrap')].map(w => w.scrollWidth - w.clientWidth)"
        )
        assert hidden and all(w <= 0 for w in hidden), hidden
