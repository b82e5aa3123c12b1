"""The cost-centre pages over HTTP on both databases: who may open and post what (the fault
cause is the engineer's on their own job, appraisals factory quality's, the month finance's),
evidence photos served only for their case, and the pages in English."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.config import Settings
from portal.costs.models import CostCase
from portal.database import Database
from portal.settlement import ledger
from portal.settlement.models import LedgerTransaction
from portal.tickets.models import Ticket
from tests.costs import world as w
from tests.field.support import csrf, log_in
from tests.page_support import reading_in
from tests.portal import factories as f


@pytest.fixture
def scene(db: Database, settings: Settings) -> dict[str, str]:
    """A settled quality case, a job on site for its engineer, and one for another engineer;
    a quality, a finance and an agent login."""
    root = settings.uploads_path
    with db.session() as s:
        c = w.crew(s)
        done = w.on_site(s, c)
        w.record_cause(s, c, done, "component_failure", root)
        w.work_and_sign(s, c, done, root)
        w.complete(s, c, done)
        w.rate(s, done)
        site_photo = f.attachment(s, ticket=done, root=root, filename="现场.png")
        open_job = w.on_site(s, c)
        other = w.crew(s)
        others_job = w.on_site(s, other)
        period = s.scalars(select(LedgerTransaction.period)).first() or ""
        return {
            "engineer": c.principal.name,
            "other_engineer": other.principal.name,
            "quality": f.user(s, role="quality").username,
            "finance": f.user(s, role="finance").username,
            "agent": f.user(s, role="agent").username,
            "done": done.number,
            "open": open_job.number,
            "others": others_job.number,
            "site_photo": str(site_photo.id),
            "period": period,
        }


def _as(client: TestClient, username: str, lands: str) -> None:
    log_in(client, username, lands)


def test_each_role_reaches_only_its_cost_pages(client: TestClient, scene: dict[str, str]) -> None:
    case = f"/quality/cases/{scene['done']}"
    pages = ("/quality", "/quality/repeats", case, "/settlement/cost-centres")
    expected = {
        "quality": {"/quality": 200, "/quality/repeats": 200, case: 200},
        "finance": {"/settlement/cost-centres": 200},
    }
    for who in ("quality", "finance", "agent", "engineer"):
        client.cookies.clear()
        _as(client, scene[who], "/quality" if who == "quality" else "/tickets")
        for path in pages:
            status = client.get(path, follow_redirects=False).status_code
            assert status == expected.get(who, {}).get(path, 403), (who, path, status)


def test_only_factory_quality_appraises(
    client: TestClient, scene: dict[str, str], db: Database
) -> None:
    url = f"/quality/cases/{scene['done']}"
    _as(client, scene["finance"], "/tickets")
    token = csrf(client, "/settlement/cost-centres")
    refused = client.post(url, data={"csrf_token": token, "action": "confirm"})
    assert refused.status_code == 403
    client.cookies.clear()
    _as(client, scene["quality"], "/quality")
    token = csrf(client, "/quality")
    answer = client.post(
        url,
        data={"csrf_token": token, "action": "reclassify", "reason": "", "cause": "environment"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    page = client.get(url)
    assert "改判必须填写原因" in page.text and 'data-status="recorded"' in page.text
    # The cause chosen before the refusal is still the one chosen (a tester had to pick again).
    assert '<option value="environment" selected>' in page.text
    answer = client.post(
        url,
        data={
            "csrf_token": token,
            "action": "reclassify",
            "reason": "雷击电压浪涌",
            "cause": "environment",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    with db.session() as s:
        case = s.scalars(select(CostCase)).one()
        assert (case.status, case.centre, case.cause) == ("reclassified", "sales", "environment")
        assert ledger.balance(s, "cc:factory:parts") == Decimal("0.00")
        assert ledger.balance(s, "cc:sales:parts") == Decimal("45.00")


def test_the_engineer_records_the_cause_only_on_their_own_job(
    client: TestClient, scene: dict[str, str], db: Database
) -> None:
    _as(client, scene["engineer"], "/field")
    token = csrf(client)
    mine = client.post(
        f"/field/jobs/{scene['open']}/cause",
        data={"csrf_token": token, "cause": "transport_damage", "note": "外箱破损"},
        follow_redirects=False,
    )
    assert mine.status_code == 303
    theirs = client.post(
        f"/field/jobs/{scene['others']}/cause",
        data={"csrf_token": token, "cause": "transport_damage"},
    )
    assert theirs.status_code == 404
    unknown = client.post(
        f"/field/jobs/{scene['open']}/cause",
        data={"csrf_token": token, "cause": "bad_luck"},
        follow_redirects=False,
    )
    assert unknown.status_code == 303
    page = client.get(f"/field/jobs/{scene['open']}")
    assert "保内工单完工前请选择故障原因" in page.text
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == scene["open"])).one()
        case = s.scalars(select(CostCase).where(CostCase.ticket_id == ticket.id)).one()
        assert (case.cause, case.centre, case.note) == ("transport_damage", "sales", "外箱破损")
        others = s.scalars(select(Ticket).where(Ticket.number == scene["others"])).one()
        assert s.scalars(select(CostCase).where(CostCase.ticket_id == others.id)).first() is None


def test_evidence_photos_are_served_for_their_case_only(
    client: TestClient, scene: dict[str, str], db: Database, settings: Settings
) -> None:
    with db.session() as s:
        (evidence,) = s.scalars(select(CostCase)).one().evidence_ids
    _as(client, scene["quality"], "/quality")
    base = f"/quality/cases/{scene['done']}/photos"
    photo = client.get(f"{base}/{evidence}")
    assert photo.status_code == 200 and photo.content == f.PNG
    assert photo.headers["x-content-type-options"] == "nosniff"
    # A site photo of the same ticket is no evidence; a job without a case has no page.
    assert client.get(f"{base}/{scene['site_photo']}").status_code == 404
    assert client.get(f"/quality/cases/{scene['open']}").status_code == 404
    assert Path(settings.uploads_path).exists()


def test_the_pages_read_in_english(client: TestClient, scene: dict[str, str]) -> None:
    _as(client, scene["quality"], "/quality")
    with reading_in(client, "en"):
        case = client.get(f"/quality/cases/{scene['done']}")
    assert "Component failure" in case.text and "Reclassify as not quality" in case.text
    client.cookies.clear()
    _as(client, scene["finance"], "/tickets")
    with reading_in(client, "en"):
        month = client.get(f"/settlement/cost-centres/factory?period={scene['period']}")
    assert month.status_code == 200
    assert "Factory" in month.text and "1 ticket" in month.text


def test_a_reclassification_before_settlement_says_nothing_was_reversed(
    client: TestClient, db: Database, settings: Settings
) -> None:
    """A tester reclassified a case that was not settled yet and read that its costs had been
    reversed, above a cost section that said 尚未结算."""
    with db.session() as s:
        c = w.crew(s)
        job = w.on_site(s, c)
        w.record_cause(s, c, job, "component_failure", settings.uploads_path)
        w.work_and_sign(s, c, job, settings.uploads_path)
        w.complete(s, c, job)  # not rated: not settled
        number, quality = job.number, f.user(s, role="quality").username
    _as(client, quality, "/quality")
    token = csrf(client, "/quality")
    data = {"csrf_token": token, "action": "reclassify", "reason": "雷击", "cause": "environment"}
    page = client.post(f"/quality/cases/{number}", data=data)
    assert page.status_code == 200
    assert "该单尚未结算，结算时成本将计入新的成本中心" in page.text
    assert "成本已冲销" not in page.text
