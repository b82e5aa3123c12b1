"""/my/request as a tester playing a customer found it: no picker of the customer's own
registered units (product, model and serial number typed by hand), the address asked for
again although the customer had given it before, and a product typed loosely ("xiyiji
洗衣机吧") matched to nothing. The form now offers the customer's units (choosing one fills
product, model and serial number), starts with their last address (else their profile's),
reads a loose product against the catalogue (a product name inside the words, or its
pinyin), and says so when nothing matches, keeping everything typed."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.database import Database
from portal.tickets.models import Ticket
from tests.portal import factories as f
from tests.selfservice.support import csrf, sign_in

PHONE = "13912345678"


@pytest.fixture
def unit(db: Database) -> dict[str, str]:
    """A customer with a front-loader on file at home, and the catalogue's other lines."""
    with db.session() as s:
        me = f.customer(s, with_asset=False, phone_=PHONE)
        drum = f.product(s, category="洗衣机", name="滚筒洗衣机")
        f.product(s, category="空调", name="壁挂式空调")
        model = f.product_model(s, product_=drum)
        row = f.asset(
            s, customer=me, address_=me.addresses[0], model=model, install_date=date(2025, 3, 1)
        )
        return {
            "id": str(row.id),
            "serial": row.serial_number,
            "model": model.code,
            "home": me.addresses[0].full,
        }


@pytest.fixture(autouse=True)
def _no_redirects(client: TestClient) -> None:
    client.follow_redirects = False


def _value(page: str, name: str) -> str:
    control = re.search(rf'<(?:input|textarea)\b[^>]*\bname="{name}"[^>]*>', page)
    assert control, f"no control {name}"
    if control.group(0).startswith("<textarea"):
        body = re.search(rf'name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
        return body.group(1) if body else ""
    found = re.search(r'\bvalue="([^"]*)"', control.group(0))
    return found.group(1) if found else ""


def _post(client: TestClient, **fields: str) -> tuple[int, str, str]:
    page = client.get("/my/request?type=repair").text
    key = re.search(r'name="request_key" value="([0-9a-f]{32})"', page)
    assert key
    form = {
        "csrf_token": csrf(client, "/my/request"),
        "request_key": key.group(1),
        "type": "repair",
        "fault_description": "不脱水",
        "phone": PHONE,
        **fields,
    }
    answer = client.post("/my/request", data=form)
    return answer.status_code, answer.text, answer.headers.get("location", "")


def _product(db: Database, number: str) -> str:
    with db.session() as s:
        return s.scalars(select(Ticket.product).where(Ticket.number == number)).one()


def test_the_form_offers_my_units_and_my_address(
    client: TestClient, db: Database, unit: dict[str, str]
) -> None:
    sign_in(client, db, PHONE)
    page = client.get("/my/request?type=repair").text
    picker = re.search(r'<select[^>]*data-testid="unit-picker".*?</select>', page, re.S)
    assert picker, "no picker of my units"
    option = re.search(rf'<option[^>]*value="{unit["id"]}"[^>]*>', picker.group(0))
    assert option, picker.group(0)
    assert f'data-serial="{unit["serial"]}"' in option.group(0)
    assert f'data-model="{unit["model"]}"' in option.group(0)
    assert 'data-product="滚筒洗衣机"' in option.group(0)
    # The profile's address, as nothing was reported yet.
    assert _value(page, "address") == unit["home"]
    # Choosing the unit without script: the page comes back with its three fields filled.
    chosen = client.get(f"/my/request?type=repair&unit={unit['id']}").text
    assert _value(chosen, "product") == "滚筒洗衣机"
    assert _value(chosen, "model_code") == unit["model"]
    assert _value(chosen, "serial_number") == unit["serial"]
    # Someone else's unit id fills nothing.
    with db.session() as s:
        other = f.asset(s, customer=f.customer(s, with_asset=False))
        other_id = other.id
    assert _value(client.get(f"/my/request?unit={other_id}").text, "serial_number") == ""


def test_the_last_address_reported_comes_first(
    client: TestClient, db: Database, unit: dict[str, str]
) -> None:
    sign_in(client, db, PHONE)
    status, _, _ = _post(client, product="滚筒洗衣机", address="上海市静安区南京西路1266号")
    assert status == 303
    page = client.get("/my/request?type=repair").text
    assert _value(page, "address") == "上海市静安区南京西路1266号"


@pytest.mark.parametrize(
    ("typed", "product"),
    [
        ("xiyiji 洗衣机吧", "洗衣机"),
        ("xiyiji", "洗衣机"),
        ("Kong Tiao", "空调"),
        ("家里的滚筒洗衣机", "滚筒洗衣机"),
        ("壁挂式", "壁挂式空调"),
    ],
)
def test_a_loose_product_is_read_against_the_catalogue(
    client: TestClient, db: Database, unit: dict[str, str], typed: str, product: str
) -> None:
    sign_in(client, db, PHONE)
    status, text, where = _post(client, product=typed, address="上海市黄浦区人民大道200号")
    assert status == 303, text
    assert _product(db, where.rsplit("/", 1)[1]) == product


def test_nothing_matches_says_so_and_keeps_everything_typed(
    client: TestClient, db: Database, unit: dict[str, str]
) -> None:
    sign_in(client, db, PHONE)
    status, page, _ = _post(
        client, product="扫地机器人", address="上海市黄浦区人民大道200号", preferred_time="明天下午"
    )
    assert status == 422
    error = re.search(r'data-testid="error-product">(.*?)</p>', page, re.S)
    assert error, page
    assert (
        "扫地机器人" in error.group(1) and "洗衣机" in error.group(1) and "空调" in error.group(1)
    )
    assert _value(page, "product") == "扫地机器人"
    assert _value(page, "fault_description") == "不脱水"
    assert _value(page, "address") == "上海市黄浦区人民大道200号"
    assert _value(page, "preferred_time") == "明天下午"
    with db.session() as s:
        assert s.scalars(select(Ticket)).first() is None


def test_nothing_matches_in_english(client: TestClient, db: Database, unit: dict[str, str]) -> None:
    sign_in(client, db, PHONE)
    client.get("/lang/en")
    status, page, _ = _post(client, product="robot vacuum", address="上海市黄浦区人民大道200号")
    assert status == 422
    error = re.search(r'data-testid="error-product">(.*?)</p>', page, re.S)
    assert error and "robot vacuum" in error.group(1) and "we service" in error.group(1)
