"""A defective return not shipped back within its time (RETURN_DAYS after it was raised) shows
as overdue on the returns page, with its due date, and the page filters to the overdue ones
(a tester found no way to tell a late return from one raised yesterday)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from fastapi.testclient import TestClient

from portal.database import Database, utcnow
from portal.parts import service
from portal.parts.models import DefectiveReturn
from portal.templating import DISPLAY_ZONE
from tests.page_support import sign_in
from tests.parts.test_return_pages import ROW, _world

OVERDUE = re.compile(r'data-testid="return-row" data-id="(\d+)"[^>]*data-overdue="yes"')


def test_a_late_return_is_overdue_and_filterable(client: TestClient, db: Database) -> None:
    w = _world(db)
    late, fresh = w["returns"]
    with db.session() as s:
        # Raised past its time and not shipped: overdue. A third, as late but already
        # shipped, is on its way and not overdue.
        s.get_one(DefectiveReturn, late).created_at = utcnow() - timedelta(
            days=service.RETURN_DAYS + 2
        )
        shipped = s.get_one(DefectiveReturn, fresh)
        s.add(
            DefectiveReturn(
                ticket_id=shipped.ticket_id, part_id=shipped.part_id,
                engineer_id=shipped.engineer_id, to_location_id=shipped.to_location_id,
                status="shipped", tracking="SF1",
                created_at=utcnow() - timedelta(days=service.RETURN_DAYS + 5),
                shipped_at=utcnow() - timedelta(days=1),
            )
        )  # fmt: skip
    sign_in(client, w["desk"])
    page = client.get("/parts/returns")
    assert page.status_code == 200
    assert OVERDUE.findall(page.text) == [str(late)]
    text = html.unescape(page.text)
    assert "已超期 2 天" in text and "逾期" in text
    due = (utcnow() - timedelta(days=2)).astimezone(DISPLAY_ZONE).strftime("%m-%d")
    assert f"应于 {due} 前寄回" in text
    # The overdue pill counts them and filters to them.
    assert re.search(r'data-status="overdue"[^>]*>[^<]*<span class="count">1</span>', page.text)
    only = client.get("/parts/returns?status=overdue")
    assert only.status_code == 200 and ROW.findall(only.text) == [(str(late), "awaiting")]
    client.cookies.set("lang", "en")
    english = html.unescape(client.get("/parts/returns?status=overdue").text)
    assert "Overdue" in english and "2 days overdue" in english and f"Due {due}" in english
    # The JSON list says which are overdue, and filters the same way.
    api = client.get("/api/v1/parts/returns?overdue=true")
    assert api.status_code == 200, api.text
    assert [(r["id"], r["overdue"]) for r in api.json()] == [(late, True)]


def test_a_return_late_by_hours_says_so_not_zero_days(client: TestClient, db: Database) -> None:
    # A tester read "已超期 0 天" beside the overdue badge of a return a few hours late.
    w = _world(db)
    late, _fresh = w["returns"]
    with db.session() as s:
        s.get_one(DefectiveReturn, late).created_at = utcnow() - timedelta(
            days=service.RETURN_DAYS, hours=3
        )
    sign_in(client, w["desk"])
    text = html.unescape(client.get("/parts/returns").text)
    assert "已超期（不足 1 天）" in text and "已超期 0 天" not in text
