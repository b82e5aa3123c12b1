"""The field app over HTTP on both databases: today's route, each step as a lifecycle event
with its time, the work record with van parts, photos and signature, and scoping."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.database import Database
from portal.dispatch.models import EngineerPosition
from portal.field.models import WorkRecord
from portal.networks.models import Engineer
from portal.parts import service as parts
from portal.parts.models import Part, StockMovement
from portal.sop.demo import seed_sops
from portal.tickets.models import Ticket, TicketAttachment
from tests.field.support import World, build, csrf, log_in
from tests.page_support import reading_in
from tests.portal import factories as f

SIGNATURE = "data:image/png;base64," + base64.b64encode(f.PNG).decode()


@pytest.fixture
def world(db: Database) -> World:
    return build(db)


def _ticket(db: Database, number: str) -> Ticket:
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        s.expunge_all()
        return ticket


def _post(client: TestClient, url: str, **data: object) -> str:
    """POST a field form with the session's token; the flash the redirect leads to."""
    token = csrf(client)
    response = client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def test_login_lands_engineers_on_today_s_route(client: TestClient, world: World) -> None:
    page = client.get("/field", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/field"
    log_in(client, world.username)
    page = client.get("/field")
    assert page.status_code == 200
    assert f'data-number="{world.job}"' in page.text
    assert world.others_job not in page.text
    # One visit in route order, with an ETA, the customer's number and map links.
    assert 'data-testid="sequence">1<' in page.text
    assert 'data-testid="eta"' in page.text
    assert 'href="tel:' in page.text
    assert 'href="geo:31.230000,121.470000?q=' in page.text
    assert "https://uri.amap.com/marker?position=121.470000,31.230000" in page.text
    assert '<meta name="viewport" content="width=device-width' in page.text
    with reading_in(client, "en"):
        english = client.get("/field")
    assert "Visits: 1" in english.text and "ETA " in english.text and "Navigate" in english.text


def test_an_engineer_sees_only_their_own_jobs(client: TestClient, world: World) -> None:
    log_in(client, world.username)
    assert client.get(f"/field/jobs/{world.job}").status_code == 200
    assert client.get(f"/field/jobs/{world.others_job}").status_code == 404
    token = csrf(client)
    for step in ("accept", "depart", "arrive", "complete", "record", "signature"):
        refused = client.post(
            f"/field/jobs/{world.others_job}/{step}", data={"csrf_token": token, "reason": "x"}
        )
        assert refused.status_code == 404, step
    refused = client.post(
        f"/field/jobs/{world.others_job}/photos",
        data={"csrf_token": token},
        files={"photos": ("a.png", f.PNG)},
    )
    assert refused.status_code == 404
    # Nor through the SOP API with the same page session.
    assert client.get(f"/api/v1/sop/for-ticket/{world.others_job}").status_code == 404


def test_the_app_is_for_engineers_and_posts_need_the_token(
    client: TestClient, world: World
) -> None:
    log_in(client, world.agent)
    assert client.get("/field").status_code == 403
    client.post("/logout", data={"csrf_token": csrf(client, "/tickets")})
    log_in(client, world.username)
    csrf(client)
    forged = client.post(f"/field/jobs/{world.job}/accept", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert forged.headers["content-type"].startswith("text/html")


def test_a_job_walked_from_accept_to_complete(
    client: TestClient, world: World, db: Database
) -> None:
    with db.session() as s:
        engineer = s.get_one(Engineer, world.engineer_id)
        part = parts.create_part(
            s,
            part=Part(
                code="WM-PUMP-01",
                name="排水泵",
                category="洗衣机",
                unit_cost=Decimal("35.00"),
                unit_price=Decimal("80.00"),
            ),
        )
        van = parts.van_location(s, engineer=engineer)
        parts.receive(s, location=van, part=part, quantity=3, actor="system:test")
        # One of the three was issued to the van for this very job: still the engineer's to fit.
        ticket_id = s.scalars(select(Ticket.id).where(Ticket.number == world.job)).one()
        held = parts.reserve(
            s, ticket_id=ticket_id, location=van, part=part, quantity=1, actor="system:test"
        )
        assert held == 1 and parts.available(s, location_id=van.id, part_id=part.id) == 2
        van_id, part_id = van.id, part.id
    log_in(client, world.username)
    url = f"/field/jobs/{world.job}"

    assert _post(client, f"{url}/accept") == url
    assert _post(client, f"{url}/depart") == url  # no position: the phone gave none
    where = {"lat": "31.240100", "lng": "121.500200", "accuracy": "12"}
    assert _post(client, f"{url}/arrive", **where) == url
    page = client.get(url)
    assert 'data-status="arrived"' in page.text
    assert "WM-PUMP-01" in page.text  # offered from the van stock
    # On site: the day's list says since when, not an ETA that may be late (a tester's find).
    today = client.get("/field").text
    assert 'data-testid="arrived"' in today and "已到场" in today
    assert 'data-testid="eta"' not in today and "可能迟到" not in today

    # Completing without a record or signature is refused, and says why.
    assert _post(client, f"{url}/complete") == url + "#complete"
    assert "完工前请先填写并保存工作记录" in client.get(url).text
    too_many = {"part": ["WM-PUMP-01"], "qty": ["5"]}
    # Refused in place: the page again, the reason next to the form, nothing typed lost.
    refused = client.post(
        f"{url}/record", data={"csrf_token": csrf(client), "work_done": "更换排水泵", **too_many}
    )
    assert refused.status_code == 422
    assert 'data-testid="record-error"' in refused.text and "只剩 3 个" in refused.text
    assert ">更换排水泵</textarea>" in refused.text and 'value="WM-PUMP-01"' in refused.text
    _post(
        client,
        f"{url}/record",
        diagnosis="排水泵堵转，E21",
        work_done="更换排水泵，试机正常",
        part=["WM-PUMP-01", "密封圈", ""],
        qty=["1", "2", "1"],
    )
    token = csrf(client)
    photo = client.post(
        f"{url}/photos",
        data={"csrf_token": token},
        files=[("photos", ("现场1.png", f.PNG)), ("photos", ("现场2.png", f.PNG))],
        follow_redirects=False,
    )
    assert photo.status_code == 303
    assert _post(client, f"{url}/complete") == url + "#complete"
    assert "完工前需要客户在屏幕上签名" in client.get(url).text
    _post(client, f"{url}/signature", signature="data:image/png;base64,!!", signed_by="王女士")
    assert "完工前需要客户在屏幕上签名" in client.get(url).text
    _post(client, f"{url}/signature", signature=SIGNATURE, signed_by="王女士")
    # In warranty: the fault cause first, a quality one with its photo (portal/costs).
    assert _post(client, f"{url}/complete") == url + "#complete"
    assert "保内工单完工前请选择故障原因" in client.get(url).text
    cause = client.post(
        f"{url}/cause",
        data={"csrf_token": csrf(client), "cause": "component_failure"},
        files=[("evidence", ("失效的泵.png", f.PNG))],
        follow_redirects=False,
    )
    assert cause.status_code == 303
    assert _post(client, f"{url}/complete") == url
    assert "已执行「完工」" in client.get(url).text

    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == world.job)).one()
        assert ticket.status == "completed"
        steps = [e for e in ticket.events if e.action not in ("create", "accept", "dispatch")]
        # The revisit subscriber asks the customer to rate the visit as soon as it completes.
        revisit = steps.pop()
        assert (revisit.action, revisit.actor) == ("request_evaluation", "system")
        assert [e.action for e in steps] == [
            "engineer_accept",
            "depart",
            "arrive",
            "complete",
        ]
        assert all(e.actor.startswith("user:") for e in steps)
        times = [e.created_at for e in steps]
        assert times == sorted(times) and all(t.tzinfo is not None for t in times)
        depart, arrive, complete = steps[1], steps[2], steps[3]
        assert "position" not in depart.payload
        assert arrive.payload["position"] == {"lat": 31.2401, "lng": 121.5002, "accuracy_m": 12.0}
        here = s.get_one(EngineerPosition, world.engineer_id)
        assert (here.lat, here.lng) == (Decimal("31.240100"), Decimal("121.500200"))

        record = s.scalars(select(WorkRecord).where(WorkRecord.ticket_id == ticket.id)).one()
        assert record.arrival_event_id == arrive.id
        assert record.diagnosis == "排水泵堵转，E21"
        assert record.parts_used == [
            {"part_code": "WM-PUMP-01", "name": "排水泵", "quantity": 1, "source": "van"},
            {"part_code": "", "name": "密封圈", "quantity": 2, "source": "other"},
        ]
        files = s.scalars(
            select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)
        ).all()
        assert sorted(a.filename for a in files) == sorted(
            ["现场1.png", "现场2.png", f"signature-{ticket.number}.png", "失效的泵.png"]
        )
        assert all(a.content_type == "image/png" for a in files)
        assert record.photo_ids == [a.id for a in files if a.filename.startswith("现场")]
        assert record.signature_id is not None and record.signed_by == "王女士"
        assert complete.payload["work_record_id"] == record.id
        assert complete.payload["signature_id"] == record.signature_id
        assert complete.payload["labour_quota_hours"] == "1.00"  # no SOP: the repair default
        # The van part was consumed from the van through the parts ledger.
        assert parts.available(s, location_id=van_id, part_id=part_id) == 2
        used = s.scalars(
            select(StockMovement).where(
                StockMovement.ticket_id == ticket.id, StockMovement.kind == "consume"
            )
        ).all()
        assert [(m.location_id, m.on_hand_delta, m.reserved_delta) for m in used] == [
            (van_id, -1, -1)  # the unit held for the job went first
        ]
        assert parts.held_for(s, ticket_id=ticket.id) == []


