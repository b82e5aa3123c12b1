"""Issue 18, finding 2: insecure defaults. Outside demo mode the portal refuses default or short
secrets (naming each) and seeds nothing; demo mode says so in the log and on staff pages."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.config import ROOT, InsecureSettings, Settings
from portal.database import Database
from portal.main import create_app
from portal.stack import prepare
from tests.app_fixtures import FakeRasa
from tests.portal import factories as f

GOOD = {
    "secret_key": "k3J9-portal-session-signing-5d2f8a1c7e",
    "rasa_token": "r7Q2-rasa-api-token-9b41e6d0c3",
    "bot_service_token": "b5W8-bot-service-token-2c7f19ad",
}
# Every other secret with a published default (the action server's ...) gets a good value too.
OTHER_DEFAULTED = [
    name
    for name, info in Settings.model_fields.items()
    if name.endswith(("_secret", "_token")) and isinstance(info.default, str) and info.default
    if name not in GOOD
]
GOOD.update({name: f"Zx81-{name}-4f0c2e9b7d15a3" for name in OTHER_DEFAULTED})


def _strict(db: Database | None, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        # Refusals happen before any connection: those tests need no database of their own.
        "database_url": db.url if db else f"sqlite:///{tmp_path / 'unused.db'}",
        "var_dir": tmp_path,
        "demo_mode": False,
        **GOOD,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def _refused(settings: Settings) -> list[str]:
    with pytest.raises(InsecureSettings) as caught:
        create_app(settings)
    return caught.value.names


def test_the_shipped_defaults_are_refused_by_name(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, var_dir=tmp_path, demo_mode=False)
    names = _refused(settings)
    assert names[:3] == ["SECRET_KEY", "RASA_TOKEN", "BOT_SERVICE_TOKEN"]
    assert set(names[3:]) == {n.upper() for n in OTHER_DEFAULTED}
    message = str(InsecureSettings(settings.insecure_secrets()))
    assert "SECRET_KEY 仍是公开的默认值" in message and "still the published default" in message


@pytest.mark.parametrize(
    ("override", "name"),
    [
        ({"secret_key": "short-but-random-x9"}, "SECRET_KEY"),
        ({"rasa_token": ""}, "RASA_TOKEN"),
        ({"bot_service_token": "a" * 40}, "BOT_SERVICE_TOKEN"),
        ({"secret_key": "please-change-me-please-change-me-0123"}, "SECRET_KEY"),
        ({"wechat_token": "wx"}, "WECHAT_TOKEN"),
        ({"wechat_token": "wx-callback-token-7f3a9", "wechat_aes_key": "x" * 40}, "WECHAT_AES_KEY"),
        ({"wechat_app_id": "wx1234567890abcdef"}, "WECHAT_APP_SECRET"),
        ({"metrics_token": "metrics"}, "METRICS_TOKEN"),
    ],
)
def test_a_short_default_or_weak_secret_is_named(
    tmp_path: Path, override: dict[str, str], name: str
) -> None:
    assert name in _refused(_strict(None, tmp_path, **override))


def test_every_secret_field_defaulting_to_a_value_is_refused_when_left_so(
    tmp_path: Path,
) -> None:
    # Any *_secret / *_token field with a published default (the action server's shared
    # secret, for one) counts as set, so leaving it at the default is refused.
    if not OTHER_DEFAULTED:
        pytest.skip("no other secret has a default")
    for name in OTHER_DEFAULTED:
        default = Settings.model_fields[name].default
        assert name.upper() in _refused(_strict(None, tmp_path, **{name: default}))


def test_good_secrets_start_and_demo_mode_allows_the_defaults(tmp_path: Path) -> None:
    assert _strict(None, tmp_path).insecure_secrets() == []
    create_app(_strict(None, tmp_path))
    create_app(Settings(_env_file=None, var_dir=tmp_path, demo_mode=True))


def test_run_refuses_before_starting_anything(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DEMO_MODE": "false",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
        "SECRET_KEY": GOOD["secret_key"],
        "BOT_SERVICE_TOKEN": GOOD["bot_service_token"],
        "RASA_TOKEN": "dev-rasa-token",
    }
    done = subprocess.run(
        [sys.executable, "-m", "portal", "run", "--no-bot"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "RASA_TOKEN" in done.stderr and "拒绝启动" in done.stderr
    assert "SECRET_KEY" not in done.stderr
    assert not (tmp_path / "p.db").exists()  # nothing migrated, seeded or started


def _users(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(User)) or 0


def test_outside_demo_mode_nothing_is_seeded(db: Database, tmp_path: Path) -> None:
    prepare(_strict(db, tmp_path))
    assert _users(db) == 0


def test_demo_mode_seeds_the_demo_logins(db: Database, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_url=db.url, var_dir=tmp_path, demo_mode=True)
    prepare(settings, demo="minimal")
    with db.session() as session:
        assert session.scalar(select(User).where(User.username == "admin")) is not None


def test_seed_demo_command_refuses_outside_demo_mode(tmp_path: Path) -> None:
    env = {
        **os.environ,
        **{k.upper(): v for k, v in GOOD.items()},
        "DEMO_MODE": "false",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "portal", "seed-demo", "--size", "minimal"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "DEMO_MODE=true" in done.stderr


def _staff_page(settings: Settings, db: Database) -> str:
    with db.session() as session:
        f.user(session, role="agent", username="demo-banner-agent")
    app = create_app(settings, http_transport=httpx.MockTransport(FakeRasa().handler))
    with TestClient(app) as client:
        login = client.post(
            "/login", data={"username": "demo-banner-agent", "password": f.PASSWORD}
        )
        assert login.status_code == 200, login.text
        return login.text


def test_demo_mode_is_loud(db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(_env_file=None, database_url=db.url, var_dir=tmp_path, demo_mode=True)
    with caplog.at_level(logging.WARNING):
        page = _staff_page(settings, db)
    assert any(
        "DEMO MODE" in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
    )
    assert 'data-testid="demo-banner"' in page and "演示模式" in page


def test_no_demo_banner_outside_demo_mode(db: Database, tmp_path: Path) -> None:
    page = _staff_page(_strict(db, tmp_path), db)
    assert 'data-testid="demo-banner"' not in page
