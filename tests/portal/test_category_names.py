"""Product categories in the reader's language: a tester in English mode read 洗衣机 in the
ticket list; the usual household categories have English names, a company's own category is
shown as written."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.database import Database
from portal.templating import templates
from tests.page_support import sign_in
from tests.portal import factories as f


def test_the_ticket_list_names_categories_in_english_when_asked(
    db: Database, client: TestClient
) -> None:
    with db.session() as s:
        washer = f.ticket(s, customer=f.customer(s), product="洗衣机").number
        own = f.ticket(s, customer=f.customer(s), product="咖啡机").number
        f.user(s, role="agent", username="category-agent")
    sign_in(client, "category-agent")
    chinese = client.get("/tickets").text
    assert washer in chinese and "<td>洗衣机</td>" in chinese
    client.cookies.set("lang", "en")
    english = client.get("/tickets").text
    assert own in english and "<td>Washing machine</td>" in english
    assert "<td>洗衣机</td>" not in english and "<td>咖啡机</td>" in english


def test_the_filter_leaves_empty_and_unknown_names_alone() -> None:
    page = templates.env.from_string("[{{ a | category }}][{{ b | category }}][{{ c | category }}]")
    assert page.render(a="空调", b="", c="咖啡机", lang="en") == "[Air conditioner][][咖啡机]"
    assert page.render(a="空调", b=None, c="咖啡机", lang="zh") == "[空调][][咖啡机]"
