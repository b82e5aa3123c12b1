"""Customers' knowledge on /my: one search box over the FAQ (the knowledge base's shared
decision) and the customer's own tickets, never anyone else's; /my/help ranks the newest
and the most-read entries, reads counted once per visitor."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from knowledge_base import KnowledgeBase
from portal.database import Database
from portal.knowledge import flows
from portal.knowledge.models import KbEntryReads, KbSearchLog
from portal.security import Principal, Role
from tests.page_support import reading_in
from tests.portal import factories as f
from tests.selfservice.support import sign_in

MINE = "13911110001"
THEIRS = "13922220002"


def _numbers(page: str, testid: str) -> list[str]:
    return re.findall(rf'data-testid="{testid}" data-number="([^"]+)"', page)


def _ids(page: str, section: str) -> list[str]:
    block = page.split(f'data-testid="{section}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<li data-id="([^"]+)"', block)


def test_one_search_box_covers_the_faq_and_only_my_own_tickets(
    kb_client: TestClient, db: Database
) -> None:
    kb_client.follow_redirects = False
    with db.session() as s:
        me = f.customer(s, phone_=MINE, with_asset=False)
        other = f.customer(s, phone_=THEIRS, with_asset=False)
        washer = f.ticket(s, customer=me, product="洗衣机", fault_description="显示E21，排不了水")
        aircon = f.ticket(s, customer=me, product="空调", fault_description="不制冷，外机不转")
        theirs = f.ticket(s, customer=other, product="洗衣机", fault_description="报E21不排水")
        numbers = (washer.number, aircon.number, theirs.number)
    mine_washer, mine_ac, their_washer = numbers

    # Signed out: the FAQ answers, tickets need a sign-in.
    page = kb_client.get("/my/search", params={"q": "洗衣机显示E21"}).text
    assert re.search(r'data-testid="search-faq-entry" data-id="wm-e21"', page)
    assert 'data-testid="search-sign-in"' in page and 'data-testid="search-ticket"' not in page

    assert sign_in(kb_client, db, MINE) == "/my/tickets"
    home = kb_client.get("/my").text
    assert 'action="/my/search"' in home and 'data-testid="my-q"' in home

    page = kb_client.get("/my/search", params={"q": "洗衣机显示E21"}).text
    assert re.search(r'data-testid="search-faq-entry" data-id="wm-e21"', page)
    assert _numbers(page, "search-ticket") == [mine_washer]  # the same fault, but only mine
    assert their_washer not in page

    assert _numbers(kb_client.get("/my/search", params={"q": "空调"}).text, "search-ticket") == [
        mine_ac
    ]
    by_number = kb_client.get("/my/search", params={"q": mine_ac}).text
    assert _numbers(by_number, "search-ticket") == [mine_ac]
    # Another customer's ticket number finds nothing, and says so.
    foreign = kb_client.get("/my/search", params={"q": their_washer}).text
    assert _numbers(foreign, "search-ticket") == [] and 'data-testid="search-no-tickets"' in foreign
    words = kb_client.get("/my/search", params={"q": "排不了水"}).text
    assert _numbers(words, "search-ticket") == [mine_washer]

    # A question the FAQ does not answer: no FAQ entries (the shared decision says "none").
    none = kb_client.get("/my/search", params={"q": "你们公司的股票代码是多少"}).text
    assert 'data-testid="search-no-faq"' in none
    with db.session() as s:
        bands = [r.band for r in s.scalars(select(KbSearchLog).order_by(KbSearchLog.id))]
    assert bands[0] == "answer" and bands[-1] == "none"


def test_help_ranks_the_newest_and_the_most_read_entries(
    kb_client: TestClient, kb: KnowledgeBase, db: Database
) -> None:
    assert 'data-testid="help-popular"' not in kb_client.get("/my/help").text
    # Three visitors read wm-e30, one of them twice; one reads warranty-proof.
    for visitor in range(3):
        kb_client.cookies.clear()
        assert kb_client.get("/my/help/wm-e30").status_code == 200
        if visitor == 0:
            kb_client.get("/my/help/wm-e30")  # a reload is not another read
            kb_client.get("/my/help/warranty-proof")
    with db.session() as s:
        reads = {r.entry_id: r.reads for r in s.scalars(select(KbEntryReads))}
    assert reads == {"wm-e30": 3, "warranty-proof": 1}

    # Editors change two entries, the later one is the newest.
    editor = Principal(kind="staff", role=Role.KNOWLEDGE_EDITOR, name="editor", user_id=1)
    for entry_id in ("fee-invoice", "wm-e12"):
        entry = kb.get(entry_id)
        assert entry is not None
        with db.session() as s:
            flows.save_entry(
                s,
                kb=kb,
                fields={**entry.to_dict(), "answer": entry.answer + "\n\n（已更新）"},
                editor=editor,
                entry_id=entry_id,
            )

    page = kb_client.get("/my/help").text
    assert _ids(page, "help-popular") == ["wm-e30", "warranty-proof"]
    assert "3 次阅读" in page
    assert _ids(page, "help-newest") == ["wm-e12", "fee-invoice"]
    # A category or a search shows its own list, not the rankings.
    assert 'data-testid="help-popular"' not in kb_client.get("/my/help?category=fees").text
    with reading_in(kb_client, "en"):
        english = kb_client.get("/my/help").text
    assert "Most read" in english or 'data-testid="help-popular"' not in english
