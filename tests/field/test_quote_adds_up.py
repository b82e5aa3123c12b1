"""A quote that adds up (a tester's findings on issue 19): the same van part chosen in two
rows counts together against what the van holds, and once sent the quote card shows the
quote's lines and its state instead of a fresh form that would send a second quote."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.database import Database
from portal.fees.models import Quote
from portal.settlement import flows as settlement_flows
from tests.field.quotes_support import PUMP, QuoteWorld, build
from tests.field.support import csrf, log_in


def _post(client: TestClient, url: str, data: dict[str, object]) -> str:
    token = csrf(client)
    response = client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def _quotes(db: Database, ticket_id: int) -> list[Quote]:
    with db.session() as s:
        rows = list(s.scalars(select(Quote).where(Quote.ticket_id == ticket_id)))
        s.expunge_all()
        return rows


def test_the_same_part_in_two_rows_counts_together_against_the_van(
    client: TestClient, db: Database
) -> None:
    """Two rows of one part take from one shelf: what the van holds comes from it and only
    the rest is quoted "to order" (the van holds three pumps, four are asked: three from the
    van, one to order)."""
    world: QuoteWorld = build(db)  # three pumps in the van
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    assert _post(client, f"{url}/quote", {"part": [PUMP, PUMP], "qty": ["2", "2"]}) == (
        f"{url}#quote"
    )
    (quote,) = _quotes(db, world.ticket_id)
    parts = [(ln.quantity, ln.to_order) for ln in quote.lines if ln.kind == "part"]
    assert parts == [(3, False), (1, True)]
    assert client.get(url).text.count('data-testid="quote-line-to-order"') == 1

    # Three in all fit the van: nothing to order.
    _post(client, f"{url}/quote", {"part": [PUMP, PUMP], "qty": ["2", "1"]})
    latest = max(_quotes(db, world.ticket_id), key=lambda q: q.id)
    assert [(ln.quantity, ln.to_order) for ln in latest.lines if ln.kind == "part"] == [(3, False)]


def test_a_sent_quote_shows_its_lines_and_state_and_is_replaced_not_doubled(
    client: TestClient, db: Database
) -> None:
    world = build(db)
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    _post(client, f"{url}/quote", {"part": [PUMP], "qty": ["1"]})
    (quote,) = _quotes(db, world.ticket_id)
    page = client.get(url).text
    # The sent quote's lines, not just its total.
    assert 'data-testid="sent-quote-lines"' in page
    assert "排水泵（WM-PMP-01）" in page and "¥80.00" in page and "¥220.00" in page
    assert "等待客户确认" in page
    # No second "send" while it waits: the offer is to withdraw it and send a new one.
    assert 'data-testid="send-quote"' not in page
    assert 'data-testid="replace-quote"' in page
    _post(client, f"{url}/quote", {"part": [PUMP], "qty": ["2"]})
    old, new = sorted(_quotes(db, world.ticket_id), key=lambda q: q.id)
    assert (old.status, new.status) == ("superseded", "sent")

    with db.session() as s:
        settlement_flows.decide_quote(s, quote=s.get_one(Quote, new.id), accept=True, actor="c")
    page = client.get(url).text
    assert 'data-status="accepted"' in page and "客户已接受" in page
    assert 'data-testid="send-quote"' not in page and 'data-testid="replace-quote"' not in page
    assert "¥160.00" in page  # two pumps on the accepted quote's lines
