"""The rollups answer what the fact rows answer: every board, every filter and grouping,
after a full build and after an incremental refresh; the sketch's percentiles stay within
their stated accuracy of the exact ones (the fixed world, random ticket sets, the demo)."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, text

from portal.analytics import people as people_mod
from portal.analytics import quality as quality_mod
from portal.analytics import rollups, service
from portal.analytics.eie import eie_exact
from portal.analytics.filters import Filters
from portal.analytics.measures import DIMENSIONS, STAGE_NAMES, c, dimension_column
from portal.analytics.models import TicketStageFact
from portal.analytics.people import people_exact
from portal.analytics.refresh import refresh
from portal.analytics.rollup_models import AnalyticsColumn, AnalyticsDaily, AnalyticsMonthly
from portal.analytics.rules import Kpis, kpi_columns
from portal.analytics.sql import Spread, spreads
from portal.database import Database
from portal.demo.seed import seed
from portal.tickets import lifecycle
from portal.tickets.models import Ticket
from tests.analytics.conftest import NOW, PERIOD, World

ALPHA = rollups.ALPHA
KPI_FIELDS = ("tickets", "response", "arrival", "completion", "ftf", "csat", "complaints",
              "escalated", "remote", "bot_intake", "resolved")  # fmt: skip


def exact_kpis(s: Any, f: Filters, *, by: str | None = None) -> dict[Any, Kpis]:
    col = dimension_column(f, by) if by else None
    cols = [*(([col.label("g")]) if col is not None else []), *kpi_columns(NOW.timestamp())]
    stmt = select(*cols).where(*f.where())
    if col is not None:
        stmt = stmt.group_by(col)
    out = {}
    for row in s.execute(stmt).mappings():
        if row["tickets"]:
            out[row["g"] if col is not None else None] = Kpis.of(row)
    return out


def same_kpis(a: Kpis, b: Kpis) -> None:
    for name in KPI_FIELDS:
        assert getattr(a, name) == getattr(b, name), name
    for name in ("csat_mean", "frt_mean", "ttr_mean"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None) and (x is None or x == pytest.approx(y)), name


def close(a: Spread, b: Spread) -> None:
    """A sketch spread against the exact one: same count, the rest within ALPHA."""
    assert a.n == b.n
    for name in ("mean", "p50", "p90"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert abs(x - y) <= ALPHA * abs(y) + 1e-3, (name, x, y)


def check_all(s: Any, f: Filters, world_engineers: list[int] | None = None) -> None:
    """Every board's rollup answer against the facts for one set of filters."""
    exact = exact_kpis(s, f)
    same_kpis(service.kpis(s, f, now=NOW), exact.get(None) or Kpis.of(_empty()))
    for by in DIMENSIONS:
        want = exact_kpis(s, f, by=by)
        got = {g.key: g.kpis for g in service.kpis_by(s, f, by=by, now=NOW)}
        assert set(got) == set(want), by
        for key, k in want.items():
            same_kpis(got[key], k)
    for group_by in (None, *DIMENSIONS):
        want_rows = {r.key: r for r in eie_exact(s, f, by=group_by)}
        got_rows = {r.key: r for r in service.eie(s, f, by=group_by)}
        assert {k: r.tickets for k, r in got_rows.items()} == {
            k: r.tickets for k, r in want_rows.items()
        }, group_by
        for key, row in want_rows.items():
            for stage in STAGE_NAMES:
                close(got_rows[key].stages[stage], row.stages[stage])
    got_people, want_people = service.people(s, f), people_exact(s, f)
    assert [(r.engineer_id, r.visits, r.days, r.ftf) for r in got_people] == [
        (r.engineer_id, r.visits, r.days, r.ftf) for r in want_people
    ]
    for mine, theirs in zip(got_people, want_people, strict=True):  # exact, to the last bits
        assert (mine.travel_s, mine.onsite_s) == pytest.approx((theirs.travel_s, theirs.onsite_s))
        assert (mine.csat_mean is None) == (theirs.csat_mean is None)
        assert mine.csat_mean is None or mine.csat_mean == pytest.approx(theirs.csat_mean)
        for stage in ("t3", "t4", "t5"):  # the mean exact, median and p90 from the sketch
            x, y = getattr(mine, stage), getattr(theirs, stage)
            close(x, y)
            assert x.n == 0 or x.mean == pytest.approx(y.mean)
    # The scorecard's utilisation reads only travel and on-site times: the same figure.
    want_use = service.utilisation(want_people)
    got_use = people_mod.team_utilisation(s, f)
    assert abs(got_use.num - want_use.num) <= 1 and got_use.den == want_use.den
    for kind in ("product", "model", "city"):
        col = {"product": c.product, "model": c.model_code, "city": c.city}[kind]
        fails = quality_mod._failures(s, f, col)
        found = {r.key: r for r in service.quality(s, f, by=kind) if r.failures}
        assert {k: int(v["failures"]) for k, v in fails.items()} == {
            k: r.failures for k, r in found.items()
        }
        for key, v in fails.items():
            assert found[key].repeats == v["repeats"]
            for ours, ref in ((found[key].ttr_mean, v["ttr"]), (found[key].t5_mean, v["t5"])):
                assert (ours is None) == (ref is None)
                assert ours is None or ours == pytest.approx(float(ref))


