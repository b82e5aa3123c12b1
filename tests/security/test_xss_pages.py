"""XSS: markup typed into every free-text field reaches the staff pages as text, never as HTML.

Each field gets its own payload naming it (`<img src=x onerror=window.__xss="...">`, a
`<script>` block, and an attribute break-out), entered through the API the way a customer,
the bot or an agent would; then every staff page that shows the field is opened in headless
Chromium. A payload that ran would set `window.__xss` to the field's name; one shown as
text appears literally in the page's text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from portal.accounts.models import User
from portal.customers.models import Customer
from portal.database import Database
from tests.console.test_console_browser import portal  # noqa: F401 (fixture: portal + fake Rasa)
from tests.conversations.support import BOT, PASSWORD, hand_off, public_id, say, token
from tests.portal import factories as f

pytestmark = pytest.mark.e2e


def img(field: str) -> str:
    """An image whose error handler would record the field's name."""
    return f'<img src=x onerror=window.__xss="{field}">'


def script(field: str) -> str:
    """A script block that would record the field's name."""
    return f'<script>window.__xss="{field}"</script>'


def breakout(field: str) -> str:
    """Leaves a quoted attribute, then adds an image."""
    return f'"\'><img src=x onerror=window.__xss="{field}">'


def long_payload(field: str) -> str:
    """All three kinds at once, for fields long enough to hold them."""
    return f"{field}:{img(field)}{script(field)}{breakout(field)}"


PAYLOADS: dict[str, str] = {
    "fault_description": long_payload("fault_description"),
    "customer_name": img("customer_name"),
    "address": long_payload("address"),
    "product": img("product"),
    "fault_started": img("fault_started"),
    "preferred_time": img("preferred_time"),
    "comment": long_payload("comment"),
    "cancel_reason": long_payload("cancel_reason"),
    "serial_number": img("serial"),
    "model_name": img("model_name"),
    "customer_address": long_payload("customer_address"),
    "address_label": '<svg onload=window.__xss="lb">',  # the column holds 32 characters
    "part_name": img("part_name"),
    "chat_message": long_payload("chat_message"),
    "handoff_summary": long_payload("handoff_summary"),
}


