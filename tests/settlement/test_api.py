"""The settlement API and pages, role by role: runs with idempotency keys, the statement
workflow (draft -> confirmed -> approved -> paid, disputes), exports, deposits."""

from __future__ import annotations

import io
import re

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from portal.accounts.models import User
from portal.config import Settings
from portal.database import Database
from portal.settlement import ledger
from portal.settlement.models import Statement
from portal.tickets.models import Ticket
from tests.portal import factories as f
from tests.settlement.month import build_month

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _world(db: Database, settings: Settings) -> dict[str, object]:
    with db.session() as s:
        month = build_month(s)
        other = f.network(s)
        e1_user = s.get_one(User, month.e1.user_id)
        fin = f.user(s, role="finance")
        nm = f.user(s, role="network_manager", network=month.network)
        return {
            "fin": f.bearer(settings, fin),
            "nm": f.bearer(settings, nm),
            "nm_user": nm.username,
            "fin_user": fin.username,
            "other_nm": f.bearer(settings, f.user(s, role="network_manager", network=other)),
            "eng": f.bearer(settings, e1_user),
            "agent": f.bearer(settings, f.user(s, role="agent")),
            "network_id": month.network.id,
            "other_id": other.id,
            "e1": month.e1.id,
            "numbers": {k: t.number for k, t in month.tickets.items()},
        }


def test_statement_workflow_over_the_api(
    client: TestClient, db: Database, settings: Settings
) -> None:
    w = _world(db, settings)
    fin, nm, eng = w["fin"], w["nm"], w["eng"]
    url = "/api/v1/settlement/runs"
    assert client.post(url, json={"period": "2026-03"}, headers=fin).status_code == 422  # no key
    assert (
        client.post(
            url, json={"period": "2026-03"}, headers={**nm, "Idempotency-Key": "k"}
        ).status_code
        == 403
    )  # type: ignore[dict-item]
    first = client.post(url, json={"period": "2026-03"}, headers={**fin, "Idempotency-Key": "k1"})  # type: ignore[dict-item]
    assert first.status_code == 201 and first.json()["tickets_settled"] == 5
    again = client.post(url, json={"period": "2026-03"}, headers={**fin, "Idempotency-Key": "k1"})  # type: ignore[dict-item]
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]

    listed = client.get("/api/v1/settlement/statements?period=2026-03", headers=nm).json()  # type: ignore[arg-type]
    assert sorted((x["party"], x["total"]) for x in listed) == [
        ("engineer", "135.00"),
        ("engineer", "50.00"),
        ("network", "60.00"),
    ]
    assert client.get("/api/v1/settlement/statements", headers=w["other_nm"]).json() == []  # type: ignore[arg-type]
    mine = client.get("/api/v1/settlement/statements", headers=eng).json()  # type: ignore[arg-type]
    assert [(x["party"], x["engineer_id"], x["total"]) for x in mine] == [
        ("engineer", w["e1"], "135.00")
    ]
    sid = next(x["id"] for x in listed if x["party"] == "network")
    st_url = f"/api/v1/settlement/statements/{sid}"
    assert client.get(st_url, headers=w["other_nm"]).status_code == 404  # type: ignore[arg-type]
    assert client.get(st_url, headers=eng).status_code == 404  # type: ignore[arg-type]
    body = client.get(st_url, headers=nm).json()  # type: ignore[arg-type]
    assert body["total"] == "60.00" and body["summary"]["penalty"] == "-140.00"
    numbers = w["numbers"]
    assert {ln["ticket_number"] for ln in body["lines"]} == {
        numbers[k] for k in ("T1", "T2", "T3", "T4", "T5")
    }  # type: ignore[index]

    act = f"{st_url}/actions"
    assert client.post(act, json={"action": "dispute"}, headers=nm).status_code == 422  # type: ignore[arg-type]
    r = client.post(
        act, json={"action": "dispute", "comment": "T3 的电脑板不是我们换的"}, headers=nm
    )  # type: ignore[arg-type]
    assert r.status_code == 200 and r.json()["status"] == "disputed"
    assert client.post(act, json={"action": "approve"}, headers=fin).status_code == 409  # type: ignore[arg-type]
    r = client.post(
        act, json={"action": "resolve", "comment": "已核实，备件确为该网点领用"}, headers=fin
    )  # type: ignore[arg-type]
    assert r.json()["status"] == "draft" and [c["kind"] for c in r.json()["comments"]] == [
        "dispute",
        "resolve",
    ]
    assert client.post(act, json={"action": "confirm"}, headers=w["other_nm"]).status_code == 404  # type: ignore[arg-type]
    assert client.post(act, json={"action": "confirm"}, headers=nm).json()["status"] == "confirmed"  # type: ignore[arg-type]
    assert client.post(act, json={"action": "approve"}, headers=nm).status_code == 403  # type: ignore[arg-type]
    assert client.post(act, json={"action": "approve"}, headers=fin).json()["status"] == "approved"  # type: ignore[arg-type]
    assert client.post(act, json={"action": "pay"}, headers=fin).json()["status"] == "paid"  # type: ignore[arg-type]
    with db.session() as s:
        # Paid: the network's account is square and its tickets are settled (lifecycle t9).
        assert ledger.balance(s, ledger.network_account(w["network_id"])) == 0  # type: ignore[arg-type]
        statuses = set(
            s.scalars(
                select(Ticket.status).where(
                    Ticket.number.in_([numbers[k] for k in ("T1", "T2", "T3", "T4", "T5")])
                )
            )
        )  # type: ignore[index]
        assert statuses == {"settled"}
        assert s.get_one(Statement, sid).payment_transaction_id is not None

    csv = client.get(f"{st_url}/export?format=csv", headers=nm)  # type: ignore[arg-type]
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    text = csv.content.decode("utf-8-sig")
    assert numbers["T3"] in text and "-180.00" in text and text.strip().endswith("60.00")  # type: ignore[index]
    xlsx = client.get(f"{st_url}/export?format=xlsx", headers=fin)  # type: ignore[arg-type]
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [row for row in sheet.iter_rows(values_only=True)]
    assert values[-1][-1] == 60 and values[5][0] == "工单号"
    tb = client.get("/api/v1/settlement/trial-balance", headers=fin).json()  # type: ignore[arg-type]
    assert tb["total"] == "0.00"
    lines = client.get(f"/api/v1/settlement/tickets/{numbers['T2']}/lines", headers=nm).json()  # type: ignore[index,arg-type]
    # A network manager sees their network's and engineers' side, not the manufacturer's.
    assert lines[0]["kind"] == "settlement" and all(
        e["account"].startswith((f"network:{w['network_id']}", "engineer:"))
        for e in lines[0]["entries"]
    )


