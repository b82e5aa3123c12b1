"""The visit card under /my says one true thing about the visit (testers read 尚未约定上门时间
— no visit time agreed — beside 已安排日期 on a job whose day was agreed): the agreed day,
with its time window when one is known, in the reader's language."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from portal.database import Database
from portal.dispatch.models import DispatchVisit
from portal.intake.windows import now_local
from tests.portal import factories as f
from tests.selfservice.support import sign_in

PHONE = "13912345670"
WEEKDAYS = "一二三四五六日"


@pytest.fixture(autouse=True)
def _no_redirects(client: TestClient) -> None:
    client.follow_redirects = False


def _card(page: str) -> str:
    found = re.search(r'<section class="my-card" id="visit".*?</section>', page, flags=re.S)
    assert found, "no visit card"
    return found.group(0)


def _booked(db: Database, *, preferred_time: str, days_ahead: int = 2) -> str:
    day = (now_local() + timedelta(days=days_ahead)).date()
    with db.session() as s:
        me = f.customer(s, phone_=PHONE)
        engineer = f.engineer(s, network=f.network(s), name="王师傅")
        ticket = f.ticket(
            s,
            customer=me,
            engineer=engineer,
            actions=("accept", "dispatch"),
            preferred_time=preferred_time,
        )
        s.add(DispatchVisit(ticket_id=ticket.id, engineer_id=engineer.id, visit_date=day))
        return ticket.number


def test_an_agreed_day_without_a_time_says_the_day_is_agreed(
    client: TestClient, db: Database
) -> None:
    day = (now_local() + timedelta(days=2)).date()
    number = _booked(db, preferred_time="")
    sign_in(client, db, PHONE)
    card = _card(client.get(f"/my/tickets/{number}").text)
    assert "尚未约定上门时间" not in card
    assert "已安排日期" not in card  # one statement, not two rows that disagree
    weekday = WEEKDAYS[day.weekday()]
    assert f"已约定 {day.month}月{day.day}日（周{weekday}）" in card, card
    assert "时段待定" in card
    client.cookies.set("lang", "en")
    english = _card(client.get(f"/my/tickets/{number}").text)
    assert "No visit time agreed" not in english and "Scheduled day" not in english
    assert "Agreed for" in english and "time of day not fixed yet" in english


def test_an_agreed_day_with_its_window_says_both_once(client: TestClient, db: Database) -> None:
    day = (now_local() + timedelta(days=2)).date()
    number = _booked(db, preferred_time=f"{day} 13:00-18:00")
    sign_in(client, db, PHONE)
    card = _card(client.get(f"/my/tickets/{number}").text)
    assert "尚未约定上门时间" not in card and "已安排日期" not in card
    assert f"已约定 {day.month}月{day.day}日" in card and "下午 13:00–18:00" in card
    assert card.count(f"{day.month}月{day.day}日") == 1, card
    assert "时段待定" not in card


def test_a_time_asked_before_any_day_is_agreed_is_shown_as_asked(
    client: TestClient, db: Database
) -> None:
    day = (now_local() + timedelta(days=3)).date()
    with db.session() as s:
        me = f.customer(s, phone_=PHONE)
        number = f.ticket(s, customer=me, preferred_time=f"{day} 08:00-12:00").number
    sign_in(client, db, PHONE)
    card = _card(client.get(f"/my/tickets/{number}").text)
    assert "上午 08:00–12:00" in card and "已约定" not in card
    assert "待安排" in card
