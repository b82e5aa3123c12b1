"""A customer's signature is kept with the name of who signed (testers saved one with the name
field cleared): refused without it, in the reader's language, the drawing and the form kept on
the page; a visit closed without a signature (customer absent, reason and door photo) still
completes."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.database import Database
from portal.field.models import WorkRecord
from portal.tickets.models import Ticket
from tests.field.support import World, build, csrf, log_in
from tests.portal import factories as f

SIGNATURE = "data:image/png;base64," + base64.b64encode(f.PNG).decode()


@pytest.fixture
def world(db: Database) -> World:
    return build(db)


def _on_site(client: TestClient, world: World) -> str:
    log_in(client, world.username)
    url = f"/field/jobs/{world.job}"
    for step in ("accept", "depart", "arrive"):
        client.post(f"{url}/{step}", data={"csrf_token": csrf(client)}, follow_redirects=False)
    saved = client.post(
        f"{url}/record",
        data={"csrf_token": csrf(client), "work_done": "清理滤网，试机正常"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    return url


def _record(db: Database, number: str) -> WorkRecord:
    with db.session() as s:
        ticket_id = s.scalars(select(Ticket.id).where(Ticket.number == number)).one()
        record = s.scalars(select(WorkRecord).where(WorkRecord.ticket_id == ticket_id)).one()
        s.expunge(record)
        return record


def test_a_signature_without_the_signer_s_name_is_refused_and_kept(
    client: TestClient, world: World, db: Database
) -> None:
    url = _on_site(client, world)
    for lang, message in (
        ("zh", "请填写签名人姓名"),
        ("en", "Enter the name of the person who signed"),
    ):
        client.cookies.set("lang", lang)
        refused = client.post(
            f"{url}/signature",
            data={"csrf_token": csrf(client, url), "signature": SIGNATURE, "signed_by": "  "},
            follow_redirects=False,
        )
        assert refused.status_code == 422, lang
        page = refused.text
        assert 'data-testid="signature-error"' in page and message in page, lang
        # What was drawn comes back onto the pad; the name field is empty and required.
        assert f'data-kept="{SIGNATURE}"' in page
        assert 'name="signed_by" maxlength="100" required value=""' in page
        assert _record(db, world.job).signature_id is None
    client.cookies.set("lang", "zh")
    saved = client.post(
        f"{url}/signature",
        data={"csrf_token": csrf(client, url), "signature": SIGNATURE, "signed_by": "王女士"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    record = _record(db, world.job)
    assert record.signature_id is not None and record.signed_by == "王女士"


def test_a_skipped_signature_needs_no_name_and_the_job_completes(
    client: TestClient, world: World, db: Database
) -> None:
    url = _on_site(client, world)
    skipped = client.post(
        f"{url}/signature-skip",
        data={"csrf_token": csrf(client, url), "reason": "客户不在场"},
        files={"door_photo": ("door.png", f.PNG, "image/png")},
        follow_redirects=False,
    )
    assert skipped.status_code == 303
    record = _record(db, world.job)
    assert record.signature_id is None and record.door_photo_id is not None
    client.post(
        f"{url}/cause",
        data={"csrf_token": csrf(client, url), "cause": "component_failure"},
        files=[("evidence", ("失效.png", f.PNG))],
        follow_redirects=False,
    )
    client.post(f"{url}/complete", data={"csrf_token": csrf(client, url)}, follow_redirects=False)
    with db.session() as s:
        status = s.scalars(select(Ticket.status).where(Ticket.number == world.job)).one()
    assert status == "completed"
