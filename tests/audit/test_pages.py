"""The audit log page: admins filter who changed what by actor, object type and id, and time
range (Beijing time), a page at a time; a bad filter says why and keeps what was typed;
phone numbers stay masked; nobody else opens it."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert

from portal.audit.models import AuditRecord
from portal.database import Database
from tests.page_support import sign_in
from tests.portal import factories as f

ROW = re.compile(
    r'data-testid="audit-row" data-id="(\d+)" data-actor="([^"]+)"'
    r' data-entity="([^"]+)" data-entity-id="([^"]*)"'
)
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def _record(
    db: Database, actor: str, entity: str, entity_id: str, at: datetime, **after: object
) -> None:
    with db.session() as s:
        s.execute(
            insert(AuditRecord),
            [{"actor": actor, "action": "update", "entity": entity, "entity_id": entity_id,
              "before": {k: "old" for k in after}, "after": after, "created_at": at}],
        )  # fmt: skip


def _admin(db: Database) -> tuple[str, int]:
    with db.session() as s:
        admin = f.user(s, role="admin", display_name="管理员老周")
        return admin.username, admin.id


def test_an_admin_filters_the_log(client: TestClient, db: Database) -> None:
    name, admin_id = _admin(db)
    with db.session() as s:
        clerk = f.user(s, role="agent", display_name="坐席小李")
        clerk_actor, clerk_name = f"user:{clerk.id}", clerk.username
    _record(db, clerk_actor, "tickets", "7", T0, status="accepted")
    _record(db, clerk_actor, "customers", "3", T0 + timedelta(hours=2), phone="13812345678")
    _record(db, "service:bot", "tickets", "7", T0 + timedelta(days=1), status="closed")
    _record(db, clerk_actor, "tickets", "8", T0 + timedelta(days=2), status="new")
    sign_in(client, name)

    def rows(query: str) -> list[tuple[str, str, str]]:
        page = client.get(f"/audit?{query}")
        assert page.status_code == 200, page.text[-1500:]
        return [(a, e, i) for _, a, e, i in ROW.findall(page.text)]

    everything = rows("entity=tickets")
    assert everything == [(clerk_actor, "tickets", "8"), ("service:bot", "tickets", "7"),
                          (clerk_actor, "tickets", "7")]  # fmt: skip
    # By who: a username, or the actor as the log writes it.
    assert [r[2] for r in rows(f"actor={clerk_name}&entity=tickets")] == ["8", "7"]
    assert rows("actor=service:bot") == [("service:bot", "tickets", "7")]
    # By object.
    assert rows("entity=tickets&entity_id=7") == [
        ("service:bot", "tickets", "7"),
        (clerk_actor, "tickets", "7"),
    ]
    # By time, in Beijing time: 20 Nov 10:00 up to (not including) 20 Nov 12:00 …
    assert rows(f"actor={clerk_name}&from=2026-11-20T10:00&to=2026-11-20T12:00") == [
        (clerk_actor, "tickets", "7")
    ]
    # … and a date alone means the whole day.
    assert rows(f"actor={clerk_name}&from=2026-11-20&to=2026-11-20") == [
        (clerk_actor, "customers", "3"), (clerk_actor, "tickets", "7")
    ]  # fmt: skip
    page = html.unescape(client.get(f"/audit?actor={clerk_name}&entity=customers").text)
    assert "坐席小李" in page and "138****5678" in page and "13812345678" not in page


def test_the_log_pages_through_without_counting_it_all(client: TestClient, db: Database) -> None:
    name, _ = _admin(db)
    for i in range(55):
        _record(db, "service:bot", "assets", str(i), T0 + timedelta(minutes=i), note=str(i))
    sign_in(client, name)
    first = client.get("/audit?entity=assets")
    ids = [i for *_, i in ROW.findall(first.text)]
    assert ids == [str(i) for i in range(54, 4, -1)]
    assert 'data-testid="audit-next"' in first.text
    second = client.get("/audit?entity=assets&page=2")
    assert [i for *_, i in ROW.findall(second.text)] == ["4", "3", "2", "1", "0"]
    assert 'data-testid="audit-next"' not in second.text


def test_a_bad_filter_says_why_and_keeps_what_was_typed(client: TestClient, db: Database) -> None:
    name, _ = _admin(db)
    sign_in(client, name)
    bad = client.get("/audit?from=2026-13-40&to=2026-11-01&actor=nobody-here&entity_id=42")
    assert bad.status_code == 422
    text = html.unescape(bad.text)
    assert "「开始时间」不是有效的时间" in text and "没有用户名为「nobody-here」的员工" in text
    assert 'value="2026-13-40"' in text and 'value="nobody-here"' in text and 'value="42"' in text
    client.cookies.set("lang", "en")
    backwards = client.get("/audit?from=2026-11-02T00:00&to=2026-11-01T00:00")
    assert backwards.status_code == 422 and "The end must come after the start" in backwards.text


def test_only_admins_open_the_log(client: TestClient, db: Database) -> None:
    with db.session() as s:
        finance = f.user(s, role="finance").username
    sign_in(client, finance)
    assert client.get("/audit").status_code == 403
    assert 'data-testid="nav-audit"' not in client.get("/tickets").text


def test_changes_read_as_words_not_stored_values(client: TestClient, db: Database) -> None:
    """A tester read "role engineer → finance", "is_active True → False" and a UTC timestamp
    on a page that says times are China time."""
    name, admin_id = _admin(db)
    with db.session() as s:
        s.execute(
            insert(AuditRecord),
            [{"actor": f"user:{admin_id}", "action": "update", "entity": "users",
              "entity_id": "9", "created_at": T0,
              "before": {"role": "engineer", "is_active": True, "read_at": None},
              "after": {"role": "finance", "is_active": False,
                        "read_at": "2026-12-07T09:05:10.646395+00:00"}}],
        )  # fmt: skip
    sign_in(client, name)
    page = html.unescape(client.get("/audit?entity=users").text)
    assert "工程师</del> → <ins>财务" in page and "是</del> → <ins>否" in page
    assert "2026-12-07 17:05:10" in page and "09:05:10.646395" not in page
    assert ">角色<" in page and ">账号启用<" in page
    client.cookies.set("lang", "en")
    english = html.unescape(client.get("/audit?entity=users").text)
    assert "Engineer</del> → <ins>Finance" in english and "Yes</del> → <ins>No" in english