def _empty() -> dict[str, Any]:
    return dict.fromkeys(
        ["tickets", *[f"{k}_{x}" for k in ("response", "arrival", "completion", "ftf")
                      for x in ("ok", "n")], "csat_good", "csat_n", "csat_mean",
         "complaints", "escalated", "remote", "bot_intake", "frt_mean", "ttr_mean", "resolved"],
    )  # fmt: skip


def filter_sets(world: World) -> list[Filters]:
    n1, e2 = world.networks["N1"], world.engineers["E2"]
    return [
        PERIOD,
        replace(PERIOD, network_id=n1),
        replace(PERIOD, product="洗衣机"),
        replace(PERIOD, city="杭州"),
        replace(PERIOD, channel="web"),
        replace(PERIOD, engineer_id=e2),
        replace(PERIOD, ticket_type="repair"),
        replace(PERIOD, model_code="WM-100"),
        replace(PERIOD, network_id=n1, product="洗衣机"),
        replace(PERIOD, product="洗衣机", channel="web"),  # two dimensions: the facts answer
        replace(PERIOD, bucket="2026-11-02"),
        replace(PERIOD, start=date(2026, 11, 10), end=date(2026, 11, 20)),
    ]


def test_every_board_and_filter_matches_the_facts(db: Database, world: World) -> None:
    with db.session() as s:
        for f in filter_sets(world):
            check_all(s, f)


def snapshot(s: Any) -> tuple[list[Any], list[Any], list[Any]]:
    daily = sorted(tuple(r) for r in s.execute(select(AnalyticsDaily.__table__)).all())
    cols = sorted(tuple(r) for r in s.execute(select(AnalyticsColumn.__table__)).all())
    monthly = sorted(tuple(r) for r in s.execute(select(AnalyticsMonthly)).all())
    return daily, cols, monthly


def test_incremental_refresh_equals_a_full_rebuild(db: Database, world: World) -> None:
    later = NOW + timedelta(minutes=5)
    with db.session() as s:
        # G was never answered (pending); J waits for parts. Both move on.
        g = s.get(Ticket, world.tickets["G"].id)
        assert g is not None
        lifecycle.apply(s, ticket=g, action="accept", actor="system:test", role="system",
                        at=later)  # fmt: skip
    with db.session() as s:
        result = refresh(s, now=later + timedelta(minutes=1))
        assert not result.full and result.tickets >= 1
    with db.session() as s:
        after_incremental = snapshot(s)
        check_all(s, PERIOD)
    with db.session() as s:
        refresh(s, full=True, now=later + timedelta(minutes=2))
    with db.session() as s:
        assert snapshot(s) == after_incremental


def test_an_event_that_changes_no_figure_rewrites_no_rollup(db: Database, world: World) -> None:
    later = NOW + timedelta(minutes=5)

    def row_ids(s: Any) -> list[str]:
        ident = "ctid" if s.get_bind().dialect.name == "postgresql" else "rowid"
        daily = s.execute(text(f"SELECT {ident} FROM analytics_daily")).scalars()
        cols = s.execute(text(f"SELECT {ident} FROM analytics_columns")).scalars()
        return sorted(map(str, [*daily, *cols]))

    with db.session() as s:
        before = row_ids(s)
        j = s.get(Ticket, world.tickets["J"].id)  # waiting for parts: the customer urges
        assert j is not None
        lifecycle.apply(s, ticket=j, action="urge", actor="service:bot", role="bot", at=later)
    with db.session() as s:
        assert refresh(s, now=later + timedelta(minutes=1)).tickets >= 1
    with db.session() as s:
        assert row_ids(s) == before
        check_all(s, PERIOD)


# ---------------------------------------------------------------- random ticket sets

BASE = datetime(2026, 10, 1, tzinfo=UTC).timestamp()


