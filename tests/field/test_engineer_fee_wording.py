"""The engineer's job page speaks about the customer's fee to the engineer (a tester's
finding): completed at the accepted quote, it read the receipt's "不向您收取" ("the most you
pay"), words the customer reads, as if the engineer were the one paying.

Every fee sentence on the field page names the customer as the payer: "不向客户收费" / "not
charged to the customer", "客户应付" / "the customer pays", whether the charge is the quote
capped, less than the quote, or the quote itself. The customer's own receipt keeps its words."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from portal.database import Database
from portal.field import service as field_service
from portal.field.schemas import WorkRecordIn
from portal.tickets.models import Ticket
from tests.field.quotes_support import (
    QUOTED,
    QuoteWorld,
    build,
    complete,
    engineer_of,
    record_and_sign,
)
from tests.field.support import log_in
from tests.field.test_quote_ceiling import (
    ON_SITE_MINUTES,
    OVER,
    _arrived_minutes_ago,
    _quote_accepted,
)
from tests.portal import factories as f
from tests.selfservice.support import sign_in

# Words only the customer is addressed with, about what they pay.
CUSTOMER_ZH = ("您",)
CUSTOMER_EN = re.compile(r"\byou pay|\bto you\b|\bTotal due\b|\bdue now\b", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _no_redirects(client: TestClient) -> None:
    client.follow_redirects = False


def _fee_text(html: str) -> str:
    """The text of the job page's quote and charge section (where the fee is spoken of)."""
    start = html.index('id="quote"')
    section = html[start : html.index("</section>", start)]
    return unescape(re.sub(r"<[^>]+>", " ", section))


def _pages(client: TestClient, world: QuoteWorld) -> tuple[str, str]:
    url = f"/field/jobs/{world.ticket}"
    client.cookies.set("lang", "zh")
    zh = _fee_text(client.get(url).text)
    client.cookies.set("lang", "en")
    en = _fee_text(client.get(url).text)
    client.cookies.set("lang", "zh")
    return zh, en


def _engineer_words(zh: str, en: str) -> None:
    assert not [w for w in CUSTOMER_ZH if w in zh], zh
    assert not CUSTOMER_EN.search(en), en


def test_capped_at_the_quote_the_engineer_reads_not_charged_to_the_customer(
    client: TestClient, db: Database, tmp_path: Path
) -> None:
    world = build(db)
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    quote = _quote_accepted(db, world, secret)
    log_in(client, world.username)
    _engineer_words(*_pages(client, world))  # accepted, not done yet
    _arrived_minutes_ago(db, world, ON_SITE_MINUTES)
    record_and_sign(db, world, tmp_path)
    complete(db, world)

    zh, en = _pages(client, world)
    _engineer_words(zh, en)
    assert f"实际工作多出的 ¥{OVER} 不向客户收费" in zh
    assert f"客户应付合计 ¥{QUOTED}" in zh
    assert f"the ¥{OVER} the work came to beyond it is not charged to the customer" in en
    assert "the most the customer pays" in en
    assert f"The customer pays ¥{QUOTED}" in en

    # The customer's receipt still speaks to them.
    client.cookies.clear()
    sign_in(client, db, world.phone)
    receipt = client.get(f"/my/tickets/{world.ticket}/receipt").text
    assert f"实际工作多出的 ¥{OVER} 不向您收取" in receipt
    assert f"按已接受的报价单 {quote.number}" in receipt


def test_charged_less_than_the_quote_the_engineer_reads_what_the_customer_pays(
    client: TestClient, db: Database, tmp_path: Path
) -> None:
    world = build(db)
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    quote = _quote_accepted(db, world, secret)
    # No pump fitted after all, and done within the visit's included time: 120, not 220.
    with db.session() as s:
        ticket = s.get_one(Ticket, world.ticket_id)
        field_service.save_record(
            s,
            ticket=ticket,
            engineer_id=world.engineer_id,
            data=WorkRecordIn(diagnosis="排水管堵塞", work_done="疏通排水管，试机正常"),
        )
        field_service.sign(
            s,
            ticket=ticket,
            engineer_id=world.engineer_id,
            png=f.PNG,
            signed_by="王女士",
            principal=engineer_of(world),
            root=tmp_path,
            max_bytes=1_000_000,
        )
    complete(db, world)
    log_in(client, world.username)

    zh, en = _pages(client, world)
    _engineer_words(zh, en)
    assert f"客户已接受的报价单 {quote.number} 为 ¥{QUOTED}，本次向客户收 ¥120.00" in zh
    assert "the customer is charged ¥120.00" in en


def test_the_field_pages_borrow_no_words_of_the_customers_pages() -> None:
    """The field pages' keys are not the customer's (my.*): what reads right to a customer
    ("应付合计", "Total due") misleads an engineer."""
    templates = Path("portal/templates")
    used = set()
    for name in ("field/job.html", "field/today.html", "field/earnings.html"):
        text = (templates / name).read_text(encoding="utf-8")
        used |= set(re.findall(r"_\('([a-z_.0-9]+)'", text))
    assert not {k for k in used if k.startswith("my.")}, sorted(used)
