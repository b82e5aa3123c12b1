"""Every dashboard measure against values worked out by hand on the fixed world (conftest)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import literal_column, text

from portal.analytics import service
from portal.analytics.filters import Filters
from portal.analytics.rollups import ALPHA
from portal.analytics.sql import spreads
from portal.conversations.models import ConversationEvent
from portal.database import Database
from portal.errors import Forbidden
from portal.knowledge.models import KbSearchLog
from portal.security import Principal
from tests.analytics.conftest import NOW, PERIOD, T0, World
from tests.portal import factories as fx


def sk(value: float) -> object:
    """A percentile or mean of the dashboards' sketch: within its relative accuracy."""
    return pytest.approx(value, rel=ALPHA)


def rate(r: service.Rate) -> tuple[int, int]:
    return r.num, r.den


def test_headline_kpis(db: Database, world: World) -> None:
    with db.session() as s:
        k = service.kpis(s, PERIOD, now=NOW)
        ov = service.overview(s, PERIOD, now=NOW)
    assert k.tickets == 10
    assert rate(k.response) == (7, 10)  # B 20 min, C 12 min late; G never answered
    assert rate(k.arrival) == (5, 7)  # F and G overdue; B, C, I never needed a visit
    assert rate(k.completion) == (5, 8)  # E after 27 h, F and G overdue; C cancelled
    assert rate(k.ftf) == (2, 4)  # A repeated by H, D reopened; E and H fixed
    assert rate(k.csat) == (2, 3) and k.csat_mean == pytest.approx(4.0)  # 5, 4, 3
    assert rate(k.complaints) == (1, 10) and k.escalated == 1
    assert rate(k.remote) == (2, 10) and rate(k.bot_intake) == (1, 10)
    # First response: 120 180 240 300 300 360 480 720 1200 seconds.
    assert ov.frt.n == 9
    assert ov.frt.p50 == sk(300)
    assert ov.frt.mean == sk(3900 / 9)
    assert ov.frt.p90 == sk(816)  # 720 + 0.2 × (1200 − 720)
    # Time to resolve: A 9000, B 1200, D 21600, E 97200, H 6000, I 3600.
    assert k.ttr_mean == pytest.approx(23100)
    assert ov.backlog_open == 3 and ov.backlog_over_24h == 2


def test_eie_by_network(db: Database, world: World) -> None:
    with db.session() as s:
        rows = {r.key: r for r in service.eie(s, PERIOD, by="network")}
        overall = service.eie(s, PERIOD)[0].stages
    n1, n2, none = rows[world.networks["N1"]], rows[world.networks["N2"]], rows[None]
    assert (n1.tickets, n2.tickets, none.tickets) == (4, 3, 3)
    assert n1.label == "上海一网点"
    # t1 N1: 240 300 360 720 → median 330, p90 360 + 0.7 × 360.
    assert (n1.stages["t1"].n, n1.stages["t1"].p50, n1.stages["t1"].p90) == (4, sk(330), sk(612))
    assert n1.stages["t1"].mean == sk(405)
    # t1 N2: 120 180 300; t2 N2: 420 780 900.
    assert (n2.stages["t1"].p50, n2.stages["t1"].p90) == (sk(180), sk(276))
    assert (n2.stages["t2"].p50, n2.stages["t2"].p90) == (sk(780), sk(876))
    # t2 N1: 840 1500 3360.
    assert (n1.stages["t2"].p50, n1.stages["t2"].p90) == (sk(1500), sk(2988))
    assert none.stages["t1"].p50 == sk(480) and none.stages["t2"].n == 0
    assert (overall["t5"].n, overall["t5"].p50, overall["t5"].p90) == (4, sk(3600), sk(3600))
    assert (overall["t4"].n, overall["t4"].p50) == (5, sk(1800))
    assert (overall["t9"].n, overall["t9"].p50) == (1, sk(172800))


def test_eie_by_other_dimensions(db: Database, world: World) -> None:
    with db.session() as s:
        product = {r.key: r for r in service.eie(s, PERIOD, by="product")}
        channel = {r.key: r for r in service.eie(s, PERIOD, by="channel")}
        city = {r.key: r for r in service.eie(s, PERIOD, by="city")}
        engineer = {r.key: r for r in service.eie(s, PERIOD, by="engineer")}
        period = service.eie(s, PERIOD, by="period")
    # t1 洗衣机: A 300, C 720, F 240, H 360, I 480, J 300 → median 330.
    assert product["洗衣机"].tickets == 6 and product["洗衣机"].stages["t1"].p50 == sk(330)
    assert product["空调"].stages["t1"].p50 == sk(150)  # D 120, E 180
    assert channel["web"].tickets == 3 and channel["web"].stages["t1"].p50 == sk(300)  # A F H
    assert channel["wechat"].stages["t1"].p50 == sk(300)  # J (B skipped t1)
    assert city["杭州"].tickets == 4 and city["杭州"].stages["t1"].p50 == sk(240)  # D E I J
    assert engineer[world.engineers["E1"]].label == "工程师甲"
    assert engineer[world.engineers["E2"]].stages["t4"].p50 == sk(1800)
    # Weeks (Mondays): 10-26 none, 11-02 A B C D E I, 11-09 H, 11-16 F G J.
    assert [(r.key, r.tickets) for r in period] == [("2026-11-02", 6), ("2026-11-09", 1),
                                                    ("2026-11-16", 3)]  # fmt: skip


