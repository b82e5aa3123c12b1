"""`python -m portal create-admin | check | backup | restore`, run as an operator would."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Production-shaped settings: no demo, secrets that pass the start-up check.
PRODUCTION = {
    "DEMO_MODE": "false",
    "SECRET_KEY": "Hx7pQ2mVb9Lr4tNz8Kc1Wd6Ys3Ja5Ue0GfRo2Ti7Bn4Xm8",
    "RASA_TOKEN": "Rq3Lw8Zp1Nc6Vh2Jd9Mk4Tf7Gs0Bx5Ye2Cu6An3Po9Ir1",
    "BOT_SERVICE_TOKEN": "Bt6Ke1Sn9Qa4Wm7Xr2Lz5Hv8Dc3Fj0Gy6Pu1Oi4Nb7Me9",
    "ACTION_SERVER_SECRET": "Av2Ds9Gn5Kr1Lt8Mw3Pb6Qc0Rx7Sy4Tz2Ue5Vf8Wg1Xh3",
    "KB_ENABLED": "false",
}


def portal(tmp: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "SMS_", "DEMO_"))
    }
    environment.update(VAR_DIR=str(tmp), DATABASE_URL=f"sqlite:///{tmp / 'portal.db'}")
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "portal", *args],
        cwd=tmp,  # no .env from the clone
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def admins(tmp: Path) -> list[str]:
    with sqlite3.connect(tmp / "portal.db") as db:
        rows = db.execute("SELECT username FROM users WHERE role = 'admin'").fetchall()
    return [row[0] for row in rows]


def test_an_empty_production_database_lists_everything_missing(tmp_path: Path) -> None:
    done = portal(tmp_path, "check", **PRODUCTION)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "✓ 已关闭演示模式" in out and "✓ 密钥均已更换为安全的值" in out
    for missing in (
        "还没有管理员",
        "还没有客服或调度账号",
        "还没有服务网点",
        "还没有产品",
        "微信公众号未配置",
        "短信网关未配置",
    ):
        assert f"✗ {missing}" in out, out
    assert "No service networks yet" in out  # and in English on the same line
    assert "上线前还需处理 7 项" in out


def test_default_secrets_are_named_by_check(tmp_path: Path) -> None:
    done = portal(tmp_path, "check", DEMO_MODE="false", KB_ENABLED="false")
    assert done.returncode == 1
    assert "✗ 以下密钥仍是默认值或太短" in done.stdout
    for name in ("SECRET_KEY", "RASA_TOKEN", "BOT_SERVICE_TOKEN"):
        assert f"    - {name}" in done.stdout


def test_the_demo_has_its_master_data_but_is_not_ready_for_customers(tmp_path: Path) -> None:
    from portal import wiring
    from portal.config import Settings
    from portal.demo.seed import seed
    from portal.migrate import upgrade

    # The demo world with a short history (`make run` seeds 2,000 tickets).
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'portal.db'}", kb_enabled=False)
    upgrade(settings.effective_database_url)
    with wiring.database(settings).session() as session:
        assert seed(session, tickets=20, progress=False)
    done = portal(tmp_path, "check", DEMO_MODE="true", KB_ENABLED="false")
    assert done.returncode == 1
    out = done.stdout
    for ready in (
        "个管理员账号",
        "个客服或调度账号",
        "个服务网点",
        "个产品",
        "每个产品品类都有在岗工程师具备技能",
    ):
        assert any(line.startswith("✓") and ready in line for line in out.splitlines()), out
    assert "✗ 仍在演示模式" in out and "✗ 以下密钥仍是默认值或太短" in out


def test_create_admin_from_standard_input_then_check_counts_it(tmp_path: Path) -> None:
    weak = portal(
        tmp_path, "create-admin", "boss", "--password-stdin", stdin="admin123\n", **PRODUCTION
    )
    assert weak.returncode == 2 and "密码至少 10 个字符" in weak.stderr
    assert "at least 10 characters" in weak.stderr
    made = portal(
        tmp_path,
        "create-admin",
        "boss",
        "--password-stdin",
        stdin="correct horse 9\n",
        **PRODUCTION,
    )
    assert made.returncode == 0, made.stderr
    assert admins(tmp_path) == ["boss"]
    again = portal(
        tmp_path,
        "create-admin",
        "boss",
        "--password-stdin",
        stdin="another one 123\n",
        **PRODUCTION,
    )
    assert again.returncode == 2 and "用户名 boss 已存在" in again.stderr
    done = portal(tmp_path, "check", **PRODUCTION)
    assert "✓ 已有 1 个管理员账号" in done.stdout
    # Nothing else was made for the company: no demo users, no demo data.
    with sqlite3.connect(tmp_path / "portal.db") as db:
        assert db.execute("SELECT count(*) FROM users").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM tickets").fetchone() == (0,)


def test_a_backup_restores_what_was_there(tmp_path: Path) -> None:
    made = portal(
        tmp_path,
        "create-admin",
        "first",
        "--password-stdin",
        stdin="first admin pw 1\n",
        **PRODUCTION,
    )
    assert made.returncode == 0, made.stderr
    saved = tmp_path / "backups" / "before.db"
    done = portal(tmp_path, "backup", str(saved), **PRODUCTION)
    assert done.returncode == 0, done.stderr
    assert portal(tmp_path, "backup", str(saved), **PRODUCTION).returncode == 2  # never overwrites
    later = portal(
        tmp_path,
        "create-admin",
        "second",
        "--password-stdin",
        stdin="second admin pw 2\n",
        **PRODUCTION,
    )
    assert later.returncode == 0
    assert sorted(admins(tmp_path)) == ["first", "second"]

    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database", encoding="utf-8")
    refused = portal(tmp_path, "restore", str(bogus), **PRODUCTION)
    assert refused.returncode == 2 and "不是可用的备份" in refused.stderr
    assert sorted(admins(tmp_path)) == ["first", "second"]  # untouched

    back = portal(tmp_path, "restore", str(saved), **PRODUCTION)
    assert back.returncode == 0, back.stderr
    assert admins(tmp_path) == ["first"]


def test_backup_of_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    done = portal(
        tmp_path,
        "backup",
        str(tmp_path / "x.db"),
        **{**PRODUCTION, "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/nowhere"},
    )
    assert done.returncode == 2
    assert "pg_dump" in done.stderr


@pytest.mark.parametrize("password", ["short", "admin123", "boss-boss"])
def test_weak_passwords_are_refused_in_process(tmp_path: Path, password: str) -> None:
    from portal.accounts.service import create_staff
    from portal.database import Database
    from portal.errors import Invalid
    from portal.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    db = Database(url)
    with pytest.raises(Invalid), db.session() as session:
        create_staff(session, username="boss-boss", role="admin", password=password)