def fact_row(rng: random.Random, tid: int) -> dict[str, Any]:
    created = BASE + rng.uniform(0, 40 * 86400)
    local = datetime.fromtimestamp(created + 8 * 3600, UTC)
    status = rng.choice(["new", "accepted", "arrived", "completed", "closed", "cancelled"])

    def maybe(low: float, high: float) -> float | None:
        return None if rng.random() < 0.2 else round(rng.uniform(low, high), 3)

    responded = None if status == "new" else created + rng.uniform(30, 3000)
    arrived = created + rng.uniform(600, 20000) if rng.random() < 0.7 else None
    completed = (arrived or created) + rng.uniform(600, 90000) if status in (
        "completed", "closed") else None  # fmt: skip
    return {
        "ticket_id": tid, "number": f"SR{tid}", "type": rng.choice(["repair", "installation",
        "complaint"]), "status": status, "urgency": "normal",
        "product": rng.choice(["洗衣机", "空调"]), "model_code": rng.choice(["WM-1", "AC-2"]),
        "city": rng.choice(["上海", "杭州"]), "channel": rng.choice(["web", "phone"]),
        "network_id": rng.choice([None, 1, 2]), "engineer_id": rng.choice([None, 7, 8, 9]),
        "asset_id": None, "customer_id": 1, "escalated": rng.random() < 0.1,
        "reopen_count": rng.choice([0, 0, 1]), "fault_code": "", "created_ts": created,
        "day": local.date().isoformat(),
        "week": (local.date() - timedelta(days=local.weekday())).isoformat(),
        "month": local.strftime("%Y-%m"),
        **{f"t{i}": maybe(0, 5000 * i) for i in range(1, 10)},
        "responded_ts": responded, "arrived_ts": arrived, "completed_ts": completed,
        "resolved_ts": completed, "settled_ts": None, "waiting_parts_ts": None,
        "visit_day": datetime.fromtimestamp(arrived + 8 * 3600, UTC).date().isoformat()
        if arrived else None,
        "response_due_ts": created + 600, "arrival_due_ts": created + 14400,
        "resolution_due_ts": created + 86400, "remote": rng.random() < 0.1,
        "bot_intake": rng.random() < 0.2, "dispatches": rng.choice([0, 1, 2]),
        "rejects": rng.choice([0, 0, 1]), "eval_requested": rng.random() < 0.5,
        "score": rng.choice([None, 1, 3, 4, 5]), "parts_needed": False, "parts_waited": False,
        "age_days": None, "warranty_days_left": None, "is_repeat": rng.random() < 0.1,
        "repeated": rng.random() < 0.1, "last_event_id": 0,
    }  # fmt: skip


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seed=st.integers(0, 10_000),
    size=st.integers(1, 120),
    network=st.sampled_from([None, 1, 2]),
    product=st.sampled_from([None, "洗衣机"]),
    engineer=st.sampled_from([None, 8]),
    span=st.integers(1, 40),
)
def test_random_ticket_sets(
    db: Database, seed: int, size: int, network: int | None, product: str | None,
    engineer: int | None, span: int,
) -> None:  # fmt: skip
    rng = random.Random(seed)
    with db.session() as s:
        s.execute(delete(TicketStageFact))
        s.execute(insert(TicketStageFact), [fact_row(rng, i + 1) for i in range(size)])
        rollups.rebuild(s, days=None, visit_days=None)
    start = date(2026, 10, 1) + timedelta(days=rng.randrange(0, 10))
    f = Filters(start=start, end=start + timedelta(days=span - 1), period=None,
                network_id=network, product=product, engineer_id=engineer)  # fmt: skip
    with db.session() as s:
        check_all(s, f)


