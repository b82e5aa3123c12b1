"""A job is not completed while one of its expert consults (远程专家会诊) still waits for an
answer (testers completed one with the question open): refused on the field page and in the
JSON API alike, naming the consult; once the engineer closes it (or an expert answers), the
job completes. On a phone the refusal shows in the job's consults card, beside the consult.

Screenshot: field-consult-waiting-390.png (SCREENSHOT_DIR)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from portal.accounts.models import User
from portal.config import Settings
from portal.consults import service
from portal.consults.models import Consult
from portal.database import Database
from portal.field import service as field_service
from portal.field.schemas import WorkRecordIn
from portal.networks.models import Engineer
from portal.tickets import lifecycle
from portal.tickets.models import Ticket
from tests.consults.support import LIMITS, Scene, engineer, scene, staff, uploads
from tests.field.support import csrf, log_in
from tests.page_support import SHOTS, reading_in, served_portal
from tests.portal import factories as f

QUESTION = "E21 排水泵换过仍报错，是否主板问题？"


@pytest.fixture
def world(db: Database) -> Scene:
    return scene(db)


def _ready_with_a_consult(db: Database, w: Scene, tmp: Path, *, answered: bool = False) -> str:
    """An out-of-warranty job on site, its record written and signed, and a consult on it."""
    root = uploads(tmp)
    with db.session() as s:
        me = engineer(s, w.world.engineer_id)
        customer = f.customer(s, with_asset=False, name="赵先生")
        ticket = f.ticket(
            s,
            customer=customer,
            engineer=s.get_one(Engineer, w.world.engineer_id),
            actions=("accept", "dispatch", "engineer_accept", "depart", "arrive"),
        )
        field_service.save_record(
            s,
            ticket=ticket,
            engineer_id=w.world.engineer_id,
            data=WorkRecordIn(work_done="清理排水管，试机正常"),
        )
        field_service.sign(
            s,
            ticket=ticket,
            engineer_id=w.world.engineer_id,
            png=f.PNG,
            signed_by="赵先生",
            principal=me,
            root=root,
            max_bytes=1_000_000,
        )
        consult = service.open_consult(
            s,
            ticket=ticket,
            principal=me,
            question=QUESTION,
            fault_code="E21",
            photos=[],
            video=None,
            limits=LIMITS,
            root=root,
        )
        if answered:
            service.answer(
                s,
                consult=consult,
                principal=staff(s, w.expert_id),
                text="先查排水泵插头",
                measure="",
                photos=[],
                limits=LIMITS,
                root=root,
            )
        return ticket.number


def _status(db: Database, number: str) -> str:
    with db.session() as s:
        return s.scalars(select(Ticket.status).where(Ticket.number == number)).one()


def test_the_field_page_refuses_to_complete_while_a_consult_waits(
    client: TestClient, world: Scene, db: Database, tmp_path: Path
) -> None:
    number = _ready_with_a_consult(db, world, tmp_path)
    with db.session() as s:
        consult_id = s.scalars(select(Consult.id)).one()
    log_in(client, world.world.username)
    url = f"/field/jobs/{number}"
    done = client.post(
        f"{url}/complete", data={"csrf_token": csrf(client, url)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == f"{url}#consults"
    page = client.get(url).text
    assert f"会诊 #{consult_id}" in page and "E21 排水泵换过仍报错" in page
    assert "请先结束会诊再完工" in page
    assert _status(db, number) == "arrived"
    # English readers get it in English.
    client.post(f"{url}/complete", data={"csrf_token": csrf(client, url)}, follow_redirects=False)
    with reading_in(client, "en"):
        english = client.get(url).text
    assert f"consult #{consult_id}" in english and "close it before completing" in english
    # The engineer closes the consult (the problem is solved): the job completes.
    resolved = client.post(
        f"/field/consults/{consult_id}/resolve",
        data={"csrf_token": csrf(client, url)},
        follow_redirects=False,
    )
    assert resolved.status_code == 303
    client.post(f"{url}/complete", data={"csrf_token": csrf(client, url)})
    assert _status(db, number) == "completed"


def test_the_json_api_refuses_it_alike(
    client: TestClient, world: Scene, db: Database, settings: Settings, tmp_path: Path
) -> None:
    number = _ready_with_a_consult(db, world, tmp_path)
    with db.session() as s:
        user = s.get_one(User, s.get_one(Engineer, world.world.engineer_id).user_id)
        headers = f.bearer(settings, user)
        consult_id = s.scalars(select(Consult.id)).one()
    answer = client.post(
        f"/api/v1/tickets/{number}/transitions", json={"action": "complete"}, headers=headers
    )
    assert answer.status_code == 409, answer.text
    body = answer.text
    assert f"会诊 #{consult_id}" in body and f"consult #{consult_id}" in body
    assert _status(db, number) == "arrived"


def test_an_answered_consult_does_not_hold_the_job(
    world: Scene, db: Database, tmp_path: Path
) -> None:
    number = _ready_with_a_consult(db, world, tmp_path, answered=True)
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        lifecycle.apply(s, ticket=ticket, action="complete", actor="user:1", role="engineer")
    assert _status(db, number) == "completed"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal on a free port: a job ready to complete, a consult on it still waiting."""
    var = tmp_path_factory.mktemp("consult-guard")

    def build(db: Database) -> dict[str, Any]:
        w = scene(db)
        return {"number": _ready_with_a_consult(db, w, var), "username": w.world.username}

    with served_portal(var, build) as running:
        yield running


@pytest.mark.e2e
def test_on_a_phone_the_refusal_shows_in_the_consults_card(
    browser: Browser, portal: dict[str, Any]
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    try:
        page = context.new_page()
        base, number = portal["base"], portal["number"]
        page.goto(f"{base}/login?next=/field/jobs/{number}")
        page.fill("input[name=username]", portal["username"])
        page.fill("input[name=password]", f.PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{base}/field/jobs/{number}")
        expect(page.locator("[data-testid=consult-link]")).to_have_count(1)
        page.locator("[data-testid=complete]").tap()
        card = page.locator("[data-testid=consults]")
        message = card.locator("[data-testid=flash]")
        # Still there once the card has loaded the job's consults, next to the one waiting.
        expect(card.locator("[data-testid=consult-link]")).to_have_count(1)
        expect(message).to_contain_text("请先结束会诊再完工")
        expect(message).to_be_in_viewport()
        page.screenshot(path=str(SHOTS / "field-consult-waiting-390.png"))
    finally:
        context.close()
