"""The audit log reads as users know things (a tester's findings): every field the log can
write has a label in both languages, not its column name (visit_date, owner_id, details);
ids read as names (a complaint's owner as the person), dates as dates, a JSON column as a
short list of what it holds; and an object is named as users know it (工单 SR…, not
工单 #1994), with a link to it."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert

import portal.models  # noqa: F401  (every table registered)
from portal.audit.models import AuditRecord
from portal.audit.pages import _code_word, _entities, _summary
from portal.database import Base, Database
from portal.i18n import field_label
from tests.page_support import reading_in, sign_in
from tests.portal import factories as f

HAN = re.compile(r"[\u4e00-\u9fff]")
T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def test_every_field_the_log_can_write_has_a_label_in_both_languages() -> None:
    # The flush hook (portal/audit/service.py) records every column of every table it does
    # not skip: those are the field names the log can hold.
    missing = []
    for table in _entities():
        for column in Base.metadata.tables[table].columns:
            zh, en = field_label(column.name, table)
            if not HAN.search(zh) or not en or HAN.search(en) or (zh, en) == (column.name,) * 2:
                missing.append(f"{table}.{column.name}")
    assert missing == []


def test_a_column_name_two_tables_share_reads_right_in_each() -> None:
    # A meter reading's read_at is when it was read off; a notification's, when it was read.
    assert field_label("read_at", "maintenance_usage_readings") == ("读数时间", "reading time")
    assert field_label("read_at", "notifications") == ("已读时间", "read at")


# A ticket's details (a JSON column) are summarised key by key: the keys the code writes.
DETAIL_KEY = re.compile(r'details(?:\[|\.get\()"([a-z_]+)"|DECLINE_REASONS = "([a-z_]+)"')


def test_every_ticket_detail_the_code_writes_has_a_label() -> None:
    keys = {
        a or b
        for path in (ROOT / "portal").rglob("*.py")
        for a, b in DETAIL_KEY.findall(path.read_text(encoding="utf-8"))
    }
    assert {"preferred_time", "quote_decline_reasons"} <= keys
    unlabelled = sorted(k for k in keys if field_label(k) == (k, k))
    assert unlabelled == []


def test_values_and_objects_read_as_users_know_them(client: TestClient, db: Database) -> None:
    with db.session() as s:
        admin = f.user(s, role="admin", display_name="管理员老周")
        owner = f.user(s, role="agent", display_name="投诉主管老陈")
        ticket = f.ticket(s, customer=f.customer(s, name="王女士"))
        number, ticket_id, customer_id = ticket.number, ticket.id, ticket.customer_id
        rows = [
            {"entity": "complaints", "entity_id": "3",
             "before": {"owner_id": None, "ticket_id": ticket_id, "status": "open"},
             "after": {"owner_id": owner.id, "ticket_id": ticket_id, "status": "open"}},
            {"entity": "tickets", "entity_id": str(ticket_id),
             "before": {"details": {"fault_started": "昨天"}, "customer_id": customer_id,
                        "status": "new", "urgency": "normal"},
             "after": {"details": {"fault_started": "昨天", "preferred_time": "周三上午"},
                       "customer_id": customer_id, "status": "accepted", "urgency": "urgent"}},
            {"entity": "dispatch_visits", "entity_id": "8",
             "before": {"visit_date": "2026-12-08", "ticket_id": ticket_id},
             "after": {"visit_date": "2026-12-09", "ticket_id": ticket_id}},
        ]  # fmt: skip
        s.execute(
            insert(AuditRecord),
            [
                {"actor": f"user:{admin.id}", "action": "update", "created_at": T0, **r}
                for r in rows
            ],
        )
        name = admin.username
    sign_in(client, name)
    page = html.unescape(client.get("/audit").text)
    # Labels, not column names.
    assert "负责人" in page and "补充信息" in page and "上门日期" in page
    assert ">owner_id<" not in page and ">details<" not in page and ">visit_date<" not in page
    # The owner by name; the details as what they hold; the date as a date.
    assert "投诉主管老陈" in page
    table = page.split('data-testid="audit-table"')[1]
    assert "期望上门时间：周三上午" in table and '{"' not in table and "{'" not in table
    assert "2026-12-08</del> → <ins>2026-12-09" in page
    # A status, an urgency as words (a tester read "new → accepted").
    assert "待受理</del> → <ins>已受理" in page and "一般</del> → <ins>紧急" in page
    # The ticket by its number, linked; never by its database id.
    assert f'href="/tickets/{number}"' in page
    assert f"#{ticket_id}<" not in page
    with reading_in(client, "en"):
        english = html.unescape(client.get("/audit").text)
    assert "owner" in english and "visit date" in english
    assert "preferred visit time: 周三上午" in english


def test_codes_read_as_words() -> None:
    # A tester read "客户确认 — → awaiting", "状态 breached → met", "故障原因：improper_use".
    assert _code_word("complaints", "confirmation", "awaiting", "zh") == "等待客户确认"
    assert _code_word("complaints", "source", "other", "en") == "Other"
    assert _code_word("sla_timers", "state", "breached", "zh") == "已超时"
    assert _summary({"fault_cause": "improper_use"}, "zh") == "故障原因：使用不当"
    assert _code_word("tickets", "state", "breached", "zh") is None  # only where it means that