def test_whole_months_read_from_the_monthly_rows(db: Database) -> None:
    """A period spanning whole months reads them from `analytics_monthly` and the days
    around them from `analytics_daily`: the same figures as the facts, for every board and
    grouping; rewriting some days' rollups gives what a full rebuild gives."""
    rng = random.Random(11)
    with db.session() as s:
        s.execute(delete(TicketStageFact))
        s.execute(insert(TicketStageFact), [fact_row(rng, i + 1) for i in range(150)])
        rollups.rebuild(s, days=None, visit_days=None)
        months = {r[0] for r in s.execute(select(AnalyticsMonthly.c.month)).all()}
        assert months == {"2026-10", "2026-11"}  # BASE + 40 days
    spans = [
        (date(2026, 9, 20), date(2026, 11, 5), "week"),  # October whole, days either side
        (date(2026, 10, 1), date(2026, 10, 31), "day"),  # exactly one month
        (date(2026, 9, 1), date(2026, 11, 30), "month"),  # three whole months
        (date(2026, 10, 2), date(2026, 11, 29), "month"),  # none whole
    ]
    for start, end, grain in spans:
        f = Filters(start=start, end=end, period=None, grain=grain)
        assert (
            rollups.whole_months(f)
            == {
                date(2026, 9, 20): ["2026-10"],
                date(2026, 10, 1): ["2026-10"],
                date(2026, 9, 1): ["2026-09", "2026-10", "2026-11"],
                date(2026, 10, 2): [],
            }[start]
        )
        with db.session() as s:
            check_all(s, f)
            check_all(s, replace(f, network_id=1))
            check_all(s, replace(f, product="洗衣机"))
    with db.session() as s:
        full = snapshot(s)
        # Some tickets of October and November change; only their days are rewritten.
        changed = s.execute(
            select(TicketStageFact).where(TicketStageFact.ticket_id.in_([3, 40, 77, 120]))
        ).scalars()
        days, visits = set(), set()
        for row in changed:
            days.add(row.day)
            visits.add(row.visit_day)
            row.type = "repair" if row.type != "repair" else "complaint"
            row.score = 5 if row.score != 5 else 1
        s.flush()
        rollups.rebuild(s, days=days, visit_days=[v for v in visits if v])
        incremental = snapshot(s)
        rollups.rebuild(s, days=None, visit_days=None)
        rebuilt = snapshot(s)
    assert rebuilt[:2] == incremental[:2] and incremental[0] != full[0]
    # Monthly sums of float seconds may differ in the last bits with the order of adding.
    assert [r[:4] for r in rebuilt[2]] == [r[:4] for r in incremental[2]]
    for a, b in zip(rebuilt[2], incremental[2], strict=True):
        assert a == pytest.approx(b), a[:4]
    assert [r[:32] for r in incremental[2]] != [r[:32] for r in full[2]]  # the counts moved


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sketch_within_alpha_by_histogram_and_by_sort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(7, 2, size=5000)
    values[rng.random(5000) < 0.1] = np.nan
    groups = rng.integers(0, 7, size=5000)
    buckets = rollups.bucket_of(values)
    merged = rollups.sketch_spreads(groups, buckets, 7)
    sorted_ = rollups.sketch_spreads(groups, buckets, 7, cells=0)  # too big: sort instead
    for a, b in zip(merged, sorted_, strict=True):
        assert np.allclose(a, b, equal_nan=True)
    counts, means, p50, p90 = merged
    for g in range(7):
        mine = values[(groups == g) & ~np.isnan(values)]
        assert counts[g] == len(mine)
        assert abs(means[g] - mine.mean()) <= ALPHA * mine.mean()
        for p, got in ((50, p50[g]), (90, p90[g])):
            want = np.percentile(mine, p)  # linear: percentile_cont
            assert abs(got - want) <= ALPHA * want, (p, got, want)


# ---------------------------------------------------------------- the sketch on the demo


def test_sketch_error_on_the_demo_data(db: Database) -> None:
    now = datetime(2026, 3, 2, 3, 15, tzinfo=UTC)
    period = Filters(start=date(2025, 12, 1), end=date(2026, 3, 2), period=None, grain="week")
    with db.session() as s:
        seed(s, tickets=300, now=now, progress=False)
    with db.session() as s:
        refresh(s, full=True, now=now)
    worst = 0.0
    with db.session() as s:
        measures = {
            "frt": c.responded_ts - c.created_ts,
            "ttr": c.resolved_ts - c.created_ts,
            **{name: c[name] for name in STAGE_NAMES},
        }
        for by in (None, "network", "product"):
            group = dimension_column(period, by) if by else None
            exact = spreads(s, table=TicketStageFact.__table__, measures=measures,
                            where=period.where(), group=group)  # fmt: skip
            found, _ = rollups.spreads(s, period, measures=list(measures), by=by)
            assert exact and {k for k, v in exact.items() if v.n} == {
                k for k, v in found.items() if v.n
            }
            for key, want in exact.items():
                got = found.get(key, Spread(0, None, None, None))
                assert got.n == want.n
                for name in ("mean", "p50", "p90"):
                    x, y = getattr(got, name), getattr(want, name)
                    if y:
                        worst = max(worst, abs(x - y) / abs(y))
    # The stated accuracy is ALPHA (0.5 %); the bar is 2 %.
    assert worst <= ALPHA + 1e-9 and worst < 0.02
    assert not math.isnan(worst)
