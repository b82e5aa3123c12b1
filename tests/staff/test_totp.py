"""2-step verification: the codes on a stepped clock, setting it up on the page, the login
that then asks for the code (throttled with the password attempts), recovery codes, an
admin requiring it of another admin, and API tokens. Codes come from pyotp; nothing sleeps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import User
from portal.config import Settings
from portal.database import Database, utcnow
from portal.staff import totp
from portal.staff.models import RecoveryCode
from tests.portal import factories as f
from tests.portal.test_pages import csrf, login

SECRET = re.compile(r'data-testid="totp-secret">([A-Z2-7]+)<')
RECOVERY = re.compile(r'data-testid="recovery-code">([a-z0-9-]+)<')
T0 = datetime(2026, 12, 7, 9, 0, 0, tzinfo=UTC)  # a step boundary: 30 s steps from the epoch
STEP = timedelta(seconds=30)
KEY = totp.sealing_key("a-secret-key-of-this-test-module-only-0123456789")


def _ahead(secret: str, steps: int = 1) -> str:
    """The code a little later than now: never the step the enrolment just used."""
    return totp.code_at(secret, utcnow() + steps * STEP)


def test_codes_on_a_stepped_clock() -> None:
    secret = totp.new_secret()
    code = pyotp.TOTP(secret).at(T0)
    assert totp.code_at(secret, T0) == code
    # Its own step and one either side (typing time, a phone's clock a little off) ...
    for moment in (T0 - STEP, T0, T0 + STEP, T0 + STEP + timedelta(seconds=29)):
        assert totp.matching_step(secret, code, now=moment, after=None) is not None, moment
    # ... but no further, and never a step at or before the last one accepted.
    assert totp.matching_step(secret, code, now=T0 + 2 * STEP, after=None) is None
    assert totp.matching_step(secret, code, now=T0 - 2 * STEP, after=None) is None
    step = totp.matching_step(secret, code, now=T0, after=None)
    assert step is not None
    assert totp.matching_step(secret, code, now=T0, after=step) is None
    assert totp.matching_step(secret, "12345", now=T0, after=None) is None
    # A secret that is not one of ours (too short, not base32) matches nothing.
    assert totp.matching_step("ABC", code, now=T0, after=None) is None
    assert totp.matching_step("A" * 31 + "1", code, now=T0, after=None) is None
    assert totp.matching_step(secret, f"{code[:3]} {code[3:]}", now=T0, after=None) == step


def test_a_code_is_good_once_and_recovery_codes_once_each(db: Database) -> None:
    with db.session() as s:
        user = f.user(s, role="admin")
        secret = totp.new_secret()
        codes = totp.enable(
            s, user=user, secret=secret, code=totp.code_at(secret, T0), now=T0, key=KEY
        )
        assert len(codes) == 10 and len(set(codes)) == 10
        # The enrolment's own code cannot be replayed; the next step's can, once.
        assert not totp.second_factor(s, user=user, code=totp.code_at(secret, T0), now=T0, key=KEY)
        later = T0 + STEP
        assert totp.second_factor(
            s, user=user, code=totp.code_at(secret, later), now=later, key=KEY
        )
        assert not totp.second_factor(
            s, user=user, code=totp.code_at(secret, later), now=later, key=KEY
        )
        assert totp.second_factor(s, user=user, code=codes[0].upper(), now=later, key=KEY)
        assert not totp.second_factor(s, user=user, code=codes[0], now=later, key=KEY)
        assert totp.recovery_left(s, user_id=user.id) == 9
        # Only hashes are stored.
        stored = s.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id))
        assert not set(stored) & set(codes)


def _enable_on_page(client: TestClient) -> tuple[str, list[str]]:
    token = csrf(client, "/account/security")
    started = client.post("/account/security/totp/start", data={"csrf_token": token})
    assert started.status_code == 200
    assert "<svg" in started.text and 'data-testid="totp-qr"' in started.text
    assert started.headers["cache-control"] == "no-store"
    found = SECRET.search(started.text)
    assert found
    secret = found.group(1)
    wrong = client.post("/account/security/totp", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 422 and "动态码不正确" in wrong.text
    done = client.post(
        "/account/security/totp",
        data={"csrf_token": token, "code": totp.code_at(secret, utcnow())},
    )
    assert done.status_code == 200
    codes = RECOVERY.findall(done.text)
    assert len(codes) == 10
    # Shown once: the page does not show them again.
    assert not RECOVERY.search(client.get("/account/security").text)
    return secret, codes


def _password_step(client: TestClient, username: str) -> None:
    response = client.post(
        "/login", data={"username": username, "password": f.PASSWORD, "next": "/staff"}
    )
    assert response.url.path == "/login/code", response.url


def test_the_login_asks_for_the_code_once_it_is_on(client: TestClient, db: Database) -> None:
    with db.session() as s:
        f.user(s, role="admin", username="boss")
    login(client, "boss")
    secret, codes = _enable_on_page(client)
    client.post("/logout", data={"csrf_token": csrf(client)})
    _password_step(client, "boss")
    # No session before the code: pages and the API still refuse.
    assert client.get("/staff", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/staff/users").status_code == 401
    token = csrf(client, "/login/code")
    wrong = client.post("/login/code", data={"csrf_token": token, "code": "123456"})
    assert wrong.status_code == 401 and "动态码不正确" in wrong.text
    right = client.post("/login/code", data={"csrf_token": token, "code": _ahead(secret)})
    assert right.status_code == 200 and right.url.path == "/staff"
    # A recovery code stands in for the app once.
    client.post("/logout", data={"csrf_token": csrf(client)})
    _password_step(client, "boss")
    token = csrf(client, "/login/code")
    ok = client.post("/login/code", data={"csrf_token": token, "code": codes[3]})
    assert ok.url.path == "/staff"
    client.post("/logout", data={"csrf_token": csrf(client)})
    _password_step(client, "boss")
    token = csrf(client, "/login/code")
    again = client.post("/login/code", data={"csrf_token": token, "code": codes[3]})
    assert again.status_code == 401


def test_code_failures_count_toward_the_login_limits(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        user = f.user(s, role="admin", username="boss")
        secret = totp.new_secret()
        totp.enable(
            s,
            user=user,
            secret=secret,
            code=totp.code_at(secret, utcnow()),
            now=utcnow(),
            key=totp.sealing_key(settings.secret_key),
        )
    _password_step(client, "boss")
    token = csrf(client, "/login/code")
    limit = settings.login_failures_per_account_ip
    for _ in range(limit):
        assert (
            client.post("/login/code", data={"csrf_token": token, "code": "000000"}).status_code
            == 401
        )
    # The limit reached, even the right code is refused now, and so is the password.
    refused = client.post("/login/code", data={"csrf_token": token, "code": _ahead(secret)})
    assert refused.status_code == 429 and "登录失败次数过多" in refused.text
    again = client.post("/login", data={"username": "boss", "password": f.PASSWORD})
    assert again.status_code == 429


def test_an_admin_requires_it_and_the_next_login_sets_it_up(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        f.user(s, role="admin", username="boss")
        other = f.user(s, role="admin", username="deputy")
        other_id = other.id
    login(client, "boss")
    token = csrf(client, f"/staff/{other_id}")
    required = client.post(
        f"/staff/{other_id}/totp-required", data={"csrf_token": token, "required": "yes"}
    )
    assert 'data-testid="totp-state">' in required.text and "已要求，待设置" in required.text
    client.post("/logout", data={"csrf_token": token})
    enrol = client.post("/login", data={"username": "deputy", "password": f.PASSWORD})
    assert enrol.url.path == "/login/enrol" and "<svg" in enrol.text
    found = SECRET.search(enrol.text)
    assert found
    secret = found.group(1)
    token = csrf(client, "/login/enrol")
    assert client.get("/tickets", follow_redirects=False).status_code == 303
    done = client.post(
        "/login/enrol", data={"csrf_token": token, "code": totp.code_at(secret, utcnow())}
    )
    assert len(RECOVERY.findall(done.text)) == 10
    home = client.get("/login/continue")
    assert home.url.path == "/tickets"
    # Required: the deputy cannot switch it off, even with a good code.
    off = client.post(
        "/account/security/totp/off", data={"csrf_token": csrf(client), "code": _ahead(secret)}
    )
    assert "管理员要求此账号使用两步验证" in off.text
    with db.session() as s:
        kept = s.get_one(User, other_id).totp_secret
        assert kept and totp.unseal(kept, totp.sealing_key(settings.secret_key)) == secret


def test_api_tokens_need_the_code_too(client: TestClient, db: Database, settings: Settings) -> None:
    with db.session() as s:
        user = f.user(s, role="dispatcher", username="disp")
        secret = totp.new_secret()
        totp.enable(
            s,
            user=user,
            secret=secret,
            code=totp.code_at(secret, utcnow()),
            now=utcnow(),
            key=totp.sealing_key(settings.secret_key),
        )
    form = {"username": "disp", "password": f.PASSWORD}
    missing = client.post("/api/v1/auth/token", data=form)
    assert missing.status_code == 401 and missing.json()["message_en"].startswith("This account")
    wrong = client.post("/api/v1/auth/token", data={**form, "otp": "000000"})
    assert wrong.status_code == 401
    good = client.post("/api/v1/auth/token", data={**form, "otp": _ahead(secret)})
    assert good.status_code == 200
    headers = {"Authorization": f"Bearer {good.json()['access_token']}"}
    status = client.get("/api/v1/account/totp", headers=headers).json()
    assert status == {"enabled": True, "required": False, "recovery_codes_left": 10}


def test_the_api_turns_it_on_and_off(client: TestClient, db: Database, settings: Settings) -> None:
    with db.session() as s:
        headers = f.headers_for(s, settings, "agent")
    issued = client.post("/api/v1/account/totp/secret", headers=headers).json()
    assert issued["otpauth_uri"].startswith("otpauth://totp/")
    secret = issued["secret"]
    bad = client.post(
        "/api/v1/account/totp", json={"secret": secret, "code": "000000"}, headers=headers
    )
    assert bad.status_code == 422
    on = client.post(
        "/api/v1/account/totp",
        json={"secret": secret, "code": totp.code_at(secret, utcnow())},
        headers=headers,
    )
    assert on.status_code == 200 and len(on.json()["recovery_codes"]) == 10
    off = client.post("/api/v1/account/totp/off", json={"code": _ahead(secret)}, headers=headers)
    assert off.status_code == 200 and off.json()["enabled"] is False


def test_the_secret_is_stored_sealed_and_a_plain_one_is_sealed_on_use(db: Database) -> None:
    secret = totp.new_secret()
    with db.session() as s:
        user = f.user(s, role="agent")
        totp.enable(s, user=user, secret=secret, code=totp.code_at(secret, T0), now=T0, key=KEY)
        stored = user.totp_secret
        # Not the secret, nor anything that reads as one; two sealings of it differ.
        assert stored and secret not in stored and not totp.SECRET.match(stored)
        assert len(stored) <= 64 and totp.seal(secret, KEY) != stored
        assert totp.unseal(stored, KEY) == secret
        # Another key (SECRET_KEY changed) or a tampered value opens nothing, and no code passes.
        other = totp.sealing_key("another-secret-key-of-this-test-0123456789abcd")
        assert totp.unseal(stored, other) is None
        tampered = stored[:-2] + ("AA" if stored[-2:] != "AA" else "BB")
        assert totp.unseal(tampered, KEY) is None
        later = T0 + STEP
        assert not totp.check_code(user, totp.code_at(secret, later), now=later, key=other)
        # A row written before sealing (the plain secret) still works, and is sealed then.
        user.totp_secret, user.totp_last_step = secret, None
        assert totp.check_code(user, totp.code_at(secret, later), now=later, key=KEY)
        assert user.totp_secret != secret and totp.unseal(user.totp_secret, KEY) == secret
