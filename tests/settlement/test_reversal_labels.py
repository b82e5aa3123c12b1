"""A statement's reversal lines say what they are (testers found them unlabeled): 冲销, and
which posting of which ticket they reverse."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient

from portal.database import Database
from portal.settlement import flows
from portal.settlement import service as settlement
from tests.page_support import sign_in
from tests.portal import factories as f
from tests.settlement.month import build_month


def test_reversal_lines_are_labelled_with_what_they_reverse(
    client: TestClient, db: Database
) -> None:
    with db.session() as s:
        month = build_month(s)
        flows.run_settlement(s, period="2026-03", key="m1", actor="fin")
        settlement.save_rule(
            s,
            code="rating_high_network",
            trigger="high_rating",
            party="network",
            threshold=5,
            amount=Decimal("8.00"),
        )
        flows.run_settlement(s, period="2026-03", key="m2", actor="fin")
        (net,) = settlement.list_statements(s, period="2026-03", party="network")
        statement_id, t1 = net.id, month.tickets["T1"].number
        finance = f.user(s, role="finance").username
    sign_in(client, finance)
    page = client.get(f"/settlement/statements/{statement_id}").text
    rows = re.findall(r'<tr data-testid="line-row"[^>]*>.*?</tr>', page, flags=re.S)
    reversed_rows = [r for r in rows if 'data-reversal="true"' in r]
    assert reversed_rows, "no line is marked as a reversal"
    for row in reversed_rows:
        assert "冲销" in row
        assert re.search(r"冲销 \d{4}-\d{2}-\d{2} 的结算 #\d+", row), row
    assert len(reversed_rows) < len(rows)  # the new lines are not reversals
    assert t1 in page
    # Rules by name, not code (a tester read rating_high_network in both languages).
    assert "网点好评" in page and ">rating_high_network<" not in page


def test_the_statement_s_workflow_names_people_not_user_ids(
    client: TestClient, db: Database
) -> None:
    """Testers read `user:12` in the statement's workflow (and the stock ledger)."""
    with db.session() as s:
        build_month(s)
        flows.run_settlement(s, period="2026-03", key="m1", actor="fin")
        (net,) = settlement.list_statements(s, period="2026-03", party="network")
        statement_id = net.id
        clerk = f.user(s, role="finance", display_name="财务小王")
        finance, clerk_id = clerk.username, clerk.id
    token = sign_in(client, finance)
    posted = client.post(
        f"/settlement/statements/{statement_id}",
        data={"csrf_token": token, "action": "comment", "comment": "请核对三月的里程费"},
    )
    assert posted.status_code == 200
    page = client.get(f"/settlement/statements/{statement_id}").text
    workflow = page[page.index('class="comments"') :]
    assert "财务小王" in workflow and f"user:{clerk_id}" not in workflow
    movements = client.get("/parts/movements").text
    assert not re.search(r">\s*(user:\d+|system)\s*<", movements)
