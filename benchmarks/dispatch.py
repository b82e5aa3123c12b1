"""Dispatch benchmark: a day plan for 1,000 open tickets and 200 engineers, and one automatic
dispatch decision among 1,000 engineers.

Prints figures only (no timed assertions); the results are written down in BENCHMARKS.md.

    .venv/bin/python benchmarks/dispatch.py [--tickets 1000] [--engineers 200]
                                            [--decision-engineers 1000] [--seed 7]

1. Day plan, in memory (the same `scoring`/`planning` code the API runs): build the matrices,
   solve with `linear_sum_assignment` on replicated engineer slots, and compare the plan with
   a greedy baseline (most pressing ticket first, each to its best engineer with room left)
   and with the optimum of the same problem as a linear programme (HiGHS). Done twice: with
   the dispatch score as the objective, and with travel distance alone. Then each engineer's
   visits are routed (nearest neighbour, then 2-opt).
2. One automatic dispatch decision, in a temporary SQLite database migrated like production,
   with 1,000 engineers in one city and a service history for their first-time-fix rates:
   `service.candidates` (read, screen, score, explain) and the whole `flows.auto_dispatch`
   (lock, version check, lifecycle transition, visit), each rolled back and repeated.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal.dispatch.planning import (  # noqa: E402
    Problem,
    Stop,
    build,
    greedy,
    lp_optimum,
    order_stops,
    path_km,
    solve,
)
from portal.dispatch.scoring import DispatchSettings, Job, Worker, rank, sla_pressure  # noqa: E402

DISTRICTS = {
    "黄浦区": (31.2317, 121.4846),
    "徐汇区": (31.1885, 121.4365),
    "长宁区": (31.2204, 121.4245),
    "静安区": (31.2486, 121.4594),
    "普陀区": (31.2495, 121.3970),
    "虹口区": (31.2646, 121.5053),
    "杨浦区": (31.2595, 121.5262),
    "浦东新区": (31.2215, 121.5447),
    "闵行区": (31.1128, 121.3817),
    "宝山区": (31.4045, 121.4893),
    "嘉定区": (31.3747, 121.2655),
    "松江区": (31.0322, 121.2277),
}
CATEGORIES = ("洗衣机", "空调", "冰箱", "热水器", "电视")
TYPES = ("repair", "installation", "maintenance")
URGENCY = (("low", 0.1), ("normal", 0.6), ("high", 0.2), ("urgent", 0.1))
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def _near(rnd: random.Random, district: str, sigma: float = 0.025) -> tuple[float, float]:
    lat, lng = DISTRICTS[district]
    return lat + rnd.gauss(0, sigma), lng + rnd.gauss(0, sigma)


def _networks(rnd: random.Random, count: int) -> list[tuple[str, tuple[str, ...]]]:
    """(home district, covered districts): each network covers its district and 1–3 nearest."""
    names = list(DISTRICTS)
    out = []
    for k in range(count):
        home = names[k % len(names)]
        hl, hg = DISTRICTS[home]
        by_distance = sorted(
            names, key=lambda d: (DISTRICTS[d][0] - hl) ** 2 + (DISTRICTS[d][1] - hg) ** 2
        )
        out.append((home, tuple(by_distance[: 1 + rnd.randint(1, 3)])))
    return out


def synthetic_workers(rnd: random.Random, count: int, n_networks: int) -> list[Worker]:
    """Engineers of `n_networks` networks, 2–3 product categories each, some visits booked."""
    nets = _networks(rnd, n_networks)
    workers = []
    for k in range(count):
        net_id = k % n_networks
        home, coverage = nets[net_id]
        lat, lng = _near(rnd, rnd.choice(coverage))
        skills = {}
        for category in rnd.sample(CATEGORIES, rnd.randint(2, 3)):
            level = rnd.choices((1, 2, 3), (50, 35, 15))[0]
            for service_type, share in (
                ("repair", 1.0),
                ("maintenance", 0.7),
                ("installation", 0.4),
            ):
                if rnd.random() < share:
                    skills[(category, service_type)] = level
        workers.append(
            Worker(
                id=k + 1,
                name=f"工程师{k + 1}",
                network_id=net_id + 1,
                city="上海",
                coverage=coverage,
                skills=skills,
                lat=lat,
                lng=lng,
                position_source="home",
                capacity=rnd.choice((5, 6, 6, 7, 8)),
                load=rnd.choice((0, 0, 1, 1, 2)),
                ftf={c: (rnd.randint(5, 20), 20) for c in CATEGORIES},
            )
        )
    return workers


def synthetic_jobs(rnd: random.Random, count: int, settings: DispatchSettings) -> list[Job]:
    """Open tickets spread over the districts, some waiting for hours already."""
    names = list(DISTRICTS)
    jobs = []
    for k in range(count):
        district = rnd.choice(names)
        lat, lng = _near(rnd, district)
        urgency = rnd.choices([u for u, _ in URGENCY], [w for _, w in URGENCY])[0]
        created = NOW - timedelta(hours=rnd.uniform(0, 30))
        jobs.append(
            Job(
                id=k + 1,
                category=rnd.choice(CATEGORIES),
                service_type=rnd.choices(TYPES, (60, 25, 15))[0],
                city="上海",
                district=district,
                lat=lat,
                lng=lng,
                urgency=urgency,
                tier="vip" if rnd.random() < 0.1 else "normal",
                pressure=sla_pressure(
                    urgency=urgency, created_at=created, now=NOW, settings=settings
                ),
            )
        )
    return jobs


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:,.1f} ms" if ms < 10 else f"{ms:,.0f} ms"


def _compare(title: str, problem: Problem, settings: DispatchSettings) -> None:
    t0 = time.perf_counter()
    plan = solve(problem)
    t_solve = time.perf_counter() - t0
    t0 = time.perf_counter()
    base = greedy(problem)
    t_greedy = time.perf_counter() - t0
    t0 = time.perf_counter()
    optimum = lp_optimum(problem)
    t_lp = time.perf_counter() - t0
    serve = settings.serve_value
    print(f"\n  objective: {title}")
    print(
        f"  {'method':<24}{'served':>8}{'objective':>14}{'score part':>12}"
        f"{'travel km':>11}{'km/ticket':>11}{'time':>10}"
    )
    for name, p, t in (
        ("linear_sum_assignment", plan, t_solve),
        ("greedy baseline", base, t_greedy),
    ):
        quality = p.objective - serve * len(p.picks)
        per = p.total_km / len(p.picks) if p.picks else 0.0
        print(
            f"  {name:<24}{len(p.picks):>8}{p.objective:>14,.1f}{quality:>12,.1f}"
            f"{p.total_km:>11,.1f}{per:>11.2f}{_ms(t):>10}"
        )
    blank = ""
    print(f"  {'LP optimum (HiGHS)':<24}{blank:>8}{optimum:>14,.1f}{blank:>34}{_ms(t_lp):>10}")
    gap = (optimum - plan.objective) / abs(optimum) if optimum else 0.0
    print(f"  assignment vs LP optimum: gap {gap:.2e}")
    if len(base.picks) == len(plan.picks) and plan.total_km:
        print(
            f"  greedy travels {base.total_km / plan.total_km - 1:+.1%} vs the optimal plan "
            f"({base.total_km:,.1f} vs {plan.total_km:,.1f} km, same tickets served)"
        )
    else:
        print(f"  greedy serves {len(base.picks) - len(plan.picks):+d} tickets vs the optimal plan")
    if problem.objective == "distance":
        # Like for like: the optimal assignment of exactly the tickets greedy served.
        served = {p.job_id for p in base.picks}
        subset = [j for j in problem.jobs if j.id in served]
        same = solve(build(subset, problem.workers, settings, objective="distance"))
        print(
            f"  same {len(same.picks)} tickets greedy served, assigned optimally: "
            f"{same.total_km:,.1f} km; greedy travels {base.total_km / same.total_km - 1:+.1%}"
        )


def bench_plan(n_tickets: int, n_engineers: int, seed: int) -> None:
    """Part 1: the day plan in memory."""
    settings = DispatchSettings()
    rnd = random.Random(seed)
    workers = synthetic_workers(rnd, n_engineers, n_networks=max(1, n_engineers // 8))
    jobs = synthetic_jobs(rnd, n_tickets, settings)
    slots = sum(max(0, w.capacity - w.load) for w in workers)
    print(f"[1/2] day plan: {n_tickets} open tickets, {n_engineers} engineers, {slots} free slots")
    t0 = time.perf_counter()
    problem = build(jobs, workers, settings)
    t_build = time.perf_counter() - t0
    feasible_pairs = int(problem.feasible.sum())
    with_any = int(problem.feasible.any(axis=1).sum())
    print(
        f"  matrices built in {_ms(t_build)}; {feasible_pairs:,} allowed pairs; "
        f"{with_any} tickets have at least one candidate"
    )
    t0 = time.perf_counter()
    plan = solve(problem)
    t_plan = time.perf_counter() - t0
    print(f"  plan (build + solve): {_ms(t_build + t_plan)}")
    _compare("dispatch score (serve_value + score)", problem, settings)
    _compare("travel distance only", build(jobs, workers, settings, objective="distance"), settings)

    # Routes of the optimal plan.
    by_job = {j.id: j for j in jobs}
    by_worker = {w.id: w for w in workers}
    visits: dict[int, list[Stop]] = {}
    for p in plan.picks:
        j = by_job[p.job_id]
        visits.setdefault(p.worker_id, []).append(Stop(id=j.id, lat=j.lat, lng=j.lng))
    t0 = time.perf_counter()
    nn_only = routed = 0.0
    for wid, stops in visits.items():
        w = by_worker[wid]
        start = (w.lat, w.lng)
        ordered = order_stops(start, stops)  # type: ignore[arg-type]
        routed += path_km(start, [(s.lat, s.lng) for s in ordered])  # type: ignore[arg-type,misc]
    t_routes = time.perf_counter() - t0
    for wid, stops in visits.items():
        w = by_worker[wid]
        here = (w.lat, w.lng)
        left = list(stops)
        while left:  # nearest neighbour alone, for comparison
            nxt = min(left, key=lambda s: path_km(here, [(s.lat, s.lng)]))  # type: ignore[arg-type,list-item]
            nn_only += path_km(here, [(nxt.lat, nxt.lng)])  # type: ignore[arg-type,list-item]
            here = (nxt.lat, nxt.lng)  # type: ignore[assignment]
            left.remove(nxt)
    print(
        f"\n  routes for {len(visits)} engineers in {_ms(t_routes)}: {routed:,.1f} km "
        f"(nearest neighbour alone {nn_only:,.1f} km; 2-opt saves {1 - routed / nn_only:.1%})"
    )
    t0 = time.perf_counter()
    for _ in range(20):
        rank(jobs[0], workers, settings)
    each = (time.perf_counter() - t0) / 20
    print(f"  one ranking among {n_engineers} engineers in memory: {_ms(each)}")


def bench_decision(n_engineers: int, seed: int, history: int) -> None:
    """Part 2: one automatic dispatch decision against a real (SQLite) database."""
    from sqlalchemy import select

    from portal.customers.models import Customer, CustomerAddress
    from portal.database import Database
    from portal.dispatch import flows, service
    from portal.migrate import upgrade
    from portal.networks.models import Engineer, EngineerSkill, ServiceNetwork
    from portal.tickets import lifecycle
    from portal.tickets import service as tickets
    from portal.tickets.models import Ticket
    from portal.tickets.schemas import TicketCreate

    settings = DispatchSettings()
    rnd = random.Random(seed)
    workers = synthetic_workers(rnd, n_engineers, n_networks=max(1, n_engineers // 8))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        print(f"\n[2/2] automatic dispatch decision: {n_engineers} engineers, SQLite at {url}")
        t0 = time.perf_counter()
        upgrade(url)
        db = Database(url)
        with db.session() as s:
            nets: dict[int, ServiceNetwork] = {}
            for w in workers:
                if w.network_id not in nets:
                    nets[w.network_id] = ServiceNetwork(
                        code=f"N{w.network_id:04d}",
                        name=f"网点{w.network_id}",
                        city="上海",
                        coverage=list(w.coverage),
                        auto_dispatch=True,
                    )
                    s.add(nets[w.network_id])
            s.flush()
            for w in workers:
                e = Engineer(
                    network_id=nets[w.network_id].id,
                    name=w.name,
                    phone=f"137{w.id:08d}",
                    home_lat=Decimal(f"{w.lat:.6f}"),
                    home_lng=Decimal(f"{w.lng:.6f}"),
                    daily_capacity=w.capacity,
                )
                s.add(e)
                s.flush()
                for (cat, typ), level in w.skills.items():
                    s.add(
                        EngineerSkill(
                            engineer_id=e.id, product_category=cat, service_type=typ, level=level
                        )
                    )
            s.flush()
            engineer_ids = list(s.scalars(select(Engineer.id)))
        print(f"  seeded networks and engineers in {_ms(time.perf_counter() - t0)}")

        def customer(s, district: str):  # type: ignore[no-untyped-def]
            c = Customer(phone=f"139{rnd.randrange(10**8):08d}", name="客户")
            s.add(c)
            s.flush()
            lat, lng = _near(rnd, district)
            s.add(
                CustomerAddress(
                    customer_id=c.id,
                    city="上海",
                    district=district,
                    detail=f"{c.id}号",
                    lat=Decimal(f"{lat:.6f}"),
                    lng=Decimal(f"{lng:.6f}"),
                    is_default=True,
                )
            )
            s.flush()
            s.refresh(c)
            return c

        def open_ticket(s, c, *, at: datetime, product: str = "洗衣机"):  # type: ignore[no-untyped-def]
            a = c.addresses[0]
            data = TicketCreate(
                product=product,
                fault_description="不工作",
                fault_started="昨天",
                phone=c.phone,
                address=a.full,
                city=a.city,
                district=a.district,
            )
            t, _ = tickets.create_ticket(s, data=data, actor="service:bench", customer=c, at=at)
            return t

        t0 = time.perf_counter()
        done = ("accept", "dispatch", "engineer_accept", "depart", "arrive", "complete")
        with db.session() as s:
            for k in range(history):
                if k and k % 500 == 0:
                    print(f"  history: {k}/{history} completed tickets", flush=True)
                c = customer(s, rnd.choice(list(DISTRICTS)))
                t = open_ticket(s, c, at=NOW - timedelta(days=60), product=rnd.choice(CATEGORIES))
                eng = rnd.choice(engineer_ids)
                for action in done:
                    payload = {"engineer_id": eng} if action == "dispatch" else {}
                    lifecycle.apply(
                        s,
                        ticket=t,
                        action=action,
                        actor="x",
                        payload=payload,
                        at=NOW - timedelta(days=60),
                    )
                t.engineer_id = eng
            c = customer(s, "浦东新区")
            waiting = open_ticket(s, c, at=NOW - timedelta(hours=1))
            lifecycle.apply(s, ticket=waiting, action="accept", actor="x", at=NOW)
            waiting_id = waiting.id
        print(
            f"  seeded {history} completed tickets (first-time-fix history) in "
            f"{_ms(time.perf_counter() - t0)}"
        )

        day = service.default_visit_day(NOW, settings)
        reads, autos = [], []
        n_candidates = 0
        for _ in range(15):
            s = db.sessionmaker()
            try:
                t0 = time.perf_counter()
                ticket = s.get_one(Ticket, waiting_id)
                _, ranked, _ = service.candidates(
                    s, ticket=ticket, day=day, now=NOW, settings=settings
                )
                reads.append(time.perf_counter() - t0)
                n_candidates = len(ranked)
            finally:
                s.rollback()
                s.close()
            s = db.sessionmaker()
            try:
                t0 = time.perf_counter()
                result = flows.auto_dispatch(
                    s, ticket=s.get_one(Ticket, waiting_id), settings=settings, day=day, now=NOW
                )
                autos.append(time.perf_counter() - t0)
                assert result.assigned is not None
            finally:
                s.rollback()
                s.close()
        db.dispose()
    print(f"  {n_candidates} candidates after screening")
    print(
        f"  service.candidates (read + screen + score + explain): median "
        f"{_ms(statistics.median(reads))}, min {_ms(min(reads))}"
    )
    print(
        f"  flows.auto_dispatch (the above + lock + version check + transition + visit): "
        f"median {_ms(statistics.median(autos))}, min {_ms(min(autos))}"
    )


def main() -> None:
    """Run both parts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--engineers", type=int, default=200)
    parser.add_argument("--decision-engineers", type=int, default=1000)
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    bench_plan(args.tickets, args.engineers, args.seed)
    bench_decision(args.decision_engineers, args.seed, args.history)


if __name__ == "__main__":
    main()