def test_filters_narrow_every_measure(db: Database, world: World) -> None:
    n2 = replace(PERIOD, network_id=world.networks["N2"])
    with db.session() as s:
        assert service.kpis(s, n2, now=NOW).tickets == 3
        assert service.kpis(s, replace(PERIOD, city="上海"), now=NOW).tickets == 6
        assert service.kpis(s, replace(PERIOD, product="空调"), now=NOW).tickets == 4
        assert service.kpis(s, replace(PERIOD, channel="web"), now=NOW).tickets == 3
        assert service.kpis(s, replace(PERIOD, model_code="WM-A"), now=NOW).tickets == 5
        assert service.kpis(s, replace(PERIOD, bucket="2026-11-09"), now=NOW).tickets == 1
        assert service.kpis(s, replace(PERIOD, ticket_type="complaint"), now=NOW).tickets == 1
        week = Filters(start=date(2026, 11, 2), end=date(2026, 11, 8), period=None)
        assert service.kpis(s, week, now=NOW).tickets == 6
        assert service.backlog(s, n2, now=NOW).total == 1  # J


def test_a_network_manager_is_held_to_their_network(world: World) -> None:
    manager = Principal(kind="staff", role="network_manager", name="m", user_id=1,
                        network_id=world.networks["N1"])  # fmt: skip
    scoped = replace(PERIOD, network_id=world.networks["N2"]).scoped(manager)
    assert scoped.network_id == world.networks["N1"] and scoped.locked_network
    agent = Principal(kind="staff", role="agent", name="a", user_id=2)
    with pytest.raises(Forbidden):
        PERIOD.scoped(agent)


def test_trend_has_every_bucket(db: Database, world: World) -> None:
    with db.session() as s:
        rows = service.trend(s, PERIOD, now=NOW)
    assert [g.key for g in rows] == ["2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16"]
    assert [g.kpis.tickets for g in rows] == [0, 6, 1, 3]
    assert rate(rows[1].kpis.response) == (4, 6)  # B, C late
    assert rows[0].kpis.response.value is None


def test_backlog_ageing_and_exceptions(db: Database, world: World) -> None:
    with db.session() as s:
        age = service.backlog(s, PERIOD, now=NOW)
        odd = service.abnormal(s, PERIOD, now=NOW, kind="waiting_parts")
        vip = service.abnormal(s, PERIOD, now=NOW, kind="vip")
    assert age.totals == {0: 1, 24: 1, 48: 0, 72: 0, 96: 1, 120: 0}  # J 8 h, G 30 h, F 100 h
    assert age.by_network[None][24] == 1 and age.by_network[world.networks["N1"]][96] == 1
    assert odd.counts == {"overdue": 2, "not_arrived": 1, "waiting_parts": 1, "vip": 1}
    assert [r["number"] for r in odd.rows] == [world.number("J")]
    assert [r["number"] for r in vip.rows] == [world.number("G")]


def test_people(db: Database, world: World) -> None:
    with db.session() as s:
        rows = {r.engineer_id: r for r in service.people(s, PERIOD)}
        staff = {n.network_id: n for n in service.staffing(s, PERIOD, list(rows.values()))}
    e1, e2 = rows[world.engineers["E1"]], rows[world.engineers["E2"]]
    assert (e1.visits, e1.days, e1.travel_s, e1.onsite_s) == (2, 2, 3600, 5400)  # A, H
    assert e1.shift_s == 34200  # 08:30–18:00
    assert e1.utilisation == pytest.approx(9000 / (2 * 34200))
    assert (e2.visits, e2.days, e2.travel_s, e2.onsite_s) == (3, 3, 5400, 7200)  # D, E, J
    assert e2.utilisation == pytest.approx(12600 / (3 * 34200))
    assert rate(e1.ftf) == (1, 2) and e1.csat_mean == pytest.approx(4.0)
    assert (e1.t4.mean, e1.t5.mean) == pytest.approx((1800, 2700))  # exact: sums / visits
    # The medians come from the sketch: within its stated accuracy (ALPHA, 0.5 %).
    for got, want in ((e1.t4.p50, 1800), (e1.t5.p50, 2700), (e2.t3.p50, 600)):
        assert got == pytest.approx(want, rel=ALPHA)
    assert service.utilisation(list(rows.values())).value == pytest.approx(21600 / (5 * 34200))
    assert staff[world.networks["N1"]].engineers == 1 and staff[world.networks["N2"]].visits == 3


