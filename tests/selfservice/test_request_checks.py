"""/my/request refuses what a service desk could not act on (a tester opened a ticket for
product "x" at address "x" "asdf" o'clock): a product that is no product name, an address
too short to find the door, a visit time that cannot be read or has passed. Every error is
shown at once, next to its field and in a summary at the top, with everything typed kept.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.database import Database
from portal.intake.windows import find_window, now_local
from portal.tickets.models import Ticket
from tests.selfservice.support import csrf, sign_in

PHONE = "13912345678"
GOOD = {"type": "repair", "product": "空调", "fault_description": "不制冷", "phone": PHONE}


@pytest.fixture(autouse=True)
def _signed_in(client: TestClient, db: Database) -> None:
    client.follow_redirects = False
    sign_in(client, db, PHONE)


def _post(client: TestClient, **fields: str) -> tuple[int, str]:
    page = client.get("/my/request?type=repair").text
    key = re.search(r'name="request_key" value="([0-9a-f]{32})"', page)
    assert key
    form = {"csrf_token": csrf(client, "/my/request"), "request_key": key.group(1)}
    answer = client.post("/my/request", data={**form, **GOOD, **fields})
    return answer.status_code, answer.text


def _tickets(db: Database) -> list[Ticket]:
    with db.session() as session:
        rows = list(session.scalars(select(Ticket)).all())
        session.expunge_all()
        return rows


def _control(page: str, name: str) -> str:
    """The opening tag of the form control called `name`."""
    found = re.search(rf'<(?:input|textarea|select)\b[^>]*\bname="{name}"[^>]*>', page)
    assert found, f"no control {name}"
    return found.group(0)


def _field_error(page: str, name: str) -> str:
    """The error shown next to field `name`, checked to be the one its control points at."""
    control = _control(page, name)
    assert 'aria-invalid="true"' in control, control
    described = re.search(r'aria-describedby="([^"]+)"', control)
    assert described, control
    found = re.search(rf'<p [^>]*id="{described.group(1)}"[^>]*>(.*?)</p>', page, re.S)
    assert found, f"no element {described.group(1)}"
    return found.group(1)


def _summary(page: str) -> list[str]:
    """The fields the summary at the top links to, in order."""
    box = re.search(r'<div [^>]*data-testid="error-summary"[^>]*>(.*?)</div>', page, re.S)
    assert box, "no error summary"
    return re.findall(r'href="#f-([a-z_]+)"', box.group(1))


# ---------------------------------------------------------------- one rule each


@pytest.mark.parametrize("product", ["x", "空", "12", "!!", "？？", "3-5"])
def test_a_product_must_be_a_product_name(client: TestClient, db: Database, product: str) -> None:
    status, page = _post(client, product=product)
    assert status == 422
    assert "产品名称" in _field_error(page, "product")
    assert _summary(page) == ["product"]
    assert f'value="{product}"' in _control(page, "product")
    assert _tickets(db) == []


@pytest.mark.parametrize("product", ["TV", "空调", "洗衣机 WM-100"])
def test_a_product_name_is_taken(client: TestClient, db: Database, product: str) -> None:
    status, _page = _post(client, product=product)
    assert status == 303
    [ticket] = _tickets(db)
    assert ticket.product == product


@pytest.mark.parametrize(
    "address", ["x", "上海", "浦东张江", "12345", "88 - 3 / 1201", "！？。，、"]
)
def test_an_address_must_find_the_door(client: TestClient, db: Database, address: str) -> None:
    status, page = _post(client, address=address)
    assert status == 422
    message = _field_error(page, "address")
    assert "请填写到门牌号" in message and "上海市浦东新区张江路88号3栋1201" in message
    assert _summary(page) == ["address"]
    assert _tickets(db) == []


def test_a_full_address_is_taken(client: TestClient, db: Database) -> None:
    status, _page = _post(client, address="上海市浦东新区张江路88号3栋1201")
    assert status == 303
    [ticket] = _tickets(db)
    assert ticket.address.endswith("张江路88号3栋1201")


@pytest.mark.parametrize("said", ["asdf", "x", "随时", "whenever"])
def test_a_time_that_cannot_be_read_names_what_is_read(
    client: TestClient, db: Database, said: str
) -> None:
    status, page = _post(client, preferred_time=said)
    assert status == 422
    message = _field_error(page, "preferred_time")
    assert "没看懂" in message
    assert all(example in message for example in ("明天上午", "周六下午"))
    example_day = re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", message)
    assert example_day, message  # a date as the desk reads it, and one still ahead
    window, reason = find_window(example_day.group(0))
    assert window is not None, reason
    assert f'value="{said}"' in _control(page, "preferred_time")
    assert _tickets(db) == []


@pytest.mark.parametrize("said", ["昨天下午", "2020-01-01 10:00"])
def test_a_time_in_the_past_is_refused(client: TestClient, db: Database, said: str) -> None:
    status, page = _post(client, preferred_time=said)
    assert status == 422
    assert "已经过去" in _field_error(page, "preferred_time")
    assert _tickets(db) == []


def test_a_time_beyond_a_month_is_refused(client: TestClient, db: Database) -> None:
    later = (now_local() + timedelta(days=60)).strftime("%Y-%m-%d 10:00")
    status, page = _post(client, preferred_time=later)
    assert status == 422
    assert "30 天" in _field_error(page, "preferred_time")


def test_a_readable_time_is_stored_as_the_window_dispatch_books(
    client: TestClient, db: Database
) -> None:
    status, _page = _post(client, preferred_time="明天上午")
    assert status == 303
    [ticket] = _tickets(db)
    tomorrow = (now_local() + timedelta(days=1)).date().isoformat()
    assert ticket.details["preferred_time"] == f"{tomorrow} 08:00-12:00"


# ---------------------------------------------------------------- all at once


def test_every_error_at_once_with_everything_kept(client: TestClient, db: Database) -> None:
    status, page = _post(
        client,
        product="x",
        fault_description="",
        phone="123",
        address="x",
        preferred_time="asdf",
        fault_started="昨天晚上",
    )
    assert status == 422
    assert _summary(page) == ["product", "fault_description", "phone", "address", "preferred_time"]
    assert "产品名称" in _field_error(page, "product")
    assert "故障描述" in _field_error(page, "fault_description")
    assert "手机号" in _field_error(page, "phone")
    assert "门牌号" in _field_error(page, "address")
    assert "没看懂" in _field_error(page, "preferred_time")
    for name, typed in (("product", "x"), ("phone", "123"), ("address", "x")):
        assert f'value="{typed}"' in _control(page, name)
    assert f'value="{"昨天晚上"}"' in _control(page, "fault_started")
    assert "aria-invalid" not in _control(page, "fault_started")
    assert _tickets(db) == []


def test_no_product_model_or_serial_marks_the_group(client: TestClient, db: Database) -> None:
    status, page = _post(client, product="", address="x")
    assert status == 422
    assert _summary(page) == ["product", "address"]
    message = _field_error(page, "product")
    assert "任填其一" in message
    assert _field_error(page, "model_code") == message  # all three point at the one hint
    assert _field_error(page, "serial_number") == message


def test_errors_in_english(client: TestClient, db: Database) -> None:
    client.cookies.set("lang", "en")
    status, page = _post(client, product="x", address="x", preferred_time="asdf")
    assert status == 422
    assert "product name" in _field_error(page, "product")
    assert "flat" in _field_error(page, "address")
    assert "could not be read" in _field_error(page, "preferred_time")
    assert "没看懂" not in page
