"""The batch plan is optimal (against brute force and the LP), respects capacity, and routes
are ordered sensibly with consistent ETAs. Pure functions: no database."""

from __future__ import annotations

import itertools
import random
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.dispatch.planning import (
    Stop,
    build,
    greedy,
    lp_optimum,
    order_stops,
    path_km,
    schedule,
    solve,
)
from portal.dispatch.scoring import (
    DispatchSettings,
    Job,
    Worker,
    haversine_km,
    rank,
    score,
    screen,
)

S = DispatchSettings()
CATS = ("洗衣机", "空调")


def _world(seed: int, n_jobs: int, n_workers: int) -> tuple[list[Job], list[Worker]]:
    rnd = random.Random(seed)
    workers = [
        Worker(
            id=100 + k,
            name=f"w{k}",
            network_id=1,
            city="上海",
            coverage=tuple(rnd.sample(["浦东新区", "徐汇区", "静安区"], rnd.randint(1, 3))),
            skills={(c, "repair"): rnd.randint(1, 3) for c in rnd.sample(CATS, rnd.randint(1, 2))},
            lat=31.1 + rnd.random() * 0.3,
            lng=121.3 + rnd.random() * 0.4,
            position_source="home",
            capacity=rnd.randint(1, 3),
            load=rnd.randint(0, 1),
            ftf={c: (rnd.randint(0, 5), 5) for c in CATS},
        )
        for k in range(n_workers)
    ]
    jobs = [
        Job(
            id=k,
            category=rnd.choice(CATS),
            service_type="repair",
            city="上海",
            district=rnd.choice(["浦东新区", "徐汇区", "静安区"]),
            lat=31.1 + rnd.random() * 0.3,
            lng=121.3 + rnd.random() * 0.4,
            urgency=rnd.choice(["low", "normal", "high", "urgent"]),
            tier=rnd.choice(["normal", "vip"]),
            pressure=rnd.random(),
        )
        for k in range(n_jobs)
    ]
    return jobs, workers


def _brute_force(jobs: list[Job], workers: list[Worker]) -> float:
    """The best total value over every way to give each job to a worker or to nobody."""
    best = 0.0
    for choice in itertools.product([None, *range(len(workers))], repeat=len(jobs)):
        used = [0] * len(workers)
        total = 0.0
        ok = True
        for job, j in zip(jobs, choice, strict=True):
            if j is None:
                continue
            w = workers[j]
            if screen(job, w, S) is not None or w.load + used[j] >= w.capacity:
                ok = False
                break
            total += S.serve_value + score(job, w, S, extra_load=used[j])
            used[j] += 1
        if ok:
            best = max(best, total)
    return best


@pytest.mark.parametrize("seed", range(8))
def test_plan_is_optimal_against_brute_force(seed: int) -> None:
    jobs, workers = _world(seed, n_jobs=5, n_workers=3)
    problem = build(jobs, workers, S)
    plan = solve(problem)
    assert plan.objective == pytest.approx(_brute_force(jobs, workers), rel=1e-9)
    assert plan.objective == pytest.approx(lp_optimum(problem), rel=1e-7)
    assert plan.objective >= greedy(problem).objective - 1e-9
    # Capacity holds and every pick is allowed.
    by_id = {w.id: w for w in workers}
    jobs_by_id = {j.id: j for j in jobs}
    counts: dict[int, int] = {}
    for pick in plan.picks:
        counts[pick.worker_id] = counts.get(pick.worker_id, 0) + 1
        assert screen(jobs_by_id[pick.job_id], by_id[pick.worker_id], S) is None
    for wid, c in counts.items():
        assert by_id[wid].load + c <= by_id[wid].capacity
    assert sorted([p.job_id for p in plan.picks] + plan.unassigned) == [j.id for j in jobs]


def test_matrix_values_are_the_scores_the_dispatcher_sees() -> None:
    jobs, workers = _world(3, n_jobs=6, n_workers=4)
    problem = build(jobs, workers, S)
    for i, job in enumerate(jobs):
        for j, w in enumerate(workers):
            assert problem.feasible[i, j] == (screen(job, w, S) is None)
            for k in range(len(problem.slot_value[j])):
                got = problem.value[i, j] + problem.slot_value[j][k]
                assert got == pytest.approx(S.serve_value + score(job, w, S, extra_load=k))


