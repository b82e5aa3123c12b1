"""Parts have an English name (a tester in English mode read 电脑板 and 洗衣机 on the parts
pages): pages in English name a part by it (the Chinese name when it has none), the master
data import and export carry it, and every demo part has one. Product categories read in
English on the rate card too."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from portal.config import Settings
from portal.database import Database
from portal.demo import catalog
from portal.parts.models import Part
from tests.masterdata import book
from tests.masterdata.test_import import _import
from tests.page_support import sign_in
from tests.parts.test_return_pages import _world
from tests.parts.world import rate_card
from tests.portal import factories as f

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_the_parts_pages_name_parts_in_english(client: TestClient, db: Database) -> None:
    w = _world(db)  # two returns of the circuit board WM-PCB-01
    with db.session() as s:
        s.get_one(Part, w["pcb"]).name_en = "Control board"
        board = s.get_one(Part, w["pcb"]).name
    sign_in(client, w["desk"])
    chinese = html.unescape(client.get("/parts/returns").text)
    assert board in chinese and "Control board" not in chinese
    client.cookies.set("lang", "en")
    for path in ("/parts/returns", "/parts/stock", "/parts/movements"):
        english = html.unescape(client.get(path).text)
        assert "Control board" in english, path
        assert f">{board}<" not in english and f" {board}<" not in english, path
    # A part without an English name keeps its Chinese one rather than going blank.
    stock = html.unescape(client.get("/parts/stock").text)
    with db.session() as s:
        pump = s.query(Part).filter(Part.code == "WM-PMP-01").one().name
    assert pump in stock


def test_master_data_carries_the_english_name(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        admin = f.headers_for(s, settings, "admin")
    assert _import(client, admin, book.xlsx(), apply=True).status_code == 200
    exported = client.get(
        "/api/v1/admin/masterdata/export", headers=admin, params={"format": "csv", "kind": "parts"}
    )
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert "name_en" in lines[0], lines[0]
    # Fill the English name in the exported file and import it back.
    head = lines[0].split(",")
    at = next(i for i, h in enumerate(head) if "name_en" in h)
    rows = [line.split(",") for line in lines[1:]]
    for row in rows:
        if row[0] == "P-PUMP":
            row[at] = "Drain pump"
    changed = "\n".join([lines[0], *(",".join(r) for r in rows)]).encode()
    done = _import(client, admin, changed, apply=True, name="parts.csv", kind="parts")
    assert done.status_code == 200, done.text
    assert done.json()["counts"]["parts"] == {"created": 0, "updated": 1, "unchanged": 2}
    with db.session() as s:
        pump = s.query(Part).filter(Part.code == "P-PUMP").one()
        assert (pump.name, pump.name_en) == ("排水泵", "Drain pump")


def test_every_demo_part_has_an_english_name() -> None:
    for category, names in catalog.PARTS.items():
        for name in names:
            english = catalog.PART_NAMES_EN.get(name, "")
            assert english and not HAN.search(english), (category, name)


def test_the_rate_card_names_categories_in_english(client: TestClient, db: Database) -> None:
    with db.session() as s:
        card = rate_card(s)
        card.lines[0].product_category = "洗衣机"
        card_id = card.id
        f.user(s, role="finance", username="card-reader")
    sign_in(client, "card-reader")
    client.cookies.set("lang", "en")
    page = html.unescape(client.get(f"/settlement/rate-cards/{card_id}").text)
    cells = re.findall(r"<td>([^<]*)</td>", page)
    assert "Washing machine" in cells and "洗衣机" not in cells, cells[:20]
