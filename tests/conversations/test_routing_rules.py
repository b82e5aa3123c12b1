"""The pure parts of handoff: the routing rule, duty hours, presence."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.conversations.presence import Presence
from portal.conversations.routing import Candidate, Need, plan_offers, refusal
from portal.conversations.schedule import DutySchedule


def test_refusal_names_the_rule() -> None:
    washer = Candidate(user_id=1, max_chats=2, product_lines=("洗衣机",), languages=("zh",))
    assert refusal(washer, Need(1, "洗衣机"), load=1) is None
    assert refusal(washer, Need(1, "洗衣机"), load=2) == "limit"
    assert refusal(washer, Need(1, "空调"), load=0) == "skill"
    assert refusal(washer, Need(1, None, "en"), load=0) == "language"
    assert refusal(washer, Need(1, None, "zh", "vip-care"), load=0) == "team"
    anyone = Candidate(user_id=2, max_chats=1, product_lines=())
    assert refusal(anyone, Need(1, "空调"), load=0) is None


def test_plan_is_round_robin_within_limits_and_prefers_fresh_agents() -> None:
    agents = [Candidate(1, 2), Candidate(2, 1), Candidate(3, 2)]
    needs = [Need(i) for i in range(10, 16)]
    offers, last = plan_offers(needs, agents, loads={}, last=None)
    assert offers == [(10, 1), (11, 2), (12, 3), (13, 1), (14, 3)]
    assert last == 3
    # Who let an offer of conversation 10 go gets it only when nobody else can.
    offers, _ = plan_offers([Need(10)], agents, loads={}, last=None, passed={10: frozenset({1})})
    assert offers == [(10, 2)]
    offers, _ = plan_offers(
        [Need(10)], agents[:1], loads={}, last=None, passed={10: frozenset({1})}
    )
    assert offers == [(10, 1)]


def test_duty_schedule() -> None:
    schedule = DutySchedule.parse(
        "1-5 09:00-12:00,13:00-18:00; 6 10:00-16:00", zone="Asia/Shanghai"
    )
    monday_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert schedule.on_duty(monday_10)
    assert not schedule.on_duty(datetime(2026, 11, 23, 4, 30, tzinfo=UTC))  # lunch
    assert not schedule.on_duty(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))  # Sunday
    assert schedule.describe() == "周一至周五 09:00-12:00, 13:00-18:00；周六 10:00-16:00"
    assert schedule.describe("en") == "Mon-Fri 09:00-12:00, 13:00-18:00; Sat 10:00-16:00"
    assert DutySchedule.parse("", zone="Asia/Shanghai").on_duty(monday_10)
    for bad in ("1-5", "8 09:00-10:00", "1 10:00-09:00", "1 09:00-10:00; 1 11:00-12:00"):
        with pytest.raises(ValueError):
            DutySchedule.parse(bad, zone="Asia/Shanghai")


def test_presence_heartbeat_and_disconnects() -> None:
    now = [100.0]
    presence = Presence(heartbeat_timeout_s=30, clock=lambda: now[0])
    assert presence.status(7) == "offline"
    presence.connect(7)
    assert presence.status(7) == "online" and presence.gone_since(7) is None
    presence.choose(7, "away")
    now[0] += 20
    presence.seen(7)
    assert presence.status(7) == "away"
    presence.disconnect(7)
    assert presence.status(7) == "offline" and presence.gone_since(7) == 120.0
    presence.connect(7)
    assert presence.status(7) == "away", "a reconnect keeps the chosen status"
    presence.disconnect(7)
    # An API client without a socket: online while its heartbeats keep coming.
    presence.choose(8, "online")
    now[0] += 31
    assert presence.status(8) == "offline" and presence.gone_since(8) == 150.0
    presence.seen(8)
    assert presence.status(8) == "online"
    presence.choose(8, "offline")
    presence.seen(8)
    assert presence.status(8) == "offline", "a heartbeat does not undo a chosen offline"