def test_short_capacity_serves_the_most_pressing_and_vip_tickets() -> None:
    worker = Worker(
        id=1,
        name="w",
        network_id=1,
        city="上海",
        skills={("洗衣机", "repair"): 3},
        lat=31.2,
        lng=121.5,
        capacity=2,
    )
    jobs = [
        Job(
            id=1,
            category="洗衣机",
            service_type="repair",
            city="上海",
            district="x",
            lat=31.2,
            lng=121.5,
            pressure=0.0,
        ),
        Job(
            id=2,
            category="洗衣机",
            service_type="repair",
            city="上海",
            district="x",
            lat=31.21,
            lng=121.5,
            pressure=1.0,
            urgency="urgent",
        ),
        Job(
            id=3,
            category="洗衣机",
            service_type="repair",
            city="上海",
            district="x",
            lat=31.22,
            lng=121.5,
            pressure=0.0,
            tier="vip",
        ),
    ]
    plan = solve(build(jobs, [worker], S))
    assert sorted(p.job_id for p in plan.picks) == [2, 3]
    assert plan.unassigned == [1]


def test_distance_objective_matches_lp_and_beats_greedy() -> None:
    jobs, workers = _world(11, n_jobs=60, n_workers=15)
    problem = build(jobs, workers, S, objective="distance")
    plan, base = solve(problem), greedy(problem)
    assert plan.objective == pytest.approx(lp_optimum(problem), rel=1e-9)
    assert len(plan.picks) >= len(base.picks)
    if len(plan.picks) == len(base.picks):
        assert plan.total_km <= base.total_km + 1e-9


def test_rank_orders_by_score_then_distance() -> None:
    jobs, workers = _world(5, n_jobs=1, n_workers=12)
    ranked, excluded = rank(jobs[0], workers, S)
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True)
    assert len(ranked) + len(excluded) == len(workers)


def test_route_visits_points_on_a_line_in_order_and_removes_crossings() -> None:
    # Five customers along a street going north from the engineer, given shuffled.
    start = (31.20, 121.50)
    line = [Stop(id=k, lat=31.20 + 0.01 * k, lng=121.50) for k in range(1, 6)]
    shuffled = [line[3], line[0], line[4], line[2], line[1]]
    assert [s.id for s in order_stops(start, shuffled)] == [1, 2, 3, 4, 5]
    # A square visited crosswise is uncrossed by 2-opt.
    square = [
        Stop(id=1, lat=31.21, lng=121.50),
        Stop(id=2, lat=31.21, lng=121.52),
        Stop(id=3, lat=31.23, lng=121.50),
        Stop(id=4, lat=31.23, lng=121.52),
    ]
    ordered = order_stops(start, square)
    pts = [(s.lat, s.lng) for s in ordered]
    assert (
        path_km(start, pts)
        <= min(  # type: ignore[arg-type]
            path_km(start, [(s.lat, s.lng) for s in perm])  # type: ignore[misc]
            for perm in itertools.permutations(square)
        )
        + 1e-9
    )
    # Without coordinates a stop goes last.
    blind = Stop(id=9, lat=None, lng=None)
    assert order_stops(start, [blind, *line])[-1].id == 9


def test_schedule_adds_travel_and_onsite_time_and_waits_for_windows() -> None:
    day = date(2026, 11, 24)
    zone = ZoneInfo(S.zone)
    a = Stop(id=1, lat=31.21, lng=121.50, onsite_minutes=60)
    b = Stop(id=2, lat=31.22, lng=121.50, onsite_minutes=45, window=(time(13, 0), time(15, 0)))
    legs = schedule(
        day=day,
        start_at=time(9, 0),
        end_at=time(18, 0),
        origin=(31.20, 121.50),
        stops=[a, b],
        settings=S,
    )
    km = haversine_km(31.20, 121.50, 31.21, 121.50)
    first = legs[0].arrive.astimezone(zone)
    expected = timedelta(hours=km * S.road_factor / S.speed_kmh)
    assert first - first.replace(hour=9, minute=0, second=0, microsecond=0) == pytest.approx(
        expected, abs=timedelta(seconds=1)
    )
    assert legs[0].leave - legs[0].start == timedelta(minutes=60)
    # The second customer only wants us after 13:00: we wait.
    assert legs[1].arrive < legs[1].start
    assert legs[1].start.astimezone(zone).time() == time(13, 0)
    assert legs[1].leave - legs[1].start == timedelta(minutes=45)
    assert not any(leg.late for leg in legs)
    # A day that ends at 10:30 makes the second visit late.
    short = schedule(
        day=day,
        start_at=time(9, 0),
        end_at=time(10, 30),
        origin=(31.20, 121.50),
        stops=[a, b],
        settings=S,
    )
    assert [leg.late for leg in short] == [False, True]
