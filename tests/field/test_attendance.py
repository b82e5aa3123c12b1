"""Checking in and out in the field app (issue 23): the phone's position is kept, a refused
or missing one is recorded as such with a message that says so, a second check-in or a
check-out without one is refused in both languages, and the day's page shows the state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.database import Database
from portal.networks import attendance
from portal.networks.models import Attendance, Engineer, ServiceNetwork
from tests.field.support import World, build, csrf, log_in


@pytest.fixture
def world(db: Database) -> World:
    return build(db)


def _post(client: TestClient, url: str, **data: object) -> str:
    """POST a form with the session's token; the flash text the redirect leads to."""
    response = client.post(url, data={"csrf_token": csrf(client), **data}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/field"
    page = client.get("/field").text
    start = page.index('data-testid="flash">') + len('data-testid="flash">')
    return page[start : page.index("</p>", start)]


def _stretches(db: Database, engineer_id: int) -> list[Attendance]:
    with db.session() as s:
        rows = list(
            s.scalars(
                select(Attendance)
                .where(Attendance.engineer_id == engineer_id)
                .order_by(Attendance.id)
            )
        )
        s.expunge_all()
        return rows


def test_check_in_with_position_then_out(db: Database, client: TestClient, world: World) -> None:
    with db.session() as s:
        e = s.get_one(Engineer, world.engineer_id)
        s.get_one(ServiceNetwork, e.network_id).attendance = True
    log_in(client, world.username)
    page = client.get("/field").text
    assert 'data-state="off"' in page and 'data-testid="check-in"' in page
    assert 'data-testid="attendance-required"' in page  # the network dispatches by it
    flash = _post(client, "/field/attendance/check-in", position="ok", lat="31.245", lng="121.505")
    assert flash.startswith("已签到 ") and "未记录位置" not in flash
    page = client.get("/field").text
    assert 'data-state="on"' in page and 'data-testid="check-out"' in page
    (a,) = _stretches(db, world.engineer_id)
    assert (a.in_position, a.in_lat, a.in_lng) == (
        "ok",
        Decimal("31.245000"),
        Decimal("121.505000"),
    )
    assert a.checked_out_at is None
    # Checked in already: a second check-in is refused, with the reason.
    assert _post(client, "/field/attendance/check-in", position="ok", lat="31", lng="121") == (
        "您今天已签到，尚未签退"
    )
    flash = _post(client, "/field/attendance/check-out", position="denied")
    assert flash.startswith("已签退 ") and "您拒绝了定位授权" in flash
    (a,) = _stretches(db, world.engineer_id)
    assert a.checked_out_at is not None and a.out_position == "denied" and a.out_lat is None
    after = client.get("/field").text
    assert 'data-state="off"' in after
    # Checked in again moments later: the check-out is undone, and the message says so (a
    # tester read "已签到 08:26" and thought the day's check-out had been lost).
    flash = _post(client, "/field/attendance/check-in", position="denied")
    assert flash.startswith("刚才的签退已撤销，继续计为出勤（") and "签到）" in flash
    assert 'data-state="on"' in client.get("/field").text
    _post(client, "/field/attendance/check-out", position="denied")
    after = client.get("/field").text
    assert 'data-state="off"' in after
    # The card says the day was checked out of, not that it was never checked into.
    assert "已于 " in after and " 签退" in after and "今天还没有签到" not in after
    # Not checked in: nothing to check out of.
    assert _post(client, "/field/attendance/check-out", position="ok", lat="31", lng="121") == (
        "您今天还没有签到，无需签退"
    )


@pytest.mark.parametrize(
    ("sent", "stored", "message"),
    [
        ({"position": "denied"}, "denied", "未记录位置：您拒绝了定位授权"),
        ({"position": "unavailable"}, "unavailable", "未记录位置：手机未能定位"),
        ({}, "unavailable", "未记录位置：手机未能定位"),  # no script: no position at all
        ({"position": "ok", "lat": "north", "lng": ""}, "unavailable", "手机未能定位"),
    ],
)
def test_a_refused_or_missing_position_is_recorded_as_such(
    db: Database, client: TestClient, world: World, sent: dict[str, str], stored: str, message: str
) -> None:
    log_in(client, world.username)
    flash = _post(client, "/field/attendance/check-in", **sent)
    assert flash.startswith("已签到 ") and message in flash
    (a,) = _stretches(db, world.engineer_id)
    assert (a.in_position, a.in_lat, a.in_lng) == (stored, None, None)
    page = client.get("/field").text
    assert f'data-position="{stored}"' in page


def test_a_position_out_of_range_is_refused_and_nothing_is_stored(
    db: Database, client: TestClient, world: World
) -> None:
    log_in(client, world.username)
    flash = _post(client, "/field/attendance/check-in", position="ok", lat="95", lng="121")
    assert "位置信息无效" in flash
    assert _stretches(db, world.engineer_id) == []


def test_quick_repeats_leave_no_stretches_of_nothing(db: Database, world: World) -> None:
    """A tester tapped 签到/签退 a few times in a row and the board listed stretches of zero
    minutes. A check-in within five minutes of the day's last check-out carries it on."""
    start = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    with db.session() as s:
        e = s.get_one(Engineer, world.engineer_id)
        first = attendance.check_in(s, engineer=e, now=start, position="denied")
        attendance.check_out(s, engineer=e, now=start + timedelta(seconds=20), position="denied")
        again = attendance.check_in(
            s, engineer=e, now=start + timedelta(minutes=1), position="denied"
        )
        assert again.id == first.id and again.checked_out_at is None
        attendance.check_out(s, engineer=e, now=start + timedelta(hours=3), position="denied")
        # Back from lunch an hour later: a stretch of its own.
        later = attendance.check_in(
            s, engineer=e, now=start + timedelta(hours=4), position="denied"
        )
        assert later.id != first.id
    rows = _stretches(db, world.engineer_id)
    assert [(r.checked_in_at, r.checked_out_at) for r in rows] == [
        (start, start + timedelta(hours=3)),
        (start + timedelta(hours=4), None),
    ]
