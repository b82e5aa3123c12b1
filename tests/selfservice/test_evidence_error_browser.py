"""/my warranty proof on a 390 px phone (testers found its error off-screen): a refused proof
of purchase shows why under the field it is about, in view, with the date typed kept.

Screenshot: my-evidence-error-390.png (SCREENSHOT_DIR).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from portal.intake.windows import now_local
from tests.page_support import SHOTS, served_portal
from tests.portal import factories as f
from tests.selfservice.support import signed_in_phone

pytestmark = pytest.mark.e2e


def _world(db: Any) -> dict[str, Any]:
    with db.session() as s:
        customer = f.customer(s, with_asset=False, name="王女士")
        ticket = f.ticket(s, customer=customer, actions=("accept",))
        return {"phone": customer.phone, "ticket": ticket.number}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal on a free port: a customer with an open ticket and no registered unit."""
    with served_portal(tmp_path_factory.mktemp("my-evidence"), _world) as running:
        yield running


@pytest.fixture
def phone(browser: Browser, portal: dict[str, Any]) -> Iterator[Page]:
    """The customer signed in to /my on a 390 px phone, on the ticket's page."""
    with signed_in_phone(browser, portal, portal["ticket"]) as page:
        yield page


def test_a_refused_proof_says_why_next_to_the_field(phone: Page) -> None:
    page = phone
    later = (now_local() + timedelta(days=3)).date().isoformat()  # bought in the future
    page.fill("[data-testid=purchase-date]", later)
    page.set_input_files(
        "[data-testid=invoice]",
        files=[{"name": "发票.png", "mimeType": "image/png", "buffer": f.PNG}],
    )
    page.locator("[data-testid=evidence-submit]").tap()
    error = page.locator("[data-testid=evidence-error]")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("data-field", "purchase_date")
    expect(error).to_be_in_viewport()
    expect(page.locator("[data-testid=purchase-date]")).to_have_value(later)
    expect(page.locator("[data-testid=purchase-date]")).to_have_attribute("aria-invalid", "true")
    # Right under the date field, inside the warranty card.
    field = page.locator("[data-testid=purchase-date]").bounding_box()
    box = error.bounding_box()
    assert field is not None and box is not None
    assert 0 <= box["y"] - (field["y"] + field["height"]) < 60
    page.screenshot(path=str(SHOTS / "my-evidence-error-390.png"))
