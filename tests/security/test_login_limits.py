"""Issue 18, finding 7 (login): staff login limited per account from one address, per account
and per address; the check and the record are atomic; an unknown name costs a hash too."""

from __future__ import annotations

import threading
from collections import Counter

import argon2
import pytest
from fastapi.testclient import TestClient

from portal.accounts import service
from portal.accounts.service import LoginLimits
from portal.database import Database
from portal.errors import TooManyRequests
from tests.portal import factories as f

LIMITS = LoginLimits(window_s=300, per_account_ip=5, per_account=20, per_ip=30)


@pytest.fixture
def admin(db: Database) -> str:
    """An admin account with the shared test password."""
    with db.session() as s:
        return f.user(s, role="admin", username="admin-under-attack").username


def _try(db: Database, username: str, password: str, ip: str) -> str:
    try:
        with db.session() as s:
            user = service.login(s, username=username, password=password, ip=ip, limits=LIMITS)
    except TooManyRequests:
        return "429"
    return "ok" if user is not None else "401"


def test_one_address_cannot_lock_the_account_out_for_everyone(db: Database, admin: str) -> None:
    attacker, colleague = "203.0.113.7", "198.51.100.20"
    assert [_try(db, admin, "guess", attacker) for _ in range(5)] == ["401"] * 5
    assert _try(db, admin, f.PASSWORD, attacker) == "429"  # the right password, too late
    assert _try(db, admin, f.PASSWORD, colleague) == "ok"


def test_an_account_is_limited_across_addresses(db: Database, admin: str) -> None:
    tries = [_try(db, admin, "guess", f"203.0.113.{i}") for i in range(20)]
    assert tries == ["401"] * 20
    assert _try(db, admin, f.PASSWORD, "198.51.100.20") == "429"


def test_one_address_spraying_many_accounts_is_limited(db: Database, admin: str) -> None:
    sprayer = "203.0.113.99"
    tries = [_try(db, f"user{i}", "Spring2026!", sprayer) for i in range(30)]
    assert tries == ["401"] * 30
    assert _try(db, admin, f.PASSWORD, sprayer) == "429"
    assert _try(db, admin, f.PASSWORD, "198.51.100.20") == "ok"


def test_parallel_guesses_cannot_pass_one_count(db: Database, admin: str) -> None:
    barrier = threading.Barrier(10)
    results: list[str] = []
    lock = threading.Lock()

    def guess() -> None:
        barrier.wait()
        outcome = _try(db, admin, "guess", "203.0.113.7")
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=guess) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert Counter(results) == {"401": 5, "429": 5}, results


def test_an_unknown_name_costs_a_password_hash(
    db: Database, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    verify = argon2.PasswordHasher.verify

    def counting(self: argon2.PasswordHasher, hash: str, password: str) -> bool:  # noqa: A002
        calls.append(password)
        return verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting)
    assert _try(db, "nobody-by-this-name", "guess", "203.0.113.7") == "401"
    assert _try(db, admin, "guess", "203.0.113.8") == "401"
    assert calls == ["guess", "guess"]


def test_the_limits_come_from_the_settings_over_http(client: TestClient, db: Database) -> None:
    with db.session() as s:
        name = f.user(s, role="agent").username
    app_settings = client.app.state.settings  # type: ignore[attr-defined]
    app_settings.login_failures_per_account_ip = 2
    try:
        tries = [
            client.post("/api/v1/auth/token", data={"username": name, "password": "x"}).status_code
            for _ in range(3)
        ]
        assert tries == [401, 401, 429]
        page = client.post("/login", data={"username": name, "password": f.PASSWORD})
        assert page.status_code == 429 and "登录失败次数过多" in page.text
    finally:
        app_settings.login_failures_per_account_ip = 5
