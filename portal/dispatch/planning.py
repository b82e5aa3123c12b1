"""Planning a whole day: the assignment problem, its baselines, and each engineer's route.

The day's open tickets are assigned all at once with `scipy.optimize.linear_sum_assignment`:

- rows are tickets; columns are engineer *slots*: an engineer with `capacity − load` free
  visits appears that many times, slot k carrying the load points of the (load + k + 1)-th
  visit, so capacity is respected and filling an engineer costs more the fuller they get;
- a pair's value is `serve_value + score` (see `scoring`), `serve_value` being large, so the
  plan serves as many tickets as it can before it looks at how well;
- pairs that `scoring.screen` rules out cost 0, the same as leaving the ticket unassigned,
  and every allowed pair costs less than 0; so the matrix may be rectangular either way and
  the optimum, minus its zero-cost pairs, is the best plan.

`greedy()` is the obvious baseline (tickets by SLA pressure, each to its best free engineer) and
`lp_optimum()` solves the same problem as a linear programme with HiGHS (a flow problem, so its
optimum is integral), which the benchmark and the tests use to check the assignment.

Routes order one engineer's visits: nearest neighbour from the start, then 2-opt on the open
path; ETAs use the configured speed, road factor and standard on-site time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
from scipy.optimize import linear_sum_assignment, linprog
from scipy.sparse import coo_matrix

from portal.dispatch.scoring import (
    EARTH_RADIUS_KM,
    DispatchSettings,
    Job,
    Worker,
    ftf_rate,
    haversine_km,
    window_overlap_minutes,
)

Objective = Literal["score", "distance"]


@dataclass(frozen=True, slots=True)
class Pick:
    """One planned assignment."""

    job_id: int
    worker_id: int
    value: float  # serve_value + score (or − km for the distance objective)
    distance_km: float | None


@dataclass(slots=True)
class Plan:
    """The outcome of planning: who goes where, and what stayed in the queue."""

    picks: list[Pick] = field(default_factory=list)
    unassigned: list[int] = field(default_factory=list)
    objective: float = 0.0

    @property
    def total_km(self) -> float:
        """Sum of the great-circle distances of the picks with known coordinates."""
        return sum(p.distance_km or 0.0 for p in self.picks)


@dataclass(slots=True)
class Problem:
    """The matrices of one assignment problem (jobs × workers), built once."""

    jobs: list[Job]
    workers: list[Worker]
    feasible: np.ndarray  # bool, jobs × workers
    value: np.ndarray  # float, jobs × workers, without load points
    km: np.ndarray  # float, jobs × workers, nan where unknown
    slot_value: list[np.ndarray]  # per worker: the value of its k-th free slot
    objective: Objective


def _distance_matrix(jobs: list[Job], workers: list[Worker]) -> np.ndarray:
    jl = np.array([np.nan if j.lat is None else j.lat for j in jobs], dtype=float)
    jg = np.array([np.nan if j.lng is None else j.lng for j in jobs], dtype=float)
    wl = np.array([np.nan if w.lat is None else w.lat for w in workers], dtype=float)
    wg = np.array([np.nan if w.lng is None else w.lng for w in workers], dtype=float)
    p1, p2 = np.radians(wl)[None, :], np.radians(jl)[:, None]
    dp = p2 - p1
    dl = np.radians(jg)[:, None] - np.radians(wg)[None, :]
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a))))


def _feasible(jobs: list[Job], workers: list[Worker], s: DispatchSettings) -> np.ndarray:
    """`screen()` for every pair, computed per distinct requirement rather than per pair."""
    out = np.zeros((len(jobs), len(workers)), dtype=bool)
    free = np.array([w.load < w.capacity and w.on_duty and w.present for w in workers], dtype=bool)
    masks: dict[tuple[object, ...], np.ndarray] = {}

    def mask(key: tuple[object, ...], test: object) -> np.ndarray:
        if key not in masks:
            masks[key] = np.array([test(w) for w in workers], dtype=bool)  # type: ignore[operator]
        return masks[key]

    for i, job in enumerate(jobs):
        need = s.min_level_for(job.urgency)
        place = mask(
            ("place", job.city, job.district, job.network_id),
            lambda w, j=job: (
                w.covers(j.city, j.district)
                and (j.network_id is None or w.network_id == j.network_id)
            ),
        )
        skill = mask(
            ("skill", job.category, job.service_type, need),
            lambda w, j=job, n=need: w.skills.get((j.category, j.service_type), 0) >= n,
        )
        hours = mask(
            ("hours", job.window, job.service_type),
            lambda w, j=job: (
                window_overlap_minutes(j.window, w.work_start, w.work_end)
                >= s.onsite_for(j.service_type)
            ),
        )
        row = place & skill & hours & free
        for k, w in enumerate(workers):
            if row[k] and (w.id in job.excluded or w.id == job.current):
                row[k] = False
        out[i] = row
    return out


def build(
    jobs: list[Job],
    workers: list[Worker],
    settings: DispatchSettings,
    *,
    objective: Objective = "score",
) -> Problem:
    """The value of every pair and every free slot, with the feasibility mask."""
    s, w = settings, settings.weights
    km = _distance_matrix(jobs, workers) if jobs and workers else np.zeros((len(jobs), 0))
    feasible = _feasible(jobs, workers, s)
    slot_value: list[np.ndarray] = []
    if objective == "distance":
        value = s.serve_value - np.nan_to_num(km, nan=s.unknown_distance_km)
        slot_value = [np.zeros(max(0, x.capacity - x.load)) for x in workers]
        return Problem(jobs, workers, feasible, value, km, slot_value, objective)
    pressure = np.array([j.pressure for j in jobs])[:, None]
    vip = np.array([s.tier_value.get(j.tier, 0.0) for j in jobs])[:, None]
    dist = np.nan_to_num(km, nan=s.unknown_distance_km)
    value = (
        s.serve_value
        + w.distance * (1 + s.sla_distance_boost * pressure) / (1 + dist / s.distance_scale_km)
        + w.sla * pressure
        + w.tier * vip
    )
    rates: dict[str, np.ndarray] = {}
    for i, job in enumerate(jobs):
        if job.category not in rates:
            rates[job.category] = np.array([ftf_rate(x, job.category, s) for x in workers])
        value[i] += w.first_time_fix * (1 + s.vip_ftf_boost * vip[i, 0]) * rates[job.category]
    for x in workers:
        cap = max(x.capacity, 1)
        loads = x.load + np.arange(max(0, x.capacity - x.load))
        slot_value.append(w.load * np.maximum(0.0, 1 - loads / cap))
    return Problem(jobs, workers, feasible, value, km, slot_value, objective)


def _km(problem: Problem, i: int, j: int) -> float | None:
    d = problem.km[i, j]
    return None if np.isnan(d) else float(round(d, 3))


def solve(problem: Problem) -> Plan:
    """The optimal plan with `linear_sum_assignment` on the slot-replicated matrix."""
    jobs, workers = problem.jobs, problem.workers
    plan = Plan()
    slots = [(j, k) for j in range(len(workers)) for k in range(len(problem.slot_value[j]))]
    if not jobs or not slots:
        plan.unassigned = sorted(j.id for j in jobs)
        return plan
    cj = np.array([j for j, _ in slots])
    slot = np.array([problem.slot_value[j][k] for j, k in slots])
    ok = problem.feasible[:, cj]
    # Drop rows and slots that have no feasible pair at all: they only make the matrix bigger.
    rows, cols = np.flatnonzero(ok.any(axis=1)), np.flatnonzero(ok.any(axis=0))
    if len(rows) and len(cols):
        ok = ok[np.ix_(rows, cols)]
        gain = problem.value[np.ix_(rows, cj[cols])] + slot[cols][None, :]
        ok &= gain > 0
        # A pair that may not be made costs 0, the same as leaving the ticket unassigned: since
        # every allowed pair costs less than 0, an optimal matching of this rectangular matrix,
        # minus its zero-cost pairs, is an optimal plan (no dummy columns needed).
        ri, ci = linear_sum_assignment(np.where(ok, -gain, 0.0))
        for a, b in zip(ri, ci, strict=True):
            if not ok[a, b]:
                continue
            i, j = int(rows[a]), int(cj[cols[b]])
            value = float(gain[a, b])
            plan.picks.append(Pick(jobs[i].id, workers[j].id, value, _km(problem, i, j)))
            plan.objective += value
    served = {p.job_id for p in plan.picks}
    plan.unassigned = sorted(j.id for j in jobs if j.id not in served)
    return plan


def greedy(problem: Problem) -> Plan:
    """The baseline: most pressing tickets first, each to its best engineer with room left."""
    jobs, workers = problem.jobs, problem.workers
    used = [0] * len(workers)
    room = np.array([len(v) for v in problem.slot_value])
    order = sorted(range(len(jobs)), key=lambda i: (-jobs[i].pressure, jobs[i].id))
    plan = Plan()
    for i in order:
        ok = problem.feasible[i] & (np.array(used) < room)
        if not ok.any():
            plan.unassigned.append(jobs[i].id)
            continue
        gains = np.where(
            ok,
            problem.value[i]
            + np.array(
                [problem.slot_value[j][used[j]] if ok[j] else 0.0 for j in range(len(workers))]
            ),
            -np.inf,
        )
        j = int(np.argmax(gains))
        used[j] += 1
        plan.picks.append(Pick(jobs[i].id, workers[j].id, float(gains[j]), _km(problem, i, j)))
        plan.objective += float(gains[j])
    plan.unassigned.sort()
    return plan


def lp_optimum(problem: Problem) -> float:
    """The optimum of the same problem as a linear programme (HiGHS), for checking `solve`.

    Variables: x_ij for feasible pairs and y_jk for slots; each ticket at most once, each
    engineer's tickets equal to its used slots, each slot at most once. It is a flow problem,
    so the LP optimum is integral and equals the best assignment.
    """
    pairs = np.argwhere(problem.feasible)
    n_x = len(pairs)
    slots = [(j, k) for j in range(len(problem.workers)) for k in range(len(problem.slot_value[j]))]
    n_y = len(slots)
    if n_x == 0:
        return 0.0
    c = np.concatenate(
        [
            -problem.value[pairs[:, 0], pairs[:, 1]],
            -np.array([problem.slot_value[j][k] for j, k in slots]),
        ]
    )
    n_jobs, n_workers = len(problem.jobs), len(problem.workers)
    # Each ticket at most once.
    a_ub = coo_matrix(
        (np.ones(n_x), (pairs[:, 0], np.arange(n_x))), shape=(n_jobs, n_x + n_y)
    ).tocsr()
    # Tickets of engineer j minus slots of j used = 0.
    slot_worker = np.array([j for j, _ in slots])
    eq_rows = np.concatenate([pairs[:, 1], slot_worker])
    eq_cols = np.arange(n_x + n_y)
    eq_vals = np.concatenate([np.ones(n_x), -np.ones(n_y)])
    a_eq = coo_matrix((eq_vals, (eq_rows, eq_cols)), shape=(n_workers, n_x + n_y)).tocsr()
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=np.ones(n_jobs),
        A_eq=a_eq,
        b_eq=np.zeros(n_workers),
        bounds=(0, 1),
        method="highs",
    )
    if not res.success:  # pragma: no cover - the problem is always feasible (x = y = 0)
        raise RuntimeError(res.message)
    return float(-res.fun)


# --- routes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stop:
    """A place to visit."""

    id: int
    lat: float | None
    lng: float | None
    onsite_minutes: int = 60
    window: tuple[time, time] | None = None


def _leg(a: tuple[float, float], b: tuple[float, float]) -> float:
    return haversine_km(a[0], a[1], b[0], b[1])


def path_km(start: tuple[float, float] | None, points: list[tuple[float, float]]) -> float:
    """Length of the open path start → points[0] → … (great-circle km)."""
    seq = ([start] if start else []) + points
    return sum(_leg(seq[i], seq[i + 1]) for i in range(len(seq) - 1))


def order_stops(start: tuple[float, float] | None, stops: list[Stop]) -> list[Stop]:
    """Stops in visiting order: nearest neighbour from the start, improved by 2-opt.

    Stops without coordinates go last, in the order given.
    """
    known = [s for s in stops if s.lat is not None and s.lng is not None]
    unknown = [s for s in stops if s not in known]
    if not known:
        return unknown
    pos = start or (float(known[0].lat), float(known[0].lng))  # type: ignore[arg-type]
    left = list(known)
    tour: list[Stop] = []
    here = pos
    while left:
        nxt = min(left, key=lambda s: (_leg(here, (s.lat, s.lng)), s.id))  # type: ignore[arg-type]
        tour.append(nxt)
        left.remove(nxt)
        here = (nxt.lat, nxt.lng)  # type: ignore[assignment]
    pts = [pos] + [(s.lat, s.lng) for s in tour]  # index 0 is the fixed start
    improved = True
    while improved:
        improved = False
        for i in range(1, len(pts) - 1):
            for k in range(i + 1, len(pts)):
                # Reverse pts[i..k]: edges (i-1,i) and (k,k+1) become (i-1,k) and (i,k+1).
                before = _leg(pts[i - 1], pts[i])  # type: ignore[arg-type]
                after = _leg(pts[i - 1], pts[k])  # type: ignore[arg-type]
                if k + 1 < len(pts):
                    before += _leg(pts[k], pts[k + 1])  # type: ignore[arg-type]
                    after += _leg(pts[i], pts[k + 1])  # type: ignore[arg-type]
                if after < before - 1e-9:
                    pts[i : k + 1] = pts[i : k + 1][::-1]
                    tour[i - 1 : k] = tour[i - 1 : k][::-1]
                    improved = True
    return tour + unknown


@dataclass(frozen=True, slots=True)
class Leg:
    """One visit of a route, with its times (aware UTC)."""

    stop: Stop
    travel_km: float | None
    arrive: datetime
    start: datetime  # later than arrive when waiting for the customer's window
    leave: datetime
    late: bool  # after the customer's window or past the end of the working day


def schedule(
    *,
    day: date,
    start_at: time,
    end_at: time,
    origin: tuple[float, float] | None,
    stops: list[Stop],
    settings: DispatchSettings,
    not_before: datetime | None = None,
) -> list[Leg]:
    """ETAs of the stops visited in this order, from `start_at` local (or `not_before`)."""
    zone = ZoneInfo(settings.zone)
    clock = datetime.combine(day, start_at, zone)
    if not_before is not None and not_before > clock:
        clock = not_before.astimezone(zone)
    day_end = datetime.combine(day, end_at, zone)
    here = origin
    legs: list[Leg] = []
    for stop in stops:
        there = (stop.lat, stop.lng) if stop.lat is not None and stop.lng is not None else None
        if here is not None and there is not None:
            km: float | None = _leg(here, there)  # type: ignore[arg-type]
        else:
            km = None
        road = (settings.unknown_distance_km if km is None else km) * settings.road_factor
        arrive = clock + timedelta(hours=road / settings.speed_kmh)
        begin = arrive
        late = False
        if stop.window is not None:
            opens = datetime.combine(day, stop.window[0], zone)
            closes = datetime.combine(day, stop.window[1], zone)
            begin = max(arrive, opens)
            late = begin > closes
        leave = begin + timedelta(minutes=stop.onsite_minutes)
        late = late or leave > day_end
        utc = ZoneInfo("UTC")
        legs.append(
            Leg(
                stop=stop,
                travel_km=None if km is None else round(km, 2),
                arrive=arrive.astimezone(utc),
                start=begin.astimezone(utc),
                leave=leave.astimezone(utc),
                late=late,
            )
        )
        clock = leave
        here = there or here
    return legs
