"""Product categories on English pages (a tester's finding, issue 19): the engineer's job list,
the customer's ticket and the SOP library said "Repair · 空调", "Product 空调", "Category 空调".
They go through the `category` filter like every other page."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from portal.database import Database
from tests.field import support as field
from tests.field.quotes_support import QuoteWorld, build
from tests.page_support import sign_in as staff_sign_in
from tests.portal import factories as f
from tests.selfservice import support as my

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def world(db: Database) -> QuoteWorld:
    return build(db)


def _english(client: TestClient, back: str) -> None:
    client.get(f"/lang/en?next={back}", follow_redirects=False)


def test_the_engineers_job_list_names_the_product_in_english(
    client: TestClient, world: QuoteWorld
) -> None:
    field.log_in(client, world.username)
    _english(client, "/field")
    page = client.get("/field").text
    what = re.findall(r'<p class="job-what">([^<]*)</p>', page)
    assert what and all("Washing machine" in w and not HAN.search(w) for w in what), what


def test_the_customers_ticket_names_the_product_in_english(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    client.follow_redirects = False
    my.sign_in(client, db, world.phone)
    _english(client, "/my")
    page = client.get(f"/my/tickets/{world.ticket}").text
    assert re.findall(r"<dt>Product</dt><dd>([^<]*)</dd>", page) == ["Washing machine"]


def test_the_sop_library_names_the_category_in_english(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    with db.session() as s:
        admin = f.user(s, role="admin").username
    staff_sign_in(client, admin)
    _english(client, "/sop")
    page = client.get("/sop").text
    assert "Category Washing machine" in page and "Category 洗衣机" not in page
    choices = page[page.index('<select name="category"') :]
    choices = choices[: choices.index("</select>")]
    assert not HAN.search("".join(re.findall(r">([^<]*)</option>", choices)))
    job = re.search(r'href="(/sop/\d+)"', page)
    assert job is not None
    detail = client.get(job.group(1)).text
    assert "Category Washing machine" in detail and "Category 洗衣机" not in detail
