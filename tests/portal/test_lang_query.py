"""A link with ?lang=en (or zh) opens the page in that language and keeps it (a tester's
finding: /my/tickets?lang=en stayed Chinese; only the header's switch changed language), on
the customers' pages as on the staff's."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.database import Database
from portal.templating import LANG_COOKIE
from tests.page_support import sign_in as staff_sign_in
from tests.portal import factories as f


def test_lang_in_the_address_opens_the_page_in_it_and_is_remembered(
    client: TestClient, db: Database
) -> None:
    login = client.get("/my/login?lang=en")
    assert login.status_code == 200 and '<html lang="en"' in login.text
    assert client.cookies.get(LANG_COOKIE) == "en"
    # The next page, without the parameter, stays English; ?lang=zh comes back to Chinese.
    assert '<html lang="en"' in client.get("/my/login").text
    assert '<html lang="zh' in client.get("/my/login?lang=zh").text
    assert client.cookies.get(LANG_COOKIE) == "zh"
    # Anything else is ignored.
    assert '<html lang="zh' in client.get("/my/login?lang=fr").text


def test_staff_pages_take_it_too(client: TestClient, db: Database) -> None:
    with db.session() as s:
        f.user(s, username="desk1", role="agent")
    staff_sign_in(client, "desk1")
    assert '<html lang="en"' in client.get("/tickets?lang=en").text
    assert '<html lang="en"' in client.get("/tickets").text
