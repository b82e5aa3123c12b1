"""Analytics benchmark: bulk-load N tickets with their events, build the stage facts, and time
each dashboard's queries on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/analytics.py                      # 1,000,000 tickets, both DBs
    .venv/bin/python benchmarks/analytics.py --tickets 100000 --db sqlite

Tickets, events, customers and units are written with executemany (SQLite) or COPY
(PostgreSQL), not the ORM; ticket histories follow the real lifecycle (intake, dispatch,
visit, evaluation, settlement; remote resolutions, cancellations, waits for parts, reopens;
the youngest tickets still open). PostgreSQL runs in a scratch database on 127.0.0.1:5432
(user postgres) that is dropped afterwards; SQLite in a temporary file. Prints figures only;
it asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from portal.analytics import service  # noqa: E402
from portal.analytics.filters import Filters  # noqa: E402
from portal.analytics.refresh import refresh  # noqa: E402
from portal.database import Database  # noqa: E402
from portal.migrate import upgrade  # noqa: E402

PG_ADMIN = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
DAYS = 365
CITIES = (
    "上海",
    "杭州",
    "南京",
    "苏州",
    "宁波",
    "合肥",
    "无锡",
    "常州",
    "绍兴",
    "嘉兴",
    "南通",
    "扬州",
)
NETWORKS_PER_CITY = 5
ENGINEERS_PER_NETWORK = 16
CATALOG = {
    "洗衣机": (("WM-100", 24), ("WM-200", 24), ("WM-300", 36)),
    "空调": (("AC-120", 36), ("AC-150", 36), ("AC-250", 36)),
    "冰箱": (("RF-300", 24), ("RF-500", 36), ("RF-600", 36)),
    "热水器": (("WH-060", 24), ("WH-130", 24), ("WH-160", 36)),
    "油烟机": (("RH-200", 24), ("RH-300", 24)),
    "燃气灶": (("GS-200", 24), ("GS-300", 24)),
}
FAULTS = (
    "滚筒不转，显示E21", "门锁打不开，显示E30", "显示E1故障码，无法开机", "不制冷",
    "显示屏报F5故障", "打不着火，显示E4", "噪音大", "漏水", "出水不热", "吸力变小",
)  # fmt: skip
TYPES = (("repair", 60), ("installation", 9), ("maintenance", 15), ("consultation", 9),
         ("complaint", 7))  # fmt: skip
CHANNELS = (("wechat", 35), ("phone", 30), ("web", 25), ("portal", 10))
BATCH = 50_000


# ---------------------------------------------------------------- generating


class Clock:
    """Epoch seconds to the timestamp text each database reads (the day's part cached)."""

    def __init__(self, pg: bool) -> None:
        self.tail = "+00" if pg else ".000000"
        self.days: dict[int, str] = {}

    def __call__(self, ts: float) -> str:
        day, second = divmod(int(ts), 86400)
        head = self.days.get(day)
        if head is None:
            head = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")
            self.days[day] = head
        hour, rest = divmod(second, 3600)
        minute, second = divmod(rest, 60)
        return f"{head} {hour:02d}:{minute:02d}:{second:02d}{self.tail}"


def _weighted(rng: random.Random, pairs: tuple[tuple[Any, int], ...]) -> Callable[[], Any]:
    pool = [name for name, weight in pairs for _ in range(weight)]  # faster than choices()
    size = len(pool)
    return lambda: pool[int(rng.random() * size)]


class World:
    """Networks, engineers, customers and units; the same for a given seed and size."""

    def __init__(self, tickets: int, seed: int) -> None:
        rng = random.Random(seed)
        self.networks = [
            (i * NETWORKS_PER_CITY + k + 1, city)
            for i, city in enumerate(CITIES)
            for k in range(NETWORKS_PER_CITY)
        ]
        self.engineers = [
            (n * ENGINEERS_PER_NETWORK + k + 1, net_id)
            for n, (net_id, _) in enumerate(self.networks)
            for k in range(ENGINEERS_PER_NETWORK)
        ]
        self.by_network: dict[int, list[int]] = {}
        for eid, nid in self.engineers:
            self.by_network.setdefault(nid, []).append(eid)
        self.models = [
            (i + 1, category, code, months)
            for i, (category, code, months) in enumerate(
                (c, code, m) for c, models in CATALOG.items() for code, m in models
            )
        ]
        self.customers = max(tickets // 4, 100)
        self.units = max(tickets * 3 // 10, 100)
        # unit: (model index, customer id, city, install day offset)
        self.unit_rows = [
            (rng.randrange(len(self.models)), rng.randrange(self.customers) + 1,
             rng.choice(CITIES), rng.randint(30, 2000))
            for _ in range(self.units)
        ]  # fmt: skip


def histories(world: World, n: int, seed: int) -> Iterator[tuple[list[Any], list[list[Any]]]]:
    """Per ticket, oldest first: its row values and its events (epoch-second times)."""
    rng = random.Random(seed + 1)
    kind = _weighted(rng, TYPES)
    channel = _weighted(rng, CHANNELS)
    scores = _weighted(rng, ((5, 62), (4, 25), (3, 7), (2, 4), (1, 2)))
    now = NOW.timestamp()
    start = now - DAYS * 86400
    created = sorted(rng.uniform(start, now - 600) for _ in range(n))
    nets_by_city: dict[str, list[int]] = {}
    for nid, city in world.networks:
        nets_by_city.setdefault(city, []).append(nid)
    for i, at in enumerate(created):
        tid = i + 1
        unit = rng.randrange(world.units)
        model_i, customer, city, _ = world.unit_rows[unit]
        _, category, code, _ = world.models[model_i]
        t = kind()
        ch = channel()
        network = rng.choice(nets_by_city[city])
        engineer = rng.choice(world.by_network[network])
        steps: list[tuple[str, float, str]] = [("create", at, "{}")]
        clock = at

        def step(action: str, low: float, high: float, payload: str = "{}") -> None:
            nonlocal clock
            clock += rng.uniform(low, high) * 60
            steps.append((action, clock, payload))  # noqa: B023 (called in this iteration)

        r = rng.random()
        assigned = False
        if (t == "consultation" and r < 0.6) or (t == "complaint" and r < 0.25):
            step("accept", 0.5, 12)
            step("resolve_remotely", 10, 600, '{"note": "电话指导"}')
        elif r > 0.96:
            step("accept", 1, 12)
            step("dispatch", 3, 30)
            assigned = True
            step("cancel", 10, 240, '{"reason": "客户取消"}')
        else:
            step("accept", 1, 9.5) if rng.random() < 0.88 else step("accept", 10, 45)
            step("dispatch", 3, 30)
            assigned = True
            step("engineer_accept", 3, 40) if rng.random() < 0.9 else step(
                "engineer_accept", 180, 480
            )
            step("depart", 10, 75) if rng.random() < 0.85 else step("depart", 180, 1440)
            step("arrive", 20, 90)
            if t == "repair" and rng.random() < 0.08:
                step("wait_parts", 20, 45, '{"part": "主板"}')
                step("resume", 1440, 7200)
                step("dispatch", 3, 30)
                step("engineer_accept", 3, 40)
                step("depart", 10, 75)
                step("arrive", 20, 90)
            parts = '{"parts": ["主板"]}' if rng.random() < 0.2 else '{"parts": []}'
            step("complete", 30, 120, parts)
            step("request_evaluation", 60, 1440)
            if rng.random() < 0.96:
                score = scores()
                step("evaluate", 10, 2880, json.dumps({"score": score}))
                step("request_settlement", 1440, 10080)
                step("settle", 4320, 25920)
                step("close", 0, 4320)
        kept = [s for s in steps if s[1] <= now]
        status = STATUS_AFTER[kept[-1][0]]
        row = [tid, f"SR{i + 1:09d}", t, status, "normal", customer, category,
               rng.choice(FAULTS), f"139{customer:08d}", f"{city}某路{customer}号", city,
               "某区", ch, None, unit + 1, code, f"SN{unit + 1:09d}", "{}",
               network if assigned and len(kept) > 2 else None,
               engineer if assigned and len(kept) > 2 else None,
               False, 0, at, kept[-1][1]]  # fmt: skip
        yield row, [[tid, a, ts, p] for a, ts, p in kept]


STATUS_AFTER = {
    "create": "new", "accept": "accepted", "resolve_remotely": "closed", "dispatch": "dispatched",
    "cancel": "cancelled", "engineer_accept": "engineer_accepted", "depart": "departed",
    "arrive": "arrived", "wait_parts": "waiting_parts", "resume": "accepted",
    "complete": "completed", "request_evaluation": "completed", "evaluate": "evaluated",
    "request_settlement": "pending_settlement", "settle": "settled", "close": "closed",
}  # fmt: skip


# ---------------------------------------------------------------- loading


TICKET_COLS = ("id, number, type, status, urgency, customer_id, product, fault_description, "
               "phone, address, city, district, channel, conversation_id, asset_id, model_code, "
               "serial_number, details, network_id, engineer_id, escalated, reopen_count, "
               "created_at, updated_at")  # fmt: skip
EVENT_COLS = "id, ticket_id, action, from_status, to_status, actor, payload, created_at"


def _dimension_rows(world: World, clock: Clock) -> dict[str, tuple[str, list[tuple[Any, ...]]]]:
    t0 = clock(NOW.timestamp() - 3 * 365 * 86400)
    today = NOW.date()
    categories = list(CATALOG)
    return {
        "service_networks": (
            "id, code, name, city, coverage, stock_location, auto_dispatch, created_at",
            [(nid, f"N{nid:03d}", f"{city}第{nid}服务中心", city, "[]", "", False, t0)
             for nid, city in world.networks],
        ),
        "engineers": (
            "id, network_id, name, phone, work_start, work_end, daily_capacity, on_duty",
            [(eid, nid, f"工程师{eid}", f"138{eid:08d}",
              "08:30:00.000000", "18:00:00.000000",
              6, True) for eid, nid in world.engineers],
        ),
        "products": (
            "id, category, name",
            [(i + 1, c, f"{c}系列") for i, c in enumerate(categories)],
        ),
        "product_models": (
            "id, product_id, code, name, warranty_months",
            [(mid, categories.index(c) + 1, code, f"{c} {code}", m)
             for mid, c, code, m in world.models],
        ),
        "customers": (
            "id, name, phone, tier, created_at",
            [(i, f"客户{i}", f"139{i:08d}", "vip" if i % 40 == 0 else "normal", t0)
             for i in range(1, world.customers + 1)],
        ),
        "customer_addresses": (
            "id, customer_id, label, city, district, detail, is_default",
            [(u + 1, cust, "家", city, "某区", f"某路{u}号", True)
             for u, (_, cust, city, _) in enumerate(world.unit_rows)],
        ),
        "assets": (
            "id, serial_number, model_id, customer_id, address_id, install_date, warranty_end, "
            "created_at",
            [(u + 1, f"SN{u + 1:09d}", mi + 1, cust, u + 1,
              (today - timedelta(days=off)).isoformat(),
              (today - timedelta(days=off) + timedelta(days=30 * world.models[mi][3])).isoformat(),
              t0)
             for u, (mi, cust, _, off) in enumerate(world.unit_rows)],
        ),
    }  # fmt: skip


def _event_rows(
    events: list[list[Any]], next_id: int, clock: Clock
) -> tuple[list[tuple[Any, ...]], int]:
    out = []
    prev: str | None = None
    for tid, action, ts, payload in events:
        to = STATUS_AFTER[action]
        actor = "service:bot" if action == "resolve_remotely" else "user:1"
        out.append((next_id, tid, action, prev, to, actor, payload, clock(ts)))
        prev = to
        next_id += 1
    return out, next_id


def load_sqlite(path: Path, world: World, n: int, seed: int) -> tuple[int, float]:
    """Bulk-insert everything with executemany; returns (events, seconds)."""
    started = time.perf_counter()
    clock = Clock(pg=False)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA foreign_keys=OFF")
    # Secondary indexes are built once at the end (a sort), not row by row.
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('tickets', 'ticket_events')"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    with conn:
        for table, (cols, rows) in _dimension_rows(world, clock).items():
            marks = ",".join("?" * len(rows[0]))
            conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
    tickets: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    next_id = 1
    t_marks = ",".join("?" * 24)
    e_marks = ",".join("?" * 8)

    def flush() -> None:
        with conn:
            conn.executemany(f"INSERT INTO tickets ({TICKET_COLS}) VALUES ({t_marks})", tickets)
            conn.executemany(f"INSERT INTO ticket_events ({EVENT_COLS}) VALUES ({e_marks})", events)
        tickets.clear()
        events.clear()

    for row, evs in _progress(histories(world, n, seed), n, "sqlite load"):
        row[-2], row[-1] = clock(row[-2]), clock(row[-1])
        tickets.append(tuple(row))
        made, next_id = _event_rows(evs, next_id, clock)
        events.extend(made)
        if len(events) >= BATCH * 4:
            flush()
    flush()
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("ANALYZE")
    conn.close()
    return next_id - 1, time.perf_counter() - started


def _tsv(values: tuple[Any, ...]) -> str:
    out = []
    for v in values:
        if v is None:
            out.append("\\N")
        elif v is True:
            out.append("t")
        elif v is False:
            out.append("f")
        else:
            out.append(str(v))
    return "\t".join(out) + "\n"


def load_postgres(url: str, world: World, n: int, seed: int) -> tuple[int, float]:
    """Bulk-load everything with COPY; returns (events, seconds)."""
    import psycopg

    started = time.perf_counter()
    clock = Clock(pg=True)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        # A bulk load: no per-row foreign-key triggers, secondary indexes built at the end.
        cur.execute("SET session_replication_role = replica")
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('tickets', 'ticket_events') AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint)"
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        for table, (cols, rows) in _dimension_rows(world, clock).items():
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                copy.write("".join(_tsv(r) for r in rows))
        next_id = 1
        tickets: list[str] = []
        events: list[str] = []

        def flush() -> None:
            with cur.copy(f"COPY tickets ({TICKET_COLS}) FROM STDIN") as copy:
                copy.write("".join(tickets))
            with cur.copy(f"COPY ticket_events ({EVENT_COLS}) FROM STDIN") as copy:
                copy.write("".join(events))
            tickets.clear()
            events.clear()

        for row, evs in _progress(histories(world, n, seed), n, "postgres load"):
            row[-2], row[-1] = clock(row[-2]), clock(row[-1])
            tickets.append(_tsv(tuple(row)))
            made, next_id = _event_rows(evs, next_id, clock)
            events.extend(_tsv(e) for e in made)
            if len(events) >= BATCH * 4:
                flush()
        flush()
        for _, sql in indexes:
            cur.execute(sql)
        for table in ("service_networks", "engineers", "products", "product_models", "customers",
                      "customer_addresses", "assets", "tickets", "ticket_events"):  # fmt: skip
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        conn.commit()
        conn.autocommit = True
        cur.execute("ANALYZE")
    return next_id - 1, time.perf_counter() - started


def _progress(items: Iterator[Any], total: int, label: str) -> Iterator[Any]:
    step = max(total // 10, 1)
    started = time.perf_counter()
    for i, item in enumerate(items, 1):
        if i % step == 0:
            print(f"  {label}: {i:,}/{total:,} ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr, flush=True)  # fmt: skip
        yield item


# ---------------------------------------------------------------- timing


def dashboards(f: Filters) -> dict[str, list[tuple[str, Callable[..., Any]]]]:
    """The queries each page runs (as in analytics/pages.py), by page."""
    now = NOW
    pf = replace(f, product="空调")
    nf = replace(f, network_id=1)
    two = replace(f, product="空调", channel="wechat")
    return {
        "executive": [
            ("overview", lambda s: service.overview(s, f, now=now)),
            ("parts fill", lambda s: service.parts_fill(s, f)),
            ("bot", lambda s: service.bot(s, f)),
            ("trend", lambda s: service.trend(s, f, now=now)),
            ("by network", lambda s: service.kpis_by(s, f, by="network", now=now)),
            ("filter options", lambda s: service.options(s)),
        ],
        "operations": [
            ("kpis", lambda s: service.kpis(s, f, now=now)),
            ("trend", lambda s: service.trend(s, f, now=now)),
            ("by network", lambda s: service.kpis_by(s, f, by="network", now=now)),
            ("backlog", lambda s: service.backlog(s, f, now=now)),
            ("abnormal", lambda s: service.abnormal(s, f, now=now)),
            ("parts fill", lambda s: service.parts_fill(s, f)),
            ("bot", lambda s: service.bot(s, f)),
        ],
        "people": [
            ("engineers", lambda s: service.staffing(s, f, service.people(s, f))),
        ],
        "quality": [
            ("by product", lambda s: service.quality(s, f, by="product")),
            ("by model", lambda s: service.quality(s, f, by="model")),
            ("by region", lambda s: service.quality(s, f, by="city")),
            ("fault codes", lambda s: service.fault_codes(s, f)),
            ("warranty trend", lambda s: service.warranty_trend(s, f)),
        ],
        "eie": [
            ("scorecard", lambda s: service.scorecard(s, f, now=now)),
            ("by network", lambda s: service.eie(s, f, by="network")),
            ("by engineer", lambda s: service.eie(s, f, by="engineer")),
        ],
        # One filter of each kind the rollups hold, and two at once (the fact rows answer).
        "executive, one product": [
            ("overview", lambda s: service.overview(s, pf, now=now)),
            ("trend", lambda s: service.trend(s, pf, now=now)),
            ("by network", lambda s: service.kpis_by(s, pf, by="network", now=now)),
        ],
        "eie, one network": [
            ("scorecard", lambda s: service.scorecard(s, nf, now=now)),
            ("by engineer", lambda s: service.eie(s, nf, by="engineer")),
        ],
        "operations, product and channel": [
            ("kpis", lambda s: service.kpis(s, two, now=now)),
            ("trend", lambda s: service.trend(s, two, now=now)),
            ("by network", lambda s: service.kpis_by(s, two, by="network", now=now)),
        ],
        "drill-down": [
            ("t5 longest, page 1",
             lambda s: service.ticket_rows(s, f, measure="stage:t5", now=now)),
            ("overdue, page 1", lambda s: service.ticket_rows(s, f, measure="abnormal:overdue",
                                                              now=now)),
        ],
    }  # fmt: skip


def time_pages(db: Database, periods: tuple[int, ...], repeats: int) -> dict[int, dict[str, Any]]:
    """Seconds per page (best of `repeats`) and per query, for each period length."""
    out: dict[int, dict[str, Any]] = {}
    for days in periods:
        f = Filters.last(days, now=NOW)
        pages: dict[str, Any] = {}
        for page, queries in dashboards(f).items():
            totals = []
            per_query: dict[str, float] = {}
            for _ in range(repeats):
                total = 0.0
                with db.session() as s:
                    for name, run in queries:
                        started = time.perf_counter()
                        run(s)
                        took = time.perf_counter() - started
                        per_query[name] = min(per_query.get(name, took), took)
                        total += took
                totals.append(total)
            pages[page] = {"best": min(totals), "first": totals[0], "queries": per_query}
        out[days] = pages
    return out


def incremental(db: Database, pg: bool, count: int) -> tuple[int, float]:
    """Append one event (a customer's urge) to each of the `count` newest open tickets, then
    time the refresh that folds them in."""
    clock = Clock(pg=pg)
    at = clock(NOW.timestamp() + 60)
    with db.session() as s:
        open_rows = s.execute(
            text(
                "SELECT id, status FROM tickets WHERE status IN ('new', 'accepted', "
                "'dispatched', 'engineer_accepted', 'departed', 'arrived', 'waiting_parts') "
                "ORDER BY id DESC LIMIT :n"
            ),
            {"n": count},
        ).all()
        top = s.execute(text("SELECT MAX(id) FROM ticket_events")).scalar() or 0
        rows = [
            {"id": top + i + 1, "t": tid, "s": status, "at": at}
            for i, (tid, status) in enumerate(open_rows)
        ]
        when = "CAST(:at AS TIMESTAMPTZ)" if pg else ":at"
        if rows:
            s.execute(
                text(
                    "INSERT INTO ticket_events (id, ticket_id, action, from_status, to_status, "
                    f"actor, payload, created_at) VALUES (:id, :t, 'urge', :s, :s, 'customer:1', "
                    f"'{{}}', {when})"
                ),
                rows,
            )
        if pg:
            s.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('ticket_events', 'id'), "
                    "(SELECT MAX(id) FROM ticket_events))"
                )
            )
    with db.session() as s:
        started = time.perf_counter()
        result = refresh(s, now=NOW + timedelta(minutes=2))
    return result.tickets, time.perf_counter() - started


def run_kept(url: str, periods: tuple[int, ...], repeats: int, build: bool) -> dict[str, Any]:
    """`run` on a database an earlier `--keep` run loaded: migrate it, rebuild the facts
    and rollups in full with this code (unless not `build`), refresh and time. The urges of
    earlier runs stay, so each run adds 1,000 events."""
    kind = "sqlite" if url.startswith("sqlite") else "postgresql"
    upgrade(url)
    db = Database(url)
    with db.session() as s:
        n = s.execute(text("SELECT COUNT(*) FROM tickets")).scalar() or 0
        events = s.execute(text("SELECT COUNT(*) FROM ticket_events")).scalar() or 0
    print(f"== {kind}: {n:,} tickets (kept: {url})", file=sys.stderr, flush=True)
    figures: dict[str, Any] = {"kind": kind, "tickets": n, "events": events, "load_s": None}
    try:
        _refresh_and_time(db, url, kind, figures, periods, repeats, build=build)
    finally:
        db.dispose()
    return figures


def _refresh_and_time(
    db: Database,
    url: str,
    kind: str,
    figures: dict[str, Any],
    periods: tuple[int, ...],
    repeats: int,
    *,
    build: bool = True,
) -> None:
    figures["refresh_full_s"] = None
    if build:
        with db.session() as s:
            started = time.perf_counter()
            built = refresh(s, now=NOW, full=True)
        figures["refresh_full_s"] = time.perf_counter() - started
        figures["facts"] = built.tickets
        with db.session() as s:
            if kind == "sqlite":
                s.execute(text("ANALYZE"))
        if kind != "sqlite":
            with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text("ANALYZE ticket_stage_facts"))
                conn.execute(text("ANALYZE analytics_columns"))
                conn.execute(text("ANALYZE analytics_daily"))
    with db.session() as s:
        started = time.perf_counter()
        refresh(s, now=NOW + timedelta(minutes=1))
    figures["refresh_idle_s"] = time.perf_counter() - started
    figures["refresh_inc_tickets"], figures["refresh_inc_s"] = incremental(
        db, kind != "sqlite", 1000
    )
    figures["load_before"] = os.getloadavg()
    figures["started_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    figures["pages"] = time_pages(db, periods, repeats)
    figures["load_after"] = os.getloadavg()
    if kind == "sqlite":
        figures["size_mb"] = Path(make_url(url).database or "").stat().st_size / 2**20
    else:
        with db.session() as s:
            size = s.execute(text("SELECT pg_database_size(current_database())")).scalar()
            figures["size_mb"] = (size or 0) / 2**20


def run(
    kind: str, n: int, seed: int, periods: tuple[int, ...], repeats: int, keep: bool = False
) -> dict[str, Any]:
    """Load, refresh and time one database kind; the scratch database is removed after."""
    print(f"== {kind}: {n:,} tickets", file=sys.stderr, flush=True)
    world = World(n, seed)
    figures: dict[str, Any] = {"kind": kind, "tickets": n}
    tmp = Path(tempfile.mkdtemp(prefix="analytics-bench-"))
    admin = None
    name = ""
    if kind == "sqlite":
        path = tmp / "bench.db"
        url = f"sqlite:///{path}"
    else:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"analytics_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        if kind == "sqlite":
            events, took = load_sqlite(path, world, n, seed)
        else:
            events, took = load_postgres(url, world, n, seed)
        figures.update(events=events, load_s=took)
        db = Database(url)
        _refresh_and_time(db, url, kind, figures, periods, repeats)
        db.dispose()
    finally:
        if keep:
            print(f"  kept: {url}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        if admin is not None and not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return figures


def report(all_figures: list[dict[str, Any]], periods: tuple[int, ...]) -> None:
    """Print the figures as Markdown."""
    print(
        f"Machine: {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    for f in all_figures:
        before = ", ".join(f"{x:.1f}" for x in f["load_before"])
        after = ", ".join(f"{x:.1f}" for x in f["load_after"])
        print(f"- {f['kind']}: page timings from {f['started_at']}, load average (1, 5, 15 min) "
              f"{before} before and {after} after")  # fmt: skip
    print()
    print(
        "| DB | tickets | events | bulk load | full facts build | refresh, nothing new | "
        "refresh after 1,000 new events | size |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for f in all_figures:
        load = "kept" if f["load_s"] is None else f"{f['load_s']:.0f} s"
        build = "not rebuilt" if f["refresh_full_s"] is None else f"{f['refresh_full_s']:.1f} s"
        print(f"| {f['kind']} | {f['tickets']:,} | {f['events']:,} | {load} | "
              f"{build} | {f['refresh_idle_s'] * 1000:.0f} ms | "
              f"{f['refresh_inc_s'] * 1000:.0f} ms ({f['refresh_inc_tickets']:,} tickets) | "
              f"{f['size_mb']:,.0f} MiB |")  # fmt: skip
    print()
    for days in periods:
        print(f"Dashboard queries, last {days} days (best of the runs; first run in brackets):")
        print()
        print("| page | " + " | ".join(f["kind"] for f in all_figures) + " |")
        print("|---|" + "---:|" * len(all_figures))
        for page in all_figures[0]["pages"][days]:
            cells = []
            for f in all_figures:
                p = f["pages"][days][page]
                cells.append(f"{p['best'] * 1000:,.0f} ms ({p['first'] * 1000:,.0f})")
            print(f"| {page} | " + " | ".join(cells) + " |")
        print()
    print(f"Slowest single queries (last {periods[-1]} days):")
    for f in all_figures:
        queries = [(page, q, t) for page, p in f["pages"][periods[-1]].items()
                   for q, t in p["queries"].items()]  # fmt: skip
        top = sorted(queries, key=lambda x: -x[2])[:5]
        print(f"- {f['kind']}: " + "; ".join(f"{p}/{q} {t * 1000:,.0f} ms" for p, q, t in top))


def main() -> None:
    """Parse the arguments, run each database, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--periods", default="30,365", help="period lengths in days")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the databases (to look into)")
    parser.add_argument(
        "--url",
        action="append",
        default=[],
        help="time a database kept by an earlier --keep run instead of loading one "
        "(repeatable; --tickets, --seed and --db are then ignored)",
    )
    parser.add_argument(
        "--no-build",
        action="store_true",
        help="with --url: keep its facts and rollups as they are (no full rebuild)",
    )
    args = parser.parse_args()
    periods = tuple(int(p) for p in args.periods.split(","))
    if args.url:
        kept = [run_kept(u, periods, args.repeats, not args.no_build) for u in args.url]
        report(kept, periods)
        return
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    figures = [run(k, args.tickets, args.seed, periods, args.repeats, args.keep) for k in kinds]
    report(figures, periods)


if __name__ == "__main__":
    main()