def test_product_quality(db: Database, world: World) -> None:
    with db.session() as s:
        models = {r.key: r for r in service.quality(s, PERIOD, by="model")}
        products = {r.key: r for r in service.quality(s, PERIOD, by="product")}
        cities = {r.key: r for r in service.quality(s, PERIOD, by="city")}
        codes = service.fault_codes(s, PERIOD)
        trend = service.warranty_trend(s, PERIOD, early_days=90)
        late = service.warranty_trend(s, PERIOD, early_days=5)
    wm, ac = models["WM-A"], models["AC-B"]
    assert (wm.failures, wm.units, wm.repeats) == (5, 4, 1)  # A C F H J; units a1 a2 a5 a7
    assert rate(wm.rate) == (5, 4) and rate(wm.repeat_rate) == (1, 5)
    assert wm.unit_days == pytest.approx(22 * 3 + 13)  # a7 installed on 11-10
    assert wm.mtbf_days == pytest.approx(79 / 5)
    assert wm.ttr_mean == pytest.approx(7500)  # A 9000, H 6000
    assert (ac.failures, ac.units, ac.mtbf_days) == (3, 3, pytest.approx(22))  # D E G
    assert ac.ttr_mean == pytest.approx(59400)  # D 21600, E 97200
    assert ac.t5_mean == pytest.approx(3600)
    assert (products["洗衣机"].failures, products["空调"].failures) == (5, 3)
    assert (cities["上海"].failures, cities["上海"].units) == (5, 4)
    assert (cities["杭州"].failures, cities["杭州"].units) == (3, 3)
    assert [(c.code, c.count, c.product) for c in codes] == [
        ("E21", 2, "洗衣机"), ("E5", 1, "洗衣机"), ("F3", 1, "空调")
    ]  # fmt: skip
    assert sum(trend["early"]) == 1 and sum(trend["in"]) == 5 and sum(trend["out"]) == 2
    assert trend["early"] == [0, 0, 0, 1]  # J, week of 11-16
    assert sum(late["early"]) == 0 and sum(late["in"]) == 6


def test_bot_containment_and_handoff(db: Database, world: World) -> None:
    with db.session() as s:
        made = [fx.conversation(s, created_at=T0 + timedelta(hours=i)) for i in range(4)]
        made[1].state = "closed"
        made[2].state = "waiting"
        s.add(ConversationEvent(conversation_id=made[1].id, kind="accept", from_state="waiting",
                                to_state="agent", actor="user:1", created_at=T0))  # fmt: skip
        fx.conversation(s, created_at=T0 - timedelta(days=30))  # before the period
        s.flush()
        bot = service.bot(s, PERIOD)
        assert service.bot(s, replace(PERIOD, channel="wechat")).conversations == 0
    assert (bot.conversations, bot.with_agent) == (4, 2)
    assert rate(bot.containment) == (2, 4) and rate(bot.handoff) == (2, 4)
    assert not bot.faq_available


def test_faq_answer_rate_and_unanswered(db: Database, world: World) -> None:
    # Six searches in the period: three answered, one with suggestions, two found nothing
    # ("以旧换新" twice, "洗碗机安装" once more outside the period).
    inside = T0 + timedelta(days=1)
    rows = [
        ("answer", "洗衣机e21", inside),
        ("answer", "空调不制冷", inside),
        ("answer", "保修多久", inside + timedelta(hours=1)),
        ("suggest", "冰箱有声音", inside),
        ("none", "以旧换新", inside),
        ("none", "以旧换新", inside + timedelta(hours=2)),
        ("none", "洗碗机安装", T0 - timedelta(days=40)),
        ("answer", "热水器清洗", T0 - timedelta(days=40)),
    ]
    with db.session() as s:
        for band, query, at in rows:
            s.add(KbSearchLog(source="bot", query=query, band=band, created_at=at))
        s.flush()
        bot = service.bot(s, PERIOD)
    assert bot.faq_available
    assert rate(bot.faq) == (3, 6) and bot.faq_suggested == 1
    assert [(u.query, u.count) for u in bot.unanswered] == [("以旧换新", 2)]


def test_parts_fill_from_the_tickets(db: Database, world: World) -> None:
    with db.session() as s:
        fill = service.parts_fill(s, PERIOD)
    assert fill.source == "events" and rate(fill.rate) == (1, 3)  # A filled; E, J waited


