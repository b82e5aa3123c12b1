"""Statutory holidays and 调休 make-up days in the business calendars the SLA clocks use;
a network's local exceptions survive loading the national list."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from portal.config import Settings
from portal.database import Database
from portal.sla import service as sla
from portal.sla.service import SlaDefaults
from tests.portal import factories as f
from tests.portal.test_pages import csrf, login

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _load(client: TestClient, admin: dict[str, str], **body: object) -> dict[str, object]:
    response = client.post("/api/v1/admin/calendars/statutory", headers=admin, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_the_sla_clock_skips_national_day_and_works_the_make_up_saturday(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    first = _load(client, admin, year=2026)
    assert first["added"] == 39 and first["network_id"] is None
    assert _load(client, admin, year=2026) | {"calendar_id": 0} == {
        "calendar_id": 0,
        "network_id": None,
        "added": 0,
        "kept": 39,
    }
    with db.session() as s:
        clock = sla.calendar_for(s, network_id=None, defaults=SlaDefaults())
    assert not clock.hours_on(date(2026, 10, 1))  # 国庆节, a Thursday
    assert clock.hours_on(date(2026, 10, 10))  # the Saturday worked in exchange
    # One working hour from Wednesday 17:30 before the holiday: 30 minutes that day, the
    # rest on Thursday 8 October, the first working day after it.
    start = datetime(2026, 9, 30, 17, 30, tzinfo=SHANGHAI)
    assert clock.add(start, 3600).astimezone(SHANGHAI) == datetime(
        2026, 10, 8, 9, 30, tzinfo=SHANGHAI
    )


def test_a_networks_local_exception_is_kept(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    with db.session() as s:
        network = f.network(s, name="浦东服务中心")
        network_id = network.id
        # The office stays closed on the national make-up Saturday.
        sla.put_calendar(
            s,
            network_id=network_id,
            name="浦东",
            timezone="Asia/Shanghai",
            weekly_hours={str(d): "08:30-17:30" for d in range(1, 7)},
            days=[(date(2026, 10, 10), False, "盘点停业")],
        )
    loaded = _load(client, admin, year=2026, network="浦东服务中心")
    assert (loaded["network_id"], loaded["added"], loaded["kept"]) == (network_id, 38, 1)
    with db.session() as s:
        clock = sla.calendar_for(s, network_id=network_id, defaults=SlaDefaults())
        default = sla.calendar_for(s, network_id=None, defaults=SlaDefaults())
    assert not clock.hours_on(date(2026, 10, 10))
    assert not clock.hours_on(date(2026, 10, 1))
    assert not clock.hours_on(date(2026, 10, 3))  # a holiday Saturday, though it opens Saturdays
    assert clock.hours_on(date(2026, 10, 17))  # an ordinary Saturday keeps its hours
    assert default.hours_on(date(2026, 10, 1))  # no default calendar row: settings' hours


def test_unknown_years_networks_and_callers_are_refused(
    client: TestClient, db: Database, settings: Settings, admin: dict[str, str]
) -> None:
    far = client.post("/api/v1/admin/calendars/statutory", headers=admin, json={"year": 2099})
    assert far.status_code == 422
    assert "chinesecalendar" in far.json()["message_en"]
    nowhere = client.post(
        "/api/v1/admin/calendars/statutory", headers=admin, json={"year": 2026, "network": "无"}
    )
    assert nowhere.status_code == 422
    with db.session() as s:
        dispatcher = f.headers_for(s, settings, "dispatcher")
    refused = client.post(
        "/api/v1/admin/calendars/statutory", headers=dispatcher, json={"year": 2026}
    )
    assert refused.status_code == 403


def test_the_admin_loads_a_year_from_the_master_data_page(client: TestClient, db: Database) -> None:
    with db.session() as s:
        f.network(s, name="徐汇授权店")
        username = f.user(s, role="admin").username
    login(client, username)
    token = csrf(client, "/masterdata")
    assert 'data-testid="statutory-form"' in client.get("/masterdata").text
    done = client.post(
        "/masterdata/calendars/statutory",
        data={"csrf_token": token, "year": "2026", "network": "徐汇授权店"},
    )
    assert done.status_code == 200
    assert "新增 39 天" in done.text
    refused = client.post(
        "/masterdata/calendars/statutory", data={"csrf_token": token, "year": "2099"}
    )
    assert "2099" in refused.text and "chinesecalendar" in refused.text
    with db.session() as s:
        calendars = sla.list_calendars(s)
    assert [(len(c.days), c.network_id is not None) for c in calendars] == [(39, True)]