def test_reject_needs_a_reason_and_hands_the_job_back(
    client: TestClient, world: World, db: Database
) -> None:
    log_in(client, world.username)
    url = f"/field/jobs/{world.job}"
    assert _post(client, f"{url}/reject", reason="  ") == url
    assert "缺少必填字段「原因」" in client.get(url).text
    assert _post(client, f"{url}/reject", reason="车坏了，今天去不了") == "/field"
    ticket = _ticket(db, world.job)
    assert ticket.status in ("accepted", "dispatched")
    assert ticket.engineer_id != world.engineer_id
    assert client.get(url).status_code == 404  # no longer theirs


def test_steps_out_of_order_are_refused_with_the_status(
    client: TestClient, world: World, db: Database
) -> None:
    log_in(client, world.username)
    url = f"/field/jobs/{world.job}"
    _post(client, f"{url}/arrive", lat="31.2", lng="121.5")
    assert "不能执行「到场」" in client.get(url).text
    # A refused work record comes back as the page itself, with what was typed.
    refused = client.post(
        f"{url}/record", data={"csrf_token": csrf(client), "work_done": "x"}, follow_redirects=False
    )
    assert refused.status_code == 422 and "请先点击「到场」" in refused.text
    assert _ticket(db, world.job).status == "dispatched"
    with db.session() as s:
        assert s.get(EngineerPosition, world.engineer_id) is None  # nothing half-done


