"""The boards' measures against values worked out by hand on the fixed world (conftest),
with parts lines, quotes and fitted parts added at fixed times (see `extra`)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from portal.analytics import boards, boards_summary, targets
from portal.complaints.models import Complaint
from portal.database import Database
from portal.errors import Invalid
from portal.fees.models import Quote
from portal.parts.models import (
    Part,
    PartReservation,
    ShortageOrder,
    StockLocation,
    StockMovement,
)
from tests.analytics.conftest import NOW, PERIOD, T0, World

H = timedelta(hours=1)


@pytest.fixture
def extra(db: Database, world: World) -> World:
    """Parts lines, quotes and fitted parts on the world's tickets, nothing else of the kind.

    (part, warehouse)   lines                         shortages
    皮带 @ 上海仓       A (held), H (held)             none          fill 2/2
    门锁 @ 中心仓       E (ordered, arrived after 20 h, then held: one line),
                        J (ordered, still open)        2, 1 open     fill 0/2, wait 20 h
    quotes: A (N1) accepted after 3 h; D (N2) rejected after 10 h; E (N2) still open;
            H (N1) superseded (left out)
    fitted: 皮带 on A and H (WM-A, 1 each), 门锁 ×2 on E (AC-B)
    """
    t = world.tickets
    with db.session() as s:
        for table in (StockMovement, PartReservation, ShortageOrder, Quote):
            s.execute(delete(table))
        belt = Part(code="P-BELT", name="皮带", unit_cost=Decimal(10), unit_price=Decimal(20))
        lock = Part(code="P-LOCK", name="门锁", unit_cost=Decimal(30), unit_price=Decimal(60))
        sh = StockLocation(
            code="L-SH", kind="network", name="上海仓", network_id=world.networks["N1"]
        )
        hub = StockLocation(code="L-HUB", kind="central", name="中心仓")
        s.add_all([belt, lock, sh, hub])
        s.flush()

        def held(key: str, part: Part, loc: StockLocation, at: object) -> None:
            s.add(PartReservation(ticket_id=t[key].id, part_id=part.id, location_id=loc.id,
                                  quantity=1, status="consumed", created_at=at))  # fmt: skip

        held("A", belt, sh, T0 + H)
        held("H", belt, sh, T0 + timedelta(days=10, hours=1))
        ordered = T0 + timedelta(days=2, hours=1)
        s.add(ShortageOrder(number="SO-1", ticket_id=t["E"].id, part_id=lock.id,
                            location_id=hub.id, quantity=1, status="fulfilled",
                            created_at=ordered, fulfilled_at=ordered + 20 * H))  # fmt: skip
        held("E", lock, hub, ordered + 21 * H)
        s.add(ShortageOrder(number="SO-2", ticket_id=t["J"].id, part_id=lock.id,
                            location_id=hub.id, quantity=1, status="open",
                            created_at=NOW - 7 * H))  # fmt: skip
        for key, part, loc, qty in (("A", belt, sh, 1), ("H", belt, sh, 1), ("E", lock, hub, 2)):
            s.add(StockMovement(batch=f"b-{key}", kind="consume", part_id=part.id,
                                location_id=loc.id, on_hand_delta=-qty, ticket_id=t[key].id,
                                actor="test", created_at=T0 + timedelta(days=3)))  # fmt: skip

        def quote(n: int, key: str, status: str, sent: object, hours: float | None) -> None:
            s.add(Quote(number=f"Q-{n}", ticket_id=t[key].id, warranty="out",
                        payer="customer", total=Decimal(100), status=status, created_by="t",
                        created_at=sent,
                        decided_at=None if hours is None else sent + hours * H))  # fmt: skip

        quote(1, "A", "accepted", T0 + 2 * H, 3)
        quote(2, "D", "rejected", T0 + timedelta(days=1, hours=1), 10)
        quote(3, "E", "sent", T0 + timedelta(days=2, hours=2), None)
        quote(4, "H", "superseded", T0 + timedelta(days=10, hours=2), None)
        quote(5, "A", "withdrawn", T0 + timedelta(days=10, hours=3), 1)
    return world


def test_regions_by_province_and_city(db: Database, world: World) -> None:
    with db.session() as s:
        provinces = {r.name: r for r in boards.regions(s, PERIOD)}
        cities = {r.name: r for r in boards.regions(s, PERIOD, province="浙江省")}
    # 上海: A B C F G H, repairs A C F G H, units a1 a2 a5 a6; 浙江 (杭州): D E I J,
    # repairs D E J, units a3 a4 a7. B is a consultation, I a complaint.
    sh, zj = provinces["上海市"], provinces["浙江省"]
    assert (sh.tickets, sh.failures, sh.units) == (6, 5, 4)
    assert (zj.tickets, zj.failures, zj.units) == (4, 3, 3)
    assert sh.fault_rate.pct == 125.0 and zj.fault_rate.pct == 100.0
    assert set(provinces) == {"上海市", "浙江省"}
    assert set(cities) == {"杭州市"} and cities["杭州市"].tickets == 4
    top = boards.top_by_fault_rate(provinces.values())
    assert [r.name for r in top] == ["上海市", "浙江省"]


def test_parts_by_part_and_warehouse(db: Database, extra: World) -> None:
    with db.session() as s:
        rows = {(r.part, r.location): r for r in boards.parts(s, PERIOD)}
        fill, wait, still_open = boards.parts_totals(list(rows.values()))
    belt, lock = rows[("皮带", "上海仓")], rows[("门锁", "中心仓")]
    assert (belt.lines, belt.shortages, belt.fill.pct) == (2, 0, 100.0)
    assert (lock.lines, lock.shortages, lock.open_shortages) == (2, 2, 1)
    assert lock.fill.pct == 0.0 and lock.wait_mean_h == 20.0
    assert (fill.num, fill.den, wait, still_open) == (2, 4, 20.0, 1)


def test_quote_turnaround_per_network(db: Database, extra: World) -> None:
    with db.session() as s:
        rows = {r.key: r for r in boards.quotes(s, PERIOD)}
    n1, n2 = rows[extra.networks["N1"]], rows[extra.networks["N2"]]
    # H's superseded quote and A's withdrawn one are left out.
    assert (n1.sent, n1.accepted, n1.median_h) == (1, 1, 3.0)
    assert (n2.sent, n2.rejected, n2.pending, n2.median_h) == (2, 1, 1, 10.0)
    total = boards.quote_totals(list(rows.values()))
    assert (total.sent, total.median_h, total.mean_h) == (3, 6.5, 6.5)


def test_complaints_by_network_and_product(db: Database, world: World) -> None:
    # D's rating of 2 opened the one complaint case (N2, 空调). Completed: N1 A H, N2 D E,
    # no network B I (resolved remotely); by product 洗衣机 A H I, 空调 B D E.
    with db.session() as s:
        assert s.scalar(select(Complaint.ticket_id)) == world.tickets["D"].id
        reason = s.scalar(select(Complaint.reason))
        net = {r.key: r for r in boards.complaints_by(s, PERIOD, by="network")}
        prod = {r.key: r for r in boards.complaints_by(s, PERIOD, by="product")}
    n1, n2 = net[world.networks["N1"]], net[world.networks["N2"]]
    assert (n1.cases, n1.completed, n1.per_100) == (0, 2, 0.0)
    assert (n2.cases, n2.completed, n2.per_100, n2.reasons) == (1, 2, 50.0, {reason: 1})
    assert n2.label == "杭州二网点"
    assert (prod["空调"].cases, prod["空调"].completed, prod["空调"].per_100) == (1, 3, 33.3)
    assert (prod["洗衣机"].cases, prod["洗衣机"].completed) == (0, 3)


def test_repeats_by_model_and_fault_code(db: Database, world: World) -> None:
    with db.session() as s:
        rows = {(r.model, r.fault_code): r for r in boards.repeats(s, PERIOD)}
    # Repairs: A C F H J (WM-A), D E G (AC-B); H repeats A (E21) within 30 days.
    assert sum(r.repairs for r in rows.values()) == 8
    assert (rows[("WM-A", "E21")].repairs, rows[("WM-A", "E21")].repeats) == (2, 1)
    assert rows[("WM-A", "E21")].rate.pct == 50.0
    assert sum(r.repeats for r in rows.values()) == 1
    assert rows[("AC-B", "F3")].repairs == 1


def test_quality_for_rnd(db: Database, extra: World) -> None:
    with db.session() as s:
        keys, models, model_count = boards.model_faults(s, PERIOD)
        _keys, top_one, all_models = boards.model_faults(s, PERIOD, models=1)
        parts = {(p.model, p.part): p for p in boards.failed_parts(s, PERIOD)}
        ages = boards.first_failure_ages(s, PERIOD)
        units = boards.repeated_units(s, PERIOD)
    assert keys == ["2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16"]
    wm = next(m for m in models if m.model == "WM-A")
    # WM-A: A (E21, week of 11-02), H (E21, week of 11-09), C and J without a code, F E5.
    assert wm.failures == 5
    assert wm.codes[0] == ("", 2, [0, 1, 0, 1]) and wm.codes[1] == ("E21", 2, [0, 1, 1, 0])
    assert ("E5", 1, [0, 0, 0, 1]) in wm.codes
    assert next(m for m in models if m.model == "AC-B").failures == 3
    # The tile counts every model with failures, not only the trends shown.
    assert model_count == all_models == len(models) and len(top_one) == 1 < all_models
    assert (parts[("WM-A", "皮带")].quantity, parts[("WM-A", "皮带")].tickets) == (2, 2)
    assert parts[("AC-B", "门锁")].quantity == 2
    # First repairs: a1 by A 347 days after installation (11 months); a2-a6 by C D E F G
    # 519-538 days after (17 months); a7 by J 12 days after (0 months).
    assert (ages[0], ages[11], ages[17], sum(ages)) == (1, 1, 5, 7)
    assert [(u.asset_id, u.repairs, u.repeats, u.codes) for u in units] == [
        (extra.assets["a1"], 2, 1, "E21")
    ]


def test_cards_and_the_summary_agree(db: Database, extra: World) -> None:
    with db.session() as s:
        cards = boards_summary.cards(s, PERIOD, now=NOW)
        weeks = boards_summary.periods(PERIOD, "week")
        months = boards_summary.periods(PERIOD, "month")
    assert cards["fault_rate"].value == 114.3  # 8 repairs on 7 units
    assert cards["repeat_rate"].value == 12.5  # 1 of 8
    assert cards["parts_fill"].value == 50.0 and cards["parts_wait_h"].value == 20.0
    assert cards["quote_turnaround_h"].value == 6.5
    assert cards["complaint_rate"].value == pytest.approx(100 / 6, abs=0.05)  # 1 per 6 done
    assert cards["response"].value == 70.0  # as the executive tab (test_measures)
    assert [(n, f.start.isoformat(), f.end.isoformat()) for n, f in weeks][0] == (
        "2026-10-26",
        "2026-11-01",
        "2026-11-01",
    )
    assert len(weeks) == 4 and [n for n, _ in months] == ["2026-11"]


def test_tones_against_targets() -> None:
    up = targets.Target("response", 90, 5, None)
    down = targets.Target("parts_wait_h", 48, 24, None)
    assert [up.tone(v) for v in (95, 90, 86.5, 85, 84.9, None)] == [
        "green",
        "green",
        "amber",
        "amber",
        "red",
        "",
    ]
    assert [down.tone(v) for v in (10, 48, 72, 72.1)] == ["green", "green", "amber", "red"]
    both = targets.Targets([up, targets.Target("response", 95, 3, 7)])
    assert both.tone("response", 93) == "green" and both.tone("response", 93, 7) == "amber"
    assert both.tone("response", 93, 8) == "green"  # no target of its own: the global one
    assert both.tone("csat", 50) == ""


@pytest.mark.parametrize(
    ("form", "key"),
    [
        ({"kpi": "speed", "target": "1", "amber": "1"}, "error.target.kpi"),
        ({"kpi": "response", "target": "", "amber": "1"}, "error.target.required"),
        ({"kpi": "response", "target": "九十", "amber": "1"}, "error.target.not_number"),
        ({"kpi": "response", "target": "120", "amber": "1"}, "error.target.range"),
        ({"kpi": "response", "target": "90", "amber": "-1"}, "error.target.range"),
        ({"kpi": "parts_wait_h", "target": "0", "amber": "1"}, "error.target.range"),
        (
            {"kpi": "response", "network": "x1", "target": "90", "amber": "1"},
            "error.target.network",
        ),
    ],
)
def test_bad_targets_are_refused_with_a_reason(form: dict[str, str], key: str) -> None:
    with pytest.raises(Invalid) as err:
        targets.parse(form)
    assert err.value.key == key and err.value.message_zh and err.value.message_en


def test_targets_are_set_globally_and_per_network(db: Database, world: World) -> None:
    n1 = world.networks["N1"]
    with db.session() as s:
        kpi, net, value, band = targets.parse({"kpi": "csat", "target": "90%", "amber": "5"})
        targets.put(s, kpi=kpi, network_id=net, target=value, amber=band, actor="t")
        targets.put(s, kpi="csat", network_id=n1, target=Decimal(80), amber=Decimal(2), actor="t")
        targets.put(s, kpi="csat", network_id=None, target=Decimal(85), amber=Decimal(5), actor="t")
        with pytest.raises(Invalid):
            targets.put(
                s, kpi="csat", network_id=99999, target=Decimal(1), amber=Decimal(1), actor="t"
            )
    with db.session() as s:
        tg = targets.load(s)
        assert len(targets.rows(s)) == 2
    assert tg.get("csat").target == 85 and tg.get("csat", n1).target == 80
