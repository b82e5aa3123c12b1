"""Asking for the sign-in code again (a tester's finding): the code page had no "resend", so
a customer whose SMS never came could only start over. It now offers 重新发送验证码 with the
wait before it may be asked (the one-a-minute rule), counted down on the page; a refused
resend says why and when to try again, in both languages, and sends nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.customers.models import OneTimeCode
from portal.database import Database
from tests.selfservice.support import csrf

PHONE = "13912345678"
WAIT = re.compile(r'data-testid="login-resend"[^>]*data-wait="(\d+)"')


@pytest.fixture(autouse=True)
def _no_redirects(client: TestClient) -> None:
    client.follow_redirects = False


def _codes(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(OneTimeCode)) or 0


def _age_codes(db: Database, seconds: int) -> None:
    """Every code sent so far was sent `seconds` earlier than it was."""
    with db.session() as s:
        for row in s.scalars(select(OneTimeCode)):
            row.created_at -= timedelta(seconds=seconds)


def _wait(page: str) -> int:
    found = WAIT.search(page)
    assert found, "no resend button with its wait"
    return int(found.group(1))


def test_the_code_page_offers_a_resend_after_the_cooldown(client: TestClient, db: Database) -> None:
    token = csrf(client, "/my/login")
    client.post("/my/login/code", data={"phone": PHONE, "csrf_token": token})
    page = client.get("/my/login/verify").text
    assert "重新发送验证码" in page
    wait = _wait(page)
    assert 50 <= wait <= 60  # just sent: about a minute to go, said on the page
    assert re.search(rf"{wait}\s*秒后可重新发送", page)

    # Too soon: refused, nothing sent, and the page says why and when.
    refused = client.post("/my/login/resend", data={"csrf_token": token})
    assert refused.status_code == 303 and refused.headers["location"] == "/my/login/verify"
    assert _codes(db) == 1
    again = client.get("/my/login/verify").text
    assert "验证码发送过于频繁" in again
    assert re.search(r"请在 \d{1,2} 秒后重试", again)

    # A minute on, the resend sends a new code and the wait starts again.
    _age_codes(db, 61)
    assert _wait(client.get("/my/login/verify").text) == 0
    sent = client.post("/my/login/resend", data={"csrf_token": token})
    assert sent.headers["location"] == "/my/login/verify"
    assert _codes(db) == 2
    page = client.get("/my/login/verify").text
    assert "验证码已发送到 139****5678" in page
    assert 50 <= _wait(page) <= 60


def test_a_resend_over_the_day_s_cap_says_when_in_english(client: TestClient, db: Database) -> None:
    client.get("/lang/en")
    token = csrf(client, "/my/login")
    for _ in range(10):  # the day's cap per phone (CodeLimits: 10)
        client.post("/my/login/code", data={"phone": PHONE, "csrf_token": token})
        _age_codes(db, 61)
    assert _codes(db) == 10
    client.get("/my/login/verify")  # the flash of the last send
    client.post("/my/login/resend", data={"csrf_token": token})
    page = client.get("/my/login/verify").text
    assert _codes(db) == 10
    assert "as many codes as allowed today" in page
    assert re.search(r"Try again after \d{1,2} \w{3} \d{2}:\d{2}", page), page


def test_resend_without_a_phone_goes_back_to_the_phone(client: TestClient) -> None:
    token = csrf(client, "/my/login")
    answer = client.post("/my/login/resend", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/my/login"
