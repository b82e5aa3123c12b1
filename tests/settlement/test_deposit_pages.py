"""Network deposits (押金) in the settlement pages: finance records top-ups, deductions and
refunds with a reason (once per form), a refused form keeps what was typed and says why in
the reader's language, and a network manager reads their own deposit only."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.database import Database
from portal.security import Principal, Role
from portal.settlement import service as settlement
from portal.settlement.models import LedgerTransaction
from tests.page_support import sign_in
from tests.portal import factories as f

BALANCE = re.compile(r'data-testid="deposit-balance" data-amount="([^"]+)"')
ENTRY = re.compile(r'data-testid="deposit-entry" data-rule="(\w+)" data-change="([^"]+)"')
KEY = re.compile(r'name="key" value="([0-9a-f]+)"')


def _world(db: Database) -> dict[str, object]:
    with db.session() as s:
        net = f.network(s, name="上海浦东服务中心")
        other = f.network(s, name="杭州西湖服务中心")
        return {
            "net": net.id,
            "other": other.id,
            "finance": f.user(s, role="finance", display_name="财务小王").username,
            "manager": f.user(s, role="network_manager", network=net).username,
        }


def _move(client: TestClient, token: str, net: object, key: str, **form: str) -> object:
    return client.post(
        f"/settlement/deposits/{net}", data={"csrf_token": token, "key": key, **form}
    )


def test_finance_records_a_top_up_and_a_deduction_with_reasons(
    client: TestClient, db: Database
) -> None:
    w = _world(db)
    token = sign_in(client, str(w["finance"]))
    listing = client.get("/settlement/deposits")
    assert listing.status_code == 200
    assert (
        f'data-network="{w["net"]}"' in listing.text
        and f'data-network="{w["other"]}"' in listing.text
    )
    page = client.get(f"/settlement/deposits/{w['net']}")
    assert BALANCE.findall(page.text) == ["0.00"]
    key = KEY.findall(page.text)[0]
    done = _move(client, token, w["net"], key, action="receive", amount="5000", memo="2026年押金")
    assert done.status_code == 200 and "已记录：收取押金 ¥5,000.00" in done.text
    assert BALANCE.findall(done.text) == ["5000.00"]
    # The same form sent again (a double click, a reload) posts nothing more.
    again = _move(client, token, w["net"], key, action="receive", amount="5000", memo="2026年押金")
    assert BALANCE.findall(again.text) == ["5000.00"]
    key2 = KEY.findall(again.text)[0]
    assert key2 != key
    _move(client, token, w["net"], key2, action="deduct", amount="320.50", memo="抵扣11月罚款")
    page = client.get(f"/settlement/deposits/{w['net']}")
    assert BALANCE.findall(page.text) == ["4679.50"]
    assert ENTRY.findall(page.text) == [("deduct", "-320.50"), ("receive", "5000.00")]
    assert "抵扣11月罚款" in page.text and "财务小王" in page.text
    with db.session() as s:
        assert settlement.deposit_balance(s, network_id=int(str(w["net"]))) == Decimal("4679.50")
        assert len(s.scalars(select(LedgerTransaction)).all()) == 2
        assert settlement.deposit_balance(s, network_id=int(str(w["other"]))) == Decimal("0")


def test_a_refused_movement_says_why_and_keeps_what_was_typed(
    client: TestClient, db: Database
) -> None:
    w = _world(db)
    token = sign_in(client, str(w["finance"]))
    key = KEY.findall(client.get(f"/settlement/deposits/{w['net']}").text)[0]
    # More than the deposit holds.
    short = _move(client, token, w["net"], key, action="deduct", amount="100", memo="抵扣罚款")
    assert short.status_code == 422
    assert "押金余额不足" in short.text
    assert 'value="100"' in short.text and 'value="抵扣罚款"' in short.text
    assert re.search(r'<option value="deduct" selected>', short.text)
    assert KEY.findall(short.text) == [key]  # the same form: sending it again posts once
    # No reason.
    bare = _move(client, token, w["net"], key, action="receive", amount="100", memo=" ")
    assert bare.status_code == 422 and "请填写押金变动的原因" in bare.text
    # Not an amount: named as the form names it, in English for an English reader.
    client.cookies.set("lang", "en")
    bad = _move(client, token, w["net"], key, action="receive", amount="12.345", memo="top-up")
    assert bad.status_code == 422
    assert "'Amount (¥)' has an invalid value" in html.unescape(bad.text)
    assert 'value="12.345"' in bad.text
    with db.session() as s:
        assert s.scalars(select(LedgerTransaction)).all() == []


def test_a_network_manager_reads_their_own_deposit_only(client: TestClient, db: Database) -> None:
    w = _world(db)
    with db.session() as s:
        fin = f.user(s, role="finance")
        who = Principal(kind="staff", role=Role.FINANCE, name=fin.username, user_id=fin.id)
        settlement.move_deposit(
            s, network_id=int(str(w["net"])), action="receive", amount=Decimal("800"),
            key="seed", principal=who, memo="首付押金",
        )  # fmt: skip
    token = sign_in(client, str(w["manager"]))
    landed = client.get("/settlement/deposits", follow_redirects=False)
    assert (
        landed.status_code == 303
        and landed.headers["location"] == f"/settlement/deposits/{w['net']}"
    )
    own = client.get(f"/settlement/deposits/{w['net']}")
    assert own.status_code == 200 and BALANCE.findall(own.text) == ["800.00"]
    assert 'data-testid="deposit-form"' not in own.text and "首付押金" in own.text
    assert client.get(f"/settlement/deposits/{w['other']}").status_code == 404
    refused = _move(client, token, w["net"], "k1", action="refund", amount="800", memo="退")
    assert refused.status_code == 403
    with db.session() as s:
        assert settlement.deposit_balance(s, network_id=int(str(w["net"]))) == Decimal("800.00")


def test_a_deposit_the_system_posted_is_by_the_system(client: TestClient, db: Database) -> None:
    # A tester read 经办人 "service:demo-finance" on the demo's deposits.
    w = _world(db)
    with db.session() as s:
        settlement.move_deposit(
            s,
            network_id=int(str(w["net"])),
            action="receive",
            amount=Decimal("5000.00"),
            key="opening",
            principal=Principal(kind="service", role=Role.FINANCE, name="demo-finance"),
            memo="网点入网押金",
        )
    sign_in(client, str(w["finance"]))
    page = client.get(f"/settlement/deposits/{w['net']}").text
    assert "service:demo-finance" not in page and "<td>系统</td>" in page
