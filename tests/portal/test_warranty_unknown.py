"""A ticket with no unit on file (a tester's finding, issue 19): its warranty is not known yet,
not "out of warranty". The customer, the desk and the engineer all read "保修状态待确认" /
"Warranty not yet known"; the quote rule stays (the engineer quotes before a paid repair)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from portal.database import Database
from tests.field import support as field
from tests.field.quotes_support import QuoteWorld, build
from tests.page_support import sign_in as staff_sign_in
from tests.portal import factories as f
from tests.selfservice import support as my


@pytest.fixture
def world(db: Database) -> QuoteWorld:
    return build(db)


def test_the_customer_is_not_told_out_of_warranty_without_a_unit(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    client.follow_redirects = False
    my.sign_in(client, db, world.phone)
    page = client.get(f"/my/tickets/{world.ticket}").text
    box = page[page.index('data-testid="my-warranty"') :]
    box = box[: box.index("</section>")]
    assert 'data-status="unknown"' in box
    assert "保修状态待确认" in box and "不在保修期内" not in box
    # The quote rule is still said: the engineer quotes first.
    assert "报价" in box


def test_the_desk_and_the_engineer_read_warranty_not_yet_known(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    with db.session() as s:
        agent = f.user(s, role="agent").username
    staff_sign_in(client, agent)
    page = client.get(f"/tickets/{world.ticket}").text
    box = page[page.index('data-testid="staff-warranty"') :]
    box = box[: box.index("</dd>")]
    assert 'data-status="unknown"' in box and "保修状态待确认" in box and "保外" not in box
    client.get("/lang/en?next=/tickets")
    page = client.get(f"/tickets/{world.ticket}").text
    box = page[page.index('data-testid="staff-warranty"') :]
    box = box[: box.index("</dd>")]
    assert "Warranty not yet known" in box and "Out of warranty" not in box

    client.cookies.clear()
    field.log_in(client, world.username)
    page = client.get(f"/field/jobs/{world.ticket}").text
    box = page[page.index('data-testid="warranty"') :]
    box = box[: box.index("</dd>")]
    assert 'data-status="unknown"' in box and "保修状态待确认" in box and "保外" not in box
    quote = page[page.index('data-testid="quote-warranty"') :]
    assert "保修状态待确认" in quote[: quote.index("</span>")]