def test_deposits_and_rules_are_finance_business(
    client: TestClient, db: Database, settings: Settings
) -> None:
    w = _world(db, settings)
    fin, nm = w["fin"], w["nm"]
    url = f"/api/v1/settlement/deposits/{w['network_id']}"
    body = {"action": "receive", "amount": "3000.00"}
    assert client.post(url, json=body, headers={**nm, "Idempotency-Key": "d"}).status_code == 403  # type: ignore[dict-item]
    for _ in range(2):
        r = client.post(url, json=body, headers={**fin, "Idempotency-Key": "d"})  # type: ignore[dict-item]
        assert r.status_code == 201
    assert client.get(url, headers=nm).json()["balance"] == "3000.00"  # type: ignore[arg-type]
    assert client.get(url, headers=w["other_nm"]).status_code == 404  # type: ignore[arg-type]
    r = client.put(
        "/api/v1/settlement/rules/bonus_fast",
        json={"trigger": "high_rating", "party": "engineer", "threshold": 5, "amount": "2.50"},
        headers=fin,  # type: ignore[arg-type]
    )
    assert r.status_code == 200 and r.json()["amount"] == "2.50"
    assert (
        client.put(
            "/api/v1/settlement/rules/x",
            json={"trigger": "high_rating", "party": "engineer", "threshold": 5, "amount": "1"},
            headers=nm,
        ).status_code
        == 403
    )  # type: ignore[arg-type]
    cards = client.get("/api/v1/settlement/rate-cards", headers=w["agent"]).json()  # type: ignore[arg-type]
    assert cards[0]["code"] == "STD" and cards[0]["lines"][0]["service_fee"] == "80.00"
    pricing = client.get(
        f"/api/v1/settlement/tickets/{w['numbers']['T3']}/pricing", headers=w["agent"]
    ).json()  # type: ignore[index,arg-type]
    assert pricing["warranty"] == "out" and pricing["customer_total"] == "410.00"


def test_statement_pages_drill_down_to_tickets(
    client: TestClient, db: Database, settings: Settings
) -> None:
    w = _world(db, settings)
    client.post(
        "/api/v1/settlement/runs",
        json={"period": "2026-03"},
        headers={**w["fin"], "Idempotency-Key": "p"},
    )  # type: ignore[dict-item]
    r = client.post("/login", data={"username": w["nm_user"], "password": f.PASSWORD})
    assert r.status_code == 200
    page = client.get("/settlement")
    assert page.status_code == 200 and "JS202603-N" in page.text
    sid = re.search(r'href="/settlement/statements/(\d+)">JS202603-N', page.text).group(1)  # type: ignore[union-attr]
    detail = client.get(f"/settlement/statements/{sid}")
    assert detail.status_code == 200
    assert w["numbers"]["T2"] in detail.text and "¥60.00" in detail.text  # type: ignore[index]
    only = client.get(f"/settlement/statements/{sid}?kind=penalty")
    assert only.text.count('data-testid="line-row"') == 5
    token = TOKEN.search(detail.text).group(1)  # type: ignore[union-attr]
    done = client.post(
        f"/settlement/statements/{sid}", data={"action": "confirm", "csrf_token": token}
    )
    assert done.status_code == 200 and "网点已确认" in done.text
    ticket = client.get(f"/settlement/tickets/{w['numbers']['T3']}")  # type: ignore[index]
    assert ticket.status_code == 200 and "保外" in ticket.text and "¥180.00" in ticket.text
    client.post("/logout", data={"csrf_token": token})
    f_login = client.post("/login", data={"username": w["fin_user"], "password": f.PASSWORD})
    assert f_login.status_code == 200
    assert client.get(f"/settlement/statements/{sid}").status_code == 200
