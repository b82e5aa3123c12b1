"""Rate cards (价目表) in the settlement pages: finance lists, creates and edits them; an
edit saves the next version (the one edited ends the day it starts), a refused form keeps
every row typed and names the field and row; nobody but finance opens them."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.database import Database
from portal.fees.models import RateCard
from portal.templating import shanghai_today
from tests.page_support import sign_in
from tests.parts.world import rate_card
from tests.portal import factories as f

ROW = re.compile(
    r'data-testid="rate-card-row" data-code="([^"]+)" data-version="(\d+)" data-state="(\w+)"'
)
LINE_FIELDS = ("service_type", "product_category", "warranty", "service_fee",
               "included_minutes", "hour_rate", "engineer_pay", "engineer_hour_rate")  # fmt: skip
BAND_FIELDS = ("band_min_km", "band_max_km", "band_fee", "band_engineer_pay")


def _form(token: str, lines: list[dict[str, str]], bands: list[dict[str, str]], **head: str) -> Any:
    """The form as the browser posts it: every row sends every field, blank rows too."""
    blank = {"service_type": "*", "product_category": "*", "warranty": "out"}
    data: dict[str, str | list[str]] = {"csrf_token": token, **head}
    for k in LINE_FIELDS:  # one row left blank, as the form offers
        data[k] = [row.get(k, blank.get(k, "")) for row in [*lines, {}]]
    for k in BAND_FIELDS:
        data[k] = [band.get(k, "") for band in [*bands, {}]]
    return data


def _finance(db: Database) -> str:
    with db.session() as s:
        return f.user(s, role="finance").username


def test_finance_creates_a_rate_card(client: TestClient, db: Database) -> None:
    token = sign_in(client, _finance(db))
    assert client.get("/settlement/rate-cards/new").status_code == 200
    start = (shanghai_today() + timedelta(days=1)).isoformat()
    line = {"service_type": "repair", "product_category": "空调", "warranty": "out",
            "service_fee": "120", "included_minutes": "60", "hour_rate": "40",
            "engineer_pay": "60", "engineer_hour_rate": "20"}  # fmt: skip
    saved = client.post(
        "/settlement/rate-cards",
        data=_form(token, [line], [{"band_min_km": "0", "band_max_km": "15", "band_fee": "0"},
                                   {"band_min_km": "15", "band_fee": "30",
                                    "band_engineer_pay": "15"}],
                   code="AC-2027", name="空调维修 2027", effective_from=start),
    )  # fmt: skip
    assert saved.status_code == 200, saved.text[-2000:]
    assert "已保存价目表 AC-2027 v1" in saved.text
    with db.session() as s:
        card = s.scalars(select(RateCard)).one()
        assert (card.code, card.version, card.effective_from) == (
            "AC-2027",
            1,
            date.fromisoformat(start),
        )
        (ln,) = card.lines
        assert (ln.service_type, ln.product_category, ln.service_fee) == (
            "repair",
            "空调",
            Decimal("120.00"),
        )
        assert [(b.min_km, b.max_km, b.fee) for b in card.bands] == [
            (Decimal("0.0"), Decimal("15.0"), Decimal("0.00")),
            (Decimal("15.0"), None, Decimal("30.00")),
        ]
    listing = client.get("/settlement/rate-cards")
    assert ROW.findall(listing.text) == [("AC-2027", "1", "scheduled")]


def test_an_edit_saves_the_next_version(client: TestClient, db: Database) -> None:
    with db.session() as s:
        card_id = rate_card(s).id  # STD, in force since 2026-01-01
    token = sign_in(client, _finance(db))
    form = client.get(f"/settlement/rate-cards/{card_id}/edit")
    assert form.status_code == 200
    text = html.unescape(form.text)
    assert "保存后生成新版本 v2" in text and 'value="80.00"' in text  # starts from v1's lines
    lines = re.findall(r'name="service_fee" value="([^"]*)"', form.text)
    assert lines[:2] == ["80.00", "100.00"] and lines[-1] == ""
    start = (shanghai_today() + timedelta(days=1)).isoformat()
    # The in-warranty repair goes up to 90; everything else as it was.
    old = {"service_type": "repair", "product_category": "*", "warranty": "in",
           "service_fee": "90.00", "included_minutes": "60", "hour_rate": "30.00",
           "engineer_pay": "45.00", "engineer_hour_rate": "15.00"}  # fmt: skip
    saved = client.post(
        "/settlement/rate-cards",
        data=_form(token, [old], [], code="SOMETHING-ELSE", name="标准价目表 2027",
                   effective_from=start, edits=str(card_id)),
    )  # fmt: skip
    assert saved.status_code == 200 and "v2" in saved.text
    with db.session() as s:
        v1, v2 = s.scalars(select(RateCard).order_by(RateCard.version)).all()
        assert v2.code == v1.code  # an edit never moves a card to another code
        assert v1.effective_to == v2.effective_from == date.fromisoformat(start)
        assert [ln.service_fee for ln in v2.lines] == [Decimal("90.00")]
    states = ROW.findall(client.get("/settlement/rate-cards").text)
    assert states == [(v1.code, "2", "scheduled"), (v1.code, "1", "current")]


def test_a_refused_card_keeps_every_row_and_names_the_field(
    client: TestClient, db: Database
) -> None:
    token = sign_in(client, _finance(db))
    start = (shanghai_today() + timedelta(days=3)).isoformat()
    good = {"service_type": "installation", "warranty": "in", "service_fee": "60",
            "engineer_pay": "30"}  # fmt: skip
    bad = {"service_type": "repair", "warranty": "out", "service_fee": "1二0",
           "engineer_pay": "50"}  # fmt: skip
    refused = client.post(
        "/settlement/rate-cards",
        data=_form(token, [good, bad], [], code="NEW-1", name="新卡", effective_from=start),
    )
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "「第2行 上门服务费」的值无效" in text, re.findall(r"form-error\">([^<]*)<", text)
    assert 'value="1二0"' in text and 'value="新卡"' in text and f'value="{start}"' in text
    # Overlapping bands: the engine's own rule, in the reader's language.
    client.cookies.set("lang", "en")
    overlap = client.post(
        "/settlement/rate-cards",
        data=_form(token, [good], [{"band_min_km": "0", "band_max_km": "20", "band_fee": "0"},
                                   {"band_min_km": "10", "band_fee": "20"}],
                   code="NEW-1", name="新卡", effective_from=start),
    )  # fmt: skip
    assert overlap.status_code == 422 and "Distance bands must not overlap" in overlap.text
    # No line at all.
    empty = client.post(
        "/settlement/rate-cards",
        data=_form(token, [], [], code="NEW-1", name="x", effective_from=start),
    )
    assert empty.status_code == 422 and "At least one rate line is needed" in empty.text
    with db.session() as s:
        assert s.scalars(select(RateCard)).all() == []


def test_a_new_card_may_not_take_a_code_in_use(client: TestClient, db: Database) -> None:
    with db.session() as s:
        code = rate_card(s).code
    token = sign_in(client, _finance(db))
    line = {"warranty": "in", "service_fee": "1", "engineer_pay": "1"}
    taken = client.post(
        "/settlement/rate-cards",
        data=_form(token, [line], [], code=code, name="x", effective_from="2030-01-01"),
    )
    assert taken.status_code == 422 and f"编码「{code}」已存在" in html.unescape(taken.text)


def test_only_finance_opens_the_rate_cards(client: TestClient, db: Database) -> None:
    with db.session() as s:
        card_id = rate_card(s).id
        manager = f.user(s, role="network_manager", network=f.network(s)).username
    sign_in(client, manager)
    for path in ("/settlement/rate-cards", f"/settlement/rate-cards/{card_id}/edit"):
        assert client.get(path).status_code == 403
    assert 'data-testid="tab-rate-cards"' not in client.get("/settlement").text