def test_a_nonsense_position_is_ignored_not_refused(
    client: TestClient, world: World, db: Database
) -> None:
    log_in(client, world.username)
    url = f"/field/jobs/{world.job}"
    _post(client, f"{url}/accept")
    _post(client, f"{url}/depart", lat="999", lng="abc", accuracy="-1")
    ticket = _ticket(db, world.job)
    assert ticket.status == "departed"
    assert "position" not in ticket.events[-1].payload


def test_the_job_page_shows_the_standard_job(
    client: TestClient, world: World, db: Database
) -> None:
    with db.session() as s:
        assert seed_sops(s) > 0
    log_in(client, world.username)
    page = client.get(f"/field/jobs/{world.job}")
    assert 'data-testid="sop" data-match="category"' in page.text
    assert "洗衣机通用维修" in page.text
    assert "断电并拔下电源插头后再拆机" in page.text  # the safety note
    assert "标准工时 1.00 小时" in page.text
    with reading_in(client, "en"):
        english = client.get(f"/field/jobs/{world.job}")
    assert "Standard labour 1.00 h" in english.text


def test_the_van_stock_on_the_phone(client: TestClient, world: World, db: Database) -> None:
    with db.session() as s:
        engineer = s.get_one(Engineer, world.engineer_id)
        other = s.get_one(Engineer, world.other_engineer_id)
        belt = parts.create_part(
            s,
            part=Part(
                code="WM-BELT-01",
                name="皮带",
                category="洗衣机",
                unit_cost=Decimal("12.00"),
                unit_price=Decimal("30.00"),
            ),
        )
        van = parts.van_location(s, engineer=engineer)
        parts.receive(s, location=van, part=belt, quantity=3, actor="system:test")
        ticket_id = s.scalars(select(Ticket.id).where(Ticket.number == world.job)).one()
        parts.reserve(s, ticket_id=ticket_id, location=van, part=belt, quantity=1, actor="t")
        theirs = parts.van_location(s, engineer=other)
        parts.receive(s, location=theirs, part=belt, quantity=9, actor="system:test")
    log_in(client, world.username)
    assert 'href="/field/van"' in client.get("/field").text
    page = client.get("/field/van")
    assert page.status_code == 200 and '<meta name="viewport"' in page.text
    assert 'data-part="WM-BELT-01" data-available="2" data-reserved="1"' in page.text
    assert f'href="/field/jobs/{world.job}"' in page.text  # the unit held for that job
    assert 'data-available="9"' not in page.text  # the other engineer's van is theirs
    client.post("/logout", data={"csrf_token": csrf(client)})
    log_in(client, world.agent)
    assert client.get("/field/van").status_code == 403
