"""The people board's attendance (issue 23), computed by hand on the analytics world plus a
few check-ins: days and hours present, stretches never checked out, and utilisation against
the hours present (travel + on site of the period's visits ÷ hours checked in).

World (tests/analytics/conftest.py): E1 was busy 3600 s travelling + 5400 s on site = 9000 s,
E2 5400 + 7200 = 12600 s, in 1–22 Nov 2026. Times below are Shanghai (UTC+8).

    E1  2 Nov 08:30–17:30            9 h
        3 Nov 09:00–(never out)      closed at his 18:00 end of work: 9 h, unclosed, refused GPS
        30 Oct 09:00–12:00           before the period: not counted
    E2  3 Nov 09:00–13:00            4 h
        22 Nov 08:00–(open)          today (NOW is 22 Nov 09:00): 1 h so far
    E3  4 Nov 09:00–12:00            3 h, no visits (a new engineer of N1)

    E1: 2 days, 18 h, utilisation 9000 / 64800 = 13.9 %
    E2: 2 days,  5 h, utilisation 12600 / 18000 = 70.0 %
    E3: 1 day,   3 h, utilisation 0 / 10800 = 0.0 %
    all: (9000 + 12600 + 0) / ((18 + 5 + 3) × 3600) = 21600 / 93600 = 23.1 %
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from portal.analytics import service
from portal.analytics.attendance import attendance_rows, attended_utilisation
from portal.database import Database
from portal.networks.models import Attendance, Engineer, ServiceNetwork
from tests.analytics.conftest import NOW, PERIOD, World
from tests.analytics.test_pages import login
from tests.portal import factories as fx


def _utc(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A Shanghai time as UTC."""
    return datetime(2026, month, day, hour - 8, minute, tzinfo=UTC)


def _stretch(
    eid: int, day: date, start: datetime, end: datetime | None, pos: str = "ok"
) -> Attendance:
    return Attendance(
        engineer_id=eid,
        day=day,
        checked_in_at=start,
        checked_out_at=end,
        in_position=pos,
        in_lat=Decimal("31.2") if pos == "ok" else None,
        in_lng=Decimal("121.5") if pos == "ok" else None,
        out_position="ok" if end else "",
        auto_closed=False,
    )


@pytest.fixture
def present(db: Database, world: World) -> dict[str, int]:
    e1, e2 = world.engineers["E1"], world.engineers["E2"]
    with db.session() as s:
        n1 = s.get_one(Engineer, e1).network_id
        e3 = fx.engineer(s, network=s.get_one(ServiceNetwork, n1), name="工程师丙").id
        s.add_all(
            [
                _stretch(e1, date(2026, 11, 2), _utc(2, 8, 30), _utc(2, 17, 30)),
                _stretch(e1, date(2026, 11, 3), _utc(3, 9), None, pos="denied"),
                _stretch(e1, date(2026, 10, 30), _utc(30, 9, month=10), _utc(30, 12, month=10)),
                _stretch(e2, date(2026, 11, 3), _utc(3, 9), _utc(3, 13)),
                _stretch(e2, date(2026, 11, 22), _utc(22, 8), None),
                _stretch(e3, date(2026, 11, 4), _utc(4, 9), _utc(4, 12)),
            ]
        )
    return {"E1": e1, "E2": e2, "E3": e3}


def test_attendance_and_utilisation_by_hand(db: Database, present: dict[str, int]) -> None:
    with db.session() as s:
        rows = attendance_rows(s, PERIOD, service.people(s, PERIOD), now=NOW)
    by = {r.engineer_id: r for r in rows}
    e1, e2, e3 = by[present["E1"]], by[present["E2"]], by[present["E3"]]
    assert (e1.days, e1.hours, e1.unclosed, e1.no_position, e1.busy_s) == (2, 18.0, 1, 1, 9000)
    assert (e2.days, e2.hours, e2.unclosed, e2.no_position, e2.busy_s) == (2, 5.0, 0, 0, 12600)
    assert (e3.days, e3.hours, e3.visits, e3.busy_s) == (1, 3.0, 0, 0)
    assert e1.utilisation == pytest.approx(9000 / 64800)
    assert e2.utilisation == pytest.approx(0.7)
    assert e3.utilisation == 0
    assert attended_utilisation(rows).value == pytest.approx(21600 / 93600)
    assert [r.engineer_id for r in rows] == [present["E1"], present["E2"], present["E3"]]


def test_the_people_board_shows_it(
    db: Database, client: TestClient, present: dict[str, int]
) -> None:
    """Seen today (after 22 Nov), E2's open stretch of 22 Nov is over: closed at 18:00, so
    08:00–18:00 = 10 h, unclosed; E2 then has 14 h and 12600 / 50400 = 25.0 %."""
    client.app.state.analytics_max_age_s = 0  # type: ignore[attr-defined]
    login(db, client, "dispatcher")
    html = client.get("/analytics/people?from=2026-11-01&to=2026-11-22").text
    table = html[html.index('data-testid="attendance-table"') :]

    def cells(eid: int) -> tuple[str, ...]:
        row = table[table.index(f'data-engineer="{eid}"') :]
        row = row[: row.index("</tr>")]
        return tuple(
            re.search(rf'data-testid="{k}">([^<]*)<', row).group(1)  # type: ignore[union-attr]
            for k in ("att-days", "att-hours", "att-utilisation", "att-unclosed")
        )

    assert cells(present["E1"]) == ("2", "18.0h", "13.9%", "1")
    assert cells(present["E2"]) == ("2", "14.0h", "25.0%", "1")
    assert cells(present["E3"]) == ("1", "3.0h", "0.0%", "0")
    # (9000 + 12600) / ((18 + 14 + 3) × 3600) = 21600 / 126000
    assert "按出勤工时的利用率 17.1%" in html


def test_engineers_without_attendance_are_left_out_of_the_averages(
    db: Database, client: TestClient, present: dict[str, int]
) -> None:
    """A tester found the people board's visits per engineer dragged down by engineers who
    never worked in the period. N1: E1 visited twice (A, H), E3 only checked in, 工程师丁 did
    neither (on leave): 2 active, 2 visits each 1.0, not 2 / 3; 工程师丁 listed apart."""
    with db.session() as s:
        n1 = s.get_one(Engineer, present["E1"]).network_id
        fx.engineer(s, network=s.get_one(ServiceNetwork, n1), name="工程师丁")
    with db.session() as s:
        rows = service.people(s, PERIOD)
        staff = {n.network_id: n for n in service.staffing(s, PERIOD, rows)}
    n = staff[n1]
    assert (n.engineers, n.active, n.visits, n.absent) == (3, 2, 2, ("工程师丁",))
    assert n.per_engineer == pytest.approx(1.0)
    client.app.state.analytics_max_age_s = 0  # type: ignore[attr-defined]
    login(db, client, "dispatcher")
    html = client.get("/analytics/people?from=2026-11-01&to=2026-11-22").text
    table = html[html.index('data-testid="staffing-table"') :]
    row = table[table.index(f'data-network="{n1}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-testid="staff-per-engineer">1.0<' in row
    assert re.search(r'data-testid="staff-absent">1 · <span class="muted">工程师丁<', row)
    assert "期内既无上门也无签到的工程师（休假、离职、尚未上岗）不计入人均" in html
