"""Defective-part returns (旧件返还) and the stock export in the parts pages.

A returnable part fitted on a ticket owes its old unit back: the engineer's network ships it
with a tracking number, the parts desk receives it and inspects it (repaired into stock, or
scrapped). The list filters by step; each caller sees and moves only what is theirs. The
stock downloads as Excel or CSV with the page's filters."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from portal.database import Database
from portal.parts import service
from portal.parts.models import DefectiveReturn
from tests.page_support import sign_in
from tests.parts.world import catalogue
from tests.portal import factories as f

ROW = re.compile(r'data-testid="return-row" data-id="(\d+)" data-status="(\w+)"')


def _world(db: Database) -> dict[str, Any]:
    """Two networks, each with an engineer who fitted a circuit board (a returnable part)
    from the central warehouse on a ticket: two returns owed."""
    with db.session() as s:
        cat = catalogue(s)
        pcb = cat["WM-PCB-01"]
        central = service.central(s)
        service.receive(s, location=central, part=pcb, quantity=10, actor="t")
        service.receive(s, location=central, part=cat["WM-PMP-01"], quantity=3, actor="t")
        out: dict[str, Any] = {"pcb": pcb.id, "central": central.id, "returns": []}
        for key in ("own", "other"):
            net = f.network(s)
            eng = f.engineer(s, network=net)
            ticket = f.ticket(
                s, customer=f.customer(s), actions=("accept", "dispatch"), engineer=eng
            )
            service.consume(
                s, ticket_id=ticket.id, part=pcb, quantity=1, fallback=[central],
                actor="t", engineer_id=eng.id, return_to=central,
            )  # fmt: skip
            out[key] = {"net": net.id, "ticket": ticket.number}
        out["returns"] = [
            r.id for r in s.scalars(select(DefectiveReturn).order_by(DefectiveReturn.id))
        ]
        own_net = s.get_one(type(net), out["own"]["net"])
        out["manager"] = f.user(s, role="network_manager", network=own_net).username
        out["desk"] = f.user(s, role="dispatcher").username
        return out


def _step(client: TestClient, token: str, return_id: int, **form: str) -> Any:
    return client.post(f"/parts/returns/{return_id}", data={"csrf_token": token, **form})


def _status(db: Database, return_id: int) -> tuple[str, str]:
    with db.session() as s:
        ret = s.get_one(DefectiveReturn, return_id)
        return ret.status, ret.tracking


def test_a_return_goes_through_its_steps(client: TestClient, db: Database) -> None:
    w = _world(db)
    mine, theirs = w["returns"]
    token = sign_in(client, w["manager"])
    page = client.get("/parts/returns")
    assert page.status_code == 200
    # A manager sees their network's return only, and may ship it (not receive it).
    assert ROW.findall(page.text) == [(str(mine), "awaiting")]
    assert 'data-testid="ship-form"' in page.text and 'data-testid="receive-form"' not in page.text
    assert w["own"]["ticket"] in page.text and w["other"]["ticket"] not in page.text
    # Shipping needs the tracking number: refused, nothing changes, the list comes back.
    bare = _step(client, token, mine, step="ship", tracking="  ")
    assert bare.status_code == 422 and "寄出要填写快递单号" in bare.text
    assert _status(db, mine) == ("awaiting", "")
    shipped = _step(client, token, mine, step="ship", tracking="SF1234567890", back="open")
    assert shipped.status_code == 200 and "已寄出：电脑板" in shipped.text
    assert _status(db, mine) == ("shipped", "SF1234567890")
    assert "SF1234567890" in shipped.text
    # Not theirs to receive, and another network's return is not there at all.
    assert _step(client, token, mine, step="receive").status_code == 403
    assert _step(client, token, theirs, step="ship", tracking="X").status_code == 404
    assert _status(db, theirs) == ("awaiting", "")

    desk = TestClient(client.app)
    desk_token = sign_in(desk, w["desk"])
    both = desk.get("/parts/returns?status=all")
    assert sorted(ROW.findall(both.text)) == sorted(
        [(str(mine), "shipped"), (str(theirs), "awaiting")]
    )
    assert ROW.findall(desk.get("/parts/returns?status=shipped").text) == [(str(mine), "shipped")]
    received = _step(desk, desk_token, mine, step="receive", back="shipped")
    assert received.status_code == 200 and _status(db, mine)[0] == "received"
    assert 'data-testid="inspect-form"' in desk.get("/parts/returns?status=received").text
    with db.session() as s:
        before = service.balance(s, location_id=w["central"], part_id=w["pcb"])
        assert before is not None and (before.on_hand, before.defective) == (8, 1)
    # Inspected: repaired back into stock. A second inspection is refused as out of step.
    _step(desk, desk_token, mine, step="repair", back="received")
    assert _status(db, mine)[0] == "repaired"
    again = _step(desk, desk_token, mine, step="scrap")
    assert again.status_code == 422 and f"返还单 #{mine}" in again.text
    with db.session() as s:
        after = service.balance(s, location_id=w["central"], part_id=w["pcb"])
        assert after is not None and (after.on_hand, after.defective) == (9, 0)
    closed = desk.get("/parts/returns?status=repaired")
    assert ROW.findall(closed.text) == [(str(mine), "repaired")]
    assert ROW.findall(desk.get("/parts/returns").text) == [(str(theirs), "awaiting")]


def test_the_returns_page_reads_in_english(client: TestClient, db: Database) -> None:
    w = _world(db)
    sign_in(client, w["desk"])
    client.cookies.set("lang", "en")
    page = html.unescape(client.get("/parts/returns").text)
    assert "Defective returns" in page and "Receive" in page and "Awaiting" in page
    with db.session() as s:
        old = s.get_one(DefectiveReturn, w["returns"][0])
        old.created_at -= timedelta(days=8, hours=1)
    page = html.unescape(client.get("/parts/returns").text)
    assert page.count("waiting 8 days") == 1 and "waiting 0 days" not in page


def test_the_stock_downloads_with_the_pages_filters(client: TestClient, db: Database) -> None:
    w = _world(db)
    sign_in(client, w["desk"])
    page = client.get(f"/parts/stock?location_id={w['central']}&part_id={w['pcb']}")
    links = re.findall(r'href="(/parts/stock/export\?[^"]+)"', page.text)
    assert [html.unescape(x) for x in links] == [
        f"/parts/stock/export?location_id={w['central']}&part_id={w['pcb']}&format=xlsx",
        f"/parts/stock/export?location_id={w['central']}&part_id={w['pcb']}&format=csv",
    ]
    xlsx = client.get(html.unescape(links[0]))
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert re.match(
        r'attachment; filename="stock-\d{8}-\d{4}\.xlsx"', xlsx.headers["content-disposition"]
    )
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("库位编码", "库位", "料号", "备件")
    assert [(r[2], r[4], r[6]) for r in rows[1:]] == [("WM-PCB-01", 8, 8)]  # numbers, not text
    # Unfiltered, as CSV: every location and part, readable by Excel (a byte-order mark).
    everything = client.get("/parts/stock/export?format=csv")
    assert everything.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(everything.content.decode("utf-8-sig"))))
    assert {r[2] for r in table[1:]} == {"WM-PCB-01", "WM-PMP-01"}
    # A manager's export holds their network's stock only (none here), as their page does.
    manager = TestClient(client.app)
    sign_in(manager, w["manager"])
    theirs = manager.get("/parts/stock/export?format=csv")
    assert theirs.status_code == 200 and len(list(csv.reader(io.StringIO(theirs.text)))) == 1
    assert client.get("/parts/stock/export?format=pdf").status_code == 422


def test_the_stock_filters_all_option_means_no_filter(client: TestClient, db: Database) -> None:
    """The filter form sends its "all" options as empty values: every row, not a 422."""
    w = _world(db)
    sign_in(client, w["desk"])
    every = client.get("/parts/stock?location_id=&part_id=")
    assert every.status_code == 200 and every.text.count('data-testid="stock-row"') == 2
    one = client.get(f"/parts/stock?location_id={w['central']}&part_id=")
    assert one.status_code == 200 and one.text.count('data-testid="stock-row"') == 2
    assert client.get("/parts/movements?location_id=&part_id=&ticket_id=").status_code == 200
    assert client.get("/parts/stock/export?location_id=&format=csv").status_code == 200
    for bad in ("abc", "0", str(2**31), "9" * 11):
        assert client.get(f"/parts/stock?location_id={bad}").status_code == 422
    too_big = client.get(f"/parts/movements?ticket_id={2**31}")
    assert too_big.status_code == 422 and "不能大于 2147483647" in too_big.text