def test_drill_down_lists_the_tickets_behind_each_figure(db: Database, world: World) -> None:
    def numbers(measure: str, f: Filters = PERIOD) -> set[str]:
        with db.session() as s:
            rows, total = service.ticket_rows(s, f, measure=measure, now=NOW)
        assert total == len(rows)
        return {r["number"] for r in rows}

    def of(keys: str) -> set[str]:
        return {world.number(k) for k in keys}

    assert numbers("response:late") == of("BCG")
    assert numbers("arrival:late") == of("FG")
    assert numbers("completion:late") == of("EFG")
    assert numbers("completion:ok") == of("ABDHI")
    assert numbers("ftf:fail") == of("AD")
    assert numbers("csat:low") == of("H")
    assert numbers("complaint") == of("I") == numbers("escalated")
    assert numbers("stage:t7") == of("AH")
    assert numbers("backlog") == of("FGJ")
    assert numbers("backlog:24-48") == of("G")
    assert numbers("backlog:96") == of("F")
    assert numbers("abnormal:overdue") == of("FG")
    assert numbers("abnormal:not_arrived") == of("F")
    assert numbers("repeat") == of("H")
    assert numbers("fault:e21") == of("AH")
    assert numbers("warranty:out") == of("CF")
    assert numbers("failures") == of("ACDEFGHJ")
    assert numbers("visits", replace(PERIOD, engineer_id=world.engineers["E2"])) == of("DEJ")
    assert numbers("remote") == of("BI") and numbers("bot_intake") == of("B")
    assert numbers("nonsense") == of("ABCDEFGHIJ")
    with db.session() as s:
        rows, _ = service.ticket_rows(s, PERIOD, measure="stage:t2", now=NOW)
    assert rows[0]["number"] == world.number("F") and rows[0]["value"] == 3360  # longest first
    assert rows[0]["network"] == "上海一网点" and rows[0]["engineer"] == "工程师甲"


@pytest.mark.parametrize("n", [1, 2, 3, 10, 101])
def test_percentiles_match_percentile_cont(db: Database, n: int) -> None:
    rng = random.Random(n)
    values = [round(rng.uniform(0, 1000), 3) for _ in range(n)]
    groups = [rng.choice("xy") for _ in range(n)]
    rows = " UNION ALL ".join(
        f"SELECT '{g}' AS g, {v} AS v" for g, v in zip(groups, values, strict=True)
    )
    sub = text(rows).columns(literal_column("g"), literal_column("v")).subquery("src")
    with db.session() as s:
        found = spreads(s, table=sub, measures={"v": sub.c.v}, group=sub.c.g)
    for g in set(groups):
        mine = sorted(v for v, gg in zip(values, groups, strict=True) if gg == g)
        assert found[(g, "v")].n == len(mine)
        assert found[(g, "v")].p50 == pytest.approx(_cont(mine, 0.5))
        assert found[(g, "v")].p90 == pytest.approx(_cont(mine, 0.9))
        assert found[(g, "v")].mean == pytest.approx(sum(mine) / len(mine))


def _cont(sorted_values: list[float], p: float) -> float:
    """PostgreSQL's percentile_cont, by its definition."""
    pos = p * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (pos - lo) * (sorted_values[hi] - sorted_values[lo])


def test_parts_fill_from_the_parts_ledger(db: Database, world: World) -> None:
    from decimal import Decimal

    from portal.parts.models import Part, PartReservation, ShortageOrder, StockLocation

    with db.session() as s:
        board = Part(code="P-BOARD", name="主板", unit_cost=Decimal("10"), unit_price=Decimal("20"))
        seal = Part(code="P-SEAL", name="门封", unit_cost=Decimal("1"), unit_price=Decimal("2"))
        store = StockLocation(code="N2-STORE", kind="network", name="杭州二网点库")
        s.add_all([board, seal, store])
        s.flush()
        at = T0 + timedelta(days=2)
        for key, part in (("A", board), ("E", board)):
            s.add(PartReservation(ticket_id=world.tickets[key].id, part_id=part.id,
                                  location_id=store.id, quantity=1, created_at=at))  # fmt: skip
        for n, (key, part) in enumerate((("E", board), ("J", seal))):
            s.add(ShortageOrder(number=f"QJ{n}", ticket_id=world.tickets[key].id,
                                part_id=part.id, location_id=store.id, quantity=1,
                                created_at=at))  # fmt: skip
        s.flush()
        fill = service.parts_fill(s, PERIOD)
        n2 = service.parts_fill(s, replace(PERIOD, network_id=world.networks["N2"]))
    assert fill.source == "ledger" and rate(fill.rate) == (1, 3)  # A from stock; E, J short
    assert rate(n2.rate) == (0, 2)