@pytest.fixture(scope="module")
def world(portal: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """Tickets, a customer, an asset, a part and a chat, every text field a payload."""
    base = portal["url"]
    with httpx.Client(base_url=base, timeout=30) as api:
        admin = token(api, "boss")  # type: ignore[arg-type]
        ticket_fields = {
            name: PAYLOADS[name]
            for name in (
                "fault_description",
                "customer_name",
                "address",
                "product",
                "fault_started",
                "preferred_time",
            )
        }
        created = api.post(
            "/api/v1/tickets",
            json={**ticket_fields, "phone": "13912345678", "city": "上海", "district": "浦东新区"},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        ticket = created.json()
        comment = api.post(
            f"/api/v1/tickets/{ticket['number']}/comments",
            json={"body": PAYLOADS["comment"]},
            headers=admin,
        )
        assert comment.status_code == 201, comment.text

        second = api.post(
            "/api/v1/tickets",
            json={"phone": "13912345678", "product": "空调", "fault_description": "不制冷"},
            headers=admin,
        ).json()
        cancelled = api.post(
            f"/api/v1/tickets/{second['number']}/transitions",
            json={"action": "cancel", "reason": PAYLOADS["cancel_reason"]},
            headers=admin,
        )
        assert cancelled.status_code == 200, cancelled.text

        db = Database(portal["db"])
        with db.session() as s:
            # No API writes these: product models are reference data, and customers' saved
            # addresses come from the WeChat menu.
            model = f.product_model(s)
            model.name = PAYLOADS["model_name"]
            model_code = model.code
            f.address(
                s,
                customer=s.get_one(Customer, ticket["customer_id"]),
                detail=PAYLOADS["customer_address"],
                label=PAYLOADS["address_label"],
            )
            engineer = f.engineer(s, network=f.network(s, city="上海"))
            field_login = s.get_one(User, engineer.user_id).username
            route = {"network_id": engineer.network_id, "engineer_id": engineer.id}
        db.dispose()
        for action in ({"action": "accept"}, {"action": "dispatch", **route}):
            moved = api.post(
                f"/api/v1/tickets/{ticket['number']}/transitions", json=action, headers=admin
            )
            assert moved.status_code == 200, moved.text
        asset = api.post(
            "/api/v1/assets",
            json={
                "serial_number": PAYLOADS["serial_number"],
                "model_code": model_code,
                "customer_id": ticket["customer_id"],
            },
            headers=admin,
        )
        assert asset.status_code == 201, asset.text
        part = api.post(
            "/api/v1/parts/catalogue",
            json={
                "code": "XSS-001",
                "name": PAYLOADS["part_name"],
                "unit_cost": "10.00",
                "unit_price": "20.00",
            },
            headers=admin,
        )
        assert part.status_code == 201, part.text

        say(api, "xss-visitor", PAYLOADS["chat_message"])  # type: ignore[arg-type]
        db = Database(portal["db"])
        conversation = public_id(db, "xss-visitor")
        db.dispose()
        hand_off(api, conversation, summary=PAYLOADS["handoff_summary"])  # type: ignore[arg-type]
    return {
        "ticket": ticket["number"],
        "cancelled": second["number"],
        "customer": ticket["customer_id"],
        "asset": asset.json()["id"],
        "conversation": conversation,
        "engineer": field_login,
        "bot": BOT,
    }


@pytest.fixture(scope="module")
def staff(browser: Any, portal: dict[str, Any]) -> Iterator[Any]:  # noqa: F811
    """An admin's tab, logged in (admins see every page)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.goto(portal["url"] + "/login?next=/tickets")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/tickets")
    yield page
    context.close()


def assert_inert(page: Any, *fields: str) -> None:
    """No payload ran, and each field's payload is on the page (its text or a form field's
    value), character for character."""
    page.wait_for_load_state("load")
    ran = page.evaluate("window.__xss")
    assert ran is None, f"the {ran} payload ran as code on {page.url}"
    # The text, plus what form fields hold (a value attribute is no text node).
    text = page.evaluate(
        "document.body.textContent + [...document.querySelectorAll('input, textarea')]"
        ".map(e => e.value).join('\\n')"
    )
    missing = [name for name in fields if PAYLOADS[name] not in text]
    assert not missing, f"{page.url} does not show these literally: {missing}"


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/tickets", ("fault_description", "product")),
        (
            "/tickets/{ticket}",
            (
                "fault_description",
                "customer_name",
                "address",
                "product",
                "fault_started",
                "preferred_time",
                "comment",
            ),
        ),
        ("/tickets/{cancelled}", ("cancel_reason",)),
        ("/customers", ("customer_name",)),
        (
            "/customers/{customer}",
            ("customer_name", "customer_address", "address_label", "serial_number"),
        ),
        ("/assets/{asset}", ("serial_number", "model_name", "customer_name")),
        ("/settlement/tickets/{ticket}", ()),
        ("/parts/stock", ()),
        ("/analytics/tickets", ()),
    ],
)
def test_server_rendered_pages_show_markup_as_text(
    staff: Any,
    portal: dict[str, Any],  # noqa: F811
    world: dict[str, Any],
    path: str,
    fields: tuple[str, ...],
) -> None:
    staff.goto(portal["url"] + path.format(**world))
    assert staff.url.endswith(path.format(**world).split("?")[0]), "the page did not open"
    assert_inert(staff, *fields)


def test_the_console_shows_chat_and_handoff_markup_as_text(
    browser: Any,
    portal: dict[str, Any],  # noqa: F811
    world: dict[str, Any],
) -> None:
    from tests.console import flow

    agent = flow.open_console(browser, portal["url"], "boss", PASSWORD)
    item = agent.locator(f'[data-testid=queue-item][data-id="{world["conversation"]}"]')
    item.wait_for(timeout=10_000)
    item.click()
    agent.locator("[data-testid=summary-text]").filter(has_text="handoff_summary").wait_for()
    agent.get_by_text(PAYLOADS["chat_message"], exact=False).first.wait_for()
    assert_inert(agent, "handoff_summary", "chat_message")
    agent.context.close()


def test_the_engineers_field_pages_show_markup_as_text(
    browser: Any,
    portal: dict[str, Any],  # noqa: F811
    world: dict[str, Any],
) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(portal["url"] + "/login?next=/field")
    page.fill("input[name=username]", world["engineer"])
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/field")
    assert_inert(page, "customer_name", "address")
    page.goto(portal["url"] + f"/field/jobs/{world['ticket']}")
    assert_inert(page, "fault_description", "address", "customer_name")
    context.close()
