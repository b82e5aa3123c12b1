"""The operations board in English (a tester's finding, issue 19): the product filter, the
exceptional tickets' status badges and their city read in English, not in Chinese."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from portal.database import Database
from tests.analytics.conftest import World
from tests.analytics.test_pages import login

Q = "from=2026-11-01&to=2026-11-22"
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_the_operations_board_in_english_has_no_chinese_labels(
    db: Database, client: TestClient, world: World
) -> None:
    client.app.state.analytics_max_age_s = 0  # type: ignore[attr-defined]
    login(db, client, "dispatcher")
    client.get("/lang/en?next=/analytics/operations")
    page = client.get(f"/analytics/operations?{Q}").text
    products = page[page.index('<select name="product"') :]
    products = products[: products.index("</select>")]
    shown = re.findall(r"<option[^>]*>([^<]*)</option>", products)
    assert len(shown) > 1 and not [p for p in shown if HAN.search(p)], shown
    cities = page[page.index('<select name="city"') :]
    cities = cities[: cities.index("</select>")]
    shown = re.findall(r"<option[^>]*>([^<]*)</option>", cities)
    assert "Shanghai" in shown and not [c for c in shown if HAN.search(c)], shown
    rows = re.findall(r'<tr data-number="[^"]+">(.*?)</tr>', page, re.S)
    assert rows
    for row in rows:
        badge = re.search(r'<span class="status status-\w+">([^<]*)</span>', row)
        assert badge and not HAN.search(badge.group(1)), row
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        assert not HAN.search(cells[3]), cells  # the city
