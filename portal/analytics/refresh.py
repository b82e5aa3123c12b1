"""Keeps `ticket_stage_facts` in step with the tickets, in SQL, a few tickets at a time.

A refresh recomputes the fact rows of the tickets that changed since the watermark: those
with events newer than the last event folded in (less a margin, for transactions that
committed late) and those whose row was edited since the last refresh began. It also
recomputes the repeat-fault flags of every ticket on the same units, since a new repair
changes whether an earlier one counts as fixed the first time. Everything is one
INSERT … SELECT over the events, so the work is the database's, not Python's.

The stage durations follow `tickets.lifecycle.stage_durations` exactly: stage k ends at
the first event closing it (ordered by time, then id) and starts at the last opening event
at or before that one.

Writes go through Core statements (not ORM objects), so refreshing during a page view does
not show up in the staff audit log; like every service, this flushes and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from time import perf_counter
from typing import Any

from sqlalchemy import TextClause, bindparam, delete, func, insert, select, text, union, update
from sqlalchemy.orm import Session

from portal.analytics import rollups
from portal.analytics.models import AnalyticsDirty, AnalyticsState, TicketStageFact
from portal.analytics.sql import Dialect, prepare
from portal.database import utcnow
from portal.tickets.lifecycle import STAGES
from portal.tickets.models import Ticket, TicketEvent

STATE_ID = 1
# Events up to this many ids below the watermark are looked at again: on PostgreSQL a
# transaction can commit an event with a lower id after a refresh read the highest one.
EVENT_OVERLAP = 1000
# Likewise for ticket edits stamped just before the previous refresh began.
EDIT_SLACK = timedelta(minutes=5)
REPEAT_WINDOW_S = 30 * 86400
REFRESH_WORK_MEM = "128MB"
RESPONSE_ACTIONS = ("accept", "resolve_remotely")
RESOLUTION_ACTIONS = ("complete", "resolve_remotely")


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Default SLA deadlines in minutes for tickets without timers (0 or None: none)."""

    response_minutes: int | None = 10
    arrival_minutes: int | None = 240
    resolution_minutes: int | None = 1440
    no_visit_types: tuple[str, ...] = ("consultation",)


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What one refresh did."""

    tickets: int
    full: bool
    seconds: float
    skipped: bool = False


FACT_COLUMNS = [c.name for c in TicketStageFact.__table__.columns]


def _in(actions: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{a}'" for a in actions) + ")"


def facts_sql(d: Dialect, *, full: bool) -> str:
    """INSERT … SELECT computing the fact rows of every ticket (full) or the dirty ones."""
    # "IN (SELECT …)" rather than a join, so both databases look the few dirty tickets up
    # through the ticket_id indexes instead of scanning every event.
    dirty = "" if full else "WHERE {} IN (SELECT ticket_id FROM analytics_dirty)"
    ends = ",\n".join(
        f"MIN(CASE WHEN action = '{end}' THEN ts END) AS e{i},\n"
        f"MAX(CASE WHEN action = '{start}' THEN ts END) AS m{i}"
        for i, (_, start, end) in enumerate(STAGES, 1)
    )
    # Most tickets open each stage once, before it closes: then the stage starts at the last
    # opening event. Only tickets where some opening event comes at or after the closing one
    # (reopened, redone after parts) need the event-by-event pass below.
    careful = " OR ".join(f"en.m{i} >= en.e{i}" for i in range(1, len(STAGES) + 1))
    starts = ",\n".join(
        f"MAX(CASE WHEN ev.action = '{start}' AND ev.ts < en.e{i} THEN ev.ts END) AS s{i},\n"
        f"MIN(CASE WHEN ev.action = '{start}' AND ev.ts = en.e{i} THEN ev.id END) AS sx{i},\n"
        f"MIN(CASE WHEN ev.action = '{end}' AND ev.ts = en.e{i} THEN ev.id END) AS ex{i}"
        for i, (_, start, end) in enumerate(STAGES, 1)
    )
    # A start at the very same moment as the end counts when its id comes first.
    stages = ",\n".join(
        f"CASE WHEN en.e{i} IS NULL OR en.m{i} IS NULL THEN NULL "
        f"WHEN en.m{i} < en.e{i} THEN en.e{i} - en.m{i} "
        f"WHEN st.sx{i} IS NOT NULL AND st.sx{i} < st.ex{i} THEN 0.0 "
        f"WHEN st.s{i} IS NOT NULL THEN en.e{i} - st.s{i} END"
        for i in range(1, len(STAGES) + 1)
    )
    created = d.epoch("t.created_at")

    def due(kind: str, param: str) -> str:
        default = f"{created} + CAST(:{param} AS DOUBLE PRECISION)"
        if kind == "arrival":
            default = f"CASE WHEN t.type IN :no_visit THEN NULL ELSE {default} END"
        return f"CASE WHEN du.n IS NULL THEN {default} ELSE du.{kind} END"

    columns = ", ".join(FACT_COLUMNS)
    return f"""
INSERT INTO ticket_stage_facts ({columns})
WITH ev AS (
  SELECT e.ticket_id AS tid, e.id AS id, e.action AS action, e.actor AS actor,
         {d.epoch("e.created_at")} AS ts,
         CASE WHEN e.action = 'complete' THEN {d.json_array_len("e.payload", "parts")}
              ELSE 0 END AS nparts
  FROM ticket_events e {dirty.format("e.ticket_id")}
),
ends AS (
  SELECT tid,
{ends},
    MIN(CASE WHEN action IN {_in(RESPONSE_ACTIONS)} THEN ts END) AS responded,
    MIN(CASE WHEN action = 'arrive' THEN ts END) AS arrived,
    MIN(CASE WHEN action IN {_in(RESOLUTION_ACTIONS)} THEN ts END) AS completed,
    MAX(CASE WHEN action IN {_in(RESOLUTION_ACTIONS)} THEN ts END) AS resolved,
    MAX(CASE WHEN action = 'settle' THEN ts END) AS settled,
    MAX(CASE WHEN action = 'wait_parts' THEN ts END) AS waited,
    SUM(CASE WHEN action = 'resolve_remotely' THEN 1 ELSE 0 END) AS remote,
    SUM(CASE WHEN action IN {_in(RESPONSE_ACTIONS)} AND actor LIKE 'service:%' THEN 1
             ELSE 0 END) AS bot,
    SUM(CASE WHEN action IN ('dispatch', 'reassign') THEN 1 ELSE 0 END) AS dispatches,
    SUM(CASE WHEN action = 'engineer_reject' THEN 1 ELSE 0 END) AS rejects,
    SUM(CASE WHEN action = 'request_evaluation' THEN 1 ELSE 0 END) AS eval_req,
    SUM(CASE WHEN action = 'wait_parts' THEN 1 ELSE 0 END) AS waits,
    MAX(nparts) AS nparts,
    MAX(CASE WHEN action = 'evaluate' THEN id END) AS eval_id,
    MAX(id) AS last_id
  FROM ev GROUP BY tid
),
starts AS (
  SELECT ev.tid AS tid,
{starts}
  FROM ev JOIN ends en ON en.tid = ev.tid
  WHERE {careful}
  GROUP BY ev.tid
),
dues AS (
  SELECT s.ticket_id AS tid, COUNT(*) AS n,
    MIN(CASE WHEN s.kind = 'response' THEN {d.epoch("s.due_at")} END) AS response,
    MIN(CASE WHEN s.kind = 'arrival' THEN {d.epoch("s.due_at")} END) AS arrival,
    MIN(CASE WHEN s.kind = 'resolution' THEN {d.epoch("s.due_at")} END) AS resolution
  FROM sla_timers s {dirty.format("s.ticket_id")}
  GROUP BY s.ticket_id
)
SELECT
  t.id, t.number, t.type, t.status, t.urgency, t.product, t.model_code, t.city, t.channel,
  t.network_id, t.engineer_id, t.asset_id, t.customer_id, t.escalated, t.reopen_count,
  {d.fault_code("t.fault_description")},
  {created}, {d.local_day("t.created_at")}, {d.local_week("t.created_at")},
  {d.local_month("t.created_at")},
{stages},
  en.responded, en.arrived, en.completed, en.resolved, en.settled,
  CASE WHEN t.status = 'waiting_parts' THEN en.waited END,
  CASE WHEN en.arrived IS NOT NULL THEN {d.epoch_day("en.arrived")} END,
  {due("response", "response_s")},
  {due("arrival", "arrival_s")},
  {due("resolution", "resolution_s")},
  COALESCE(en.remote, 0) > 0, COALESCE(en.bot, 0) > 0,
  COALESCE(en.dispatches, 0), COALESCE(en.rejects, 0), COALESCE(en.eval_req, 0) > 0,
  {d.json_int("ee.payload", "score")},
  (COALESCE(en.nparts, 0) > 0 OR COALESCE(en.waits, 0) > 0), COALESCE(en.waits, 0) > 0,
  CASE WHEN a.install_date IS NOT NULL
       THEN {d.days_between("a.install_date", "t.created_at")} END,
  CASE WHEN a.warranty_end IS NOT NULL
       THEN -({d.days_between("a.warranty_end", "t.created_at")}) END,
  FALSE, FALSE, COALESCE(en.last_id, 0)
FROM tickets t
LEFT JOIN ends en ON en.tid = t.id
LEFT JOIN starts st ON st.tid = t.id
LEFT JOIN dues du ON du.tid = t.id
LEFT JOIN ticket_events ee ON ee.id = en.eval_id
LEFT JOIN assets a ON a.id = t.asset_id
{dirty.format("t.id")}
"""


def repeats_sql(*, full: bool) -> list[str]:
    """UPDATEs of the repeat-fault flags of the tickets on the units of the dirty tickets.

    Rows are written only where a flag turns true (after clearing the scope, when it is not
    freshly inserted), so most rows of a full build are not rewritten.
    """
    me = "ticket_stage_facts"
    scope = (
        "asset_id IS NOT NULL"
        if full
        else "asset_id IN (SELECT f.asset_id FROM ticket_stage_facts f "
        "JOIN analytics_dirty d ON d.ticket_id = f.ticket_id WHERE f.asset_id IS NOT NULL)"
    )
    prior = f"""EXISTS (
    SELECT 1 FROM {me} p
    WHERE p.asset_id = {me}.asset_id AND p.ticket_id <> {me}.ticket_id
      AND p.type = 'repair' AND p.completed_ts IS NOT NULL
      AND p.completed_ts <= {me}.created_ts
      AND p.completed_ts >= {me}.created_ts - {REPEAT_WINDOW_S})"""
    later = f"""EXISTS (
    SELECT 1 FROM {me} n
    WHERE n.asset_id = {me}.asset_id AND n.ticket_id <> {me}.ticket_id
      AND n.type = 'repair' AND n.created_ts > {me}.completed_ts
      AND n.created_ts <= {me}.completed_ts + {REPEAT_WINDOW_S})"""
    statements = (
        []
        if full
        else [
            f"UPDATE {me} SET is_repeat = FALSE, repeated = FALSE "
            f"WHERE {scope} AND (is_repeat OR repeated)"
        ]
    )
    return [
        *statements,
        f"UPDATE {me} SET is_repeat = TRUE WHERE {scope} AND type = 'repair' AND {prior}",
        f"UPDATE {me} SET repeated = TRUE WHERE {scope} AND completed_ts IS NOT NULL AND {later}",
    ]


Touched = dict[int, tuple[Any, ...]]
# The fact columns the rollups read: a ticket whose row comes out the same in these (an
# urge, a note) leaves the rollups as they are.
NOT_ROLLED_UP = {"last_event_id", "number", "urgency", "customer_id", "asset_id", "fault_code",
                 "age_days", "warranty_days_left", "parts_needed", "parts_waited",
                 "waiting_parts_ts"}  # fmt: skip
COMPARED = [c for c in FACT_COLUMNS if c not in NOT_ROLLED_UP]


def _touched(session: Session) -> Touched:
    """The fact rows of the dirty tickets and of every ticket on the same units (a refresh
    can change those rows' repeat flags), by ticket: (day, visit day, the rest)."""
    f = TicketStageFact.__table__.c
    dirty = select(AnalyticsDirty.ticket_id)
    units = union(
        select(Ticket.asset_id).where(Ticket.id.in_(dirty), Ticket.asset_id.is_not(None)),
        select(f.asset_id).where(f.ticket_id.in_(dirty), f.asset_id.is_not(None)),
    )
    rows = session.execute(
        select(f.day, f.visit_day, *[f[name] for name in COMPARED]).where(
            f.ticket_id.in_(dirty) | f.asset_id.in_(units)
        )
    ).all()
    return {int(r.ticket_id): tuple(r) for r in rows}


def _changed_days(before: Touched, after: Touched) -> tuple[set[str], set[str]]:
    """The local days (of creation, of the first visit) whose rollups must be rewritten:
    those of every row that changed, appeared or went."""
    days: set[str] = set()
    visit_days: set[str] = set()
    for tid in set(before) | set(after):
        old, new = before.get(tid), after.get(tid)
        if old == new:
            continue
        for row in (old, new):
            if row is not None:
                days.add(row[0])
                if row[1]:
                    visit_days.add(row[1])
    return days, visit_days


def _params(deadlines: Deadlines) -> dict[str, object]:
    def seconds(minutes: int | None) -> float | None:
        return float(minutes * 60) if minutes else None

    return {
        "response_s": seconds(deadlines.response_minutes),
        "arrival_s": seconds(deadlines.arrival_minutes),
        "resolution_s": seconds(deadlines.resolution_minutes),
        "no_visit": tuple(deadlines.no_visit_types) or ("",),
    }


def _statement(sql: str) -> TextClause:
    return text(sql).bindparams(bindparam("no_visit", expanding=True))


def _state(session: Session, *, wait: bool) -> tuple[int, datetime | None, datetime | None] | None:
    """Lock and read the watermark row (made on first use); None if another refresh holds it."""
    table = AnalyticsState.__table__.c
    stmt = select(table.event_id, table.ticket_mark, table.refreshed_at).where(table.id == STATE_ID)
    locked = stmt.with_for_update(skip_locked=not wait)
    row = session.execute(locked).first()
    if row is None:
        exists = session.execute(stmt).first()
        if exists is not None:  # locked by someone else, and we said not to wait
            return None
        session.execute(insert(AnalyticsState).values(id=STATE_ID, event_id=0))
        row = session.execute(locked).first()
        assert row is not None
    return int(row.event_id), row.ticket_mark, row.refreshed_at


def refresh(
    session: Session,
    *,
    deadlines: Deadlines | None = None,
    full: bool = False,
    now: datetime | None = None,
    max_age: timedelta | None = None,
    wait: bool = True,
) -> RefreshResult:
    """Bring the facts up to date (all of them when `full` or never built); flushes only.

    With `max_age`, does nothing if the last refresh is younger than that; without `wait`,
    does nothing if another transaction is refreshing right now.
    """
    started = perf_counter()
    now = now or utcnow()
    state = _state(session, wait=wait)
    if state is None:
        return RefreshResult(0, False, 0.0, skipped=True)
    event_mark, ticket_mark, refreshed_at = state
    if (
        max_age is not None
        and not full
        and refreshed_at is not None
        and now - refreshed_at < max_age
    ):
        return RefreshResult(0, False, 0.0, skipped=True)
    dialect = prepare(session)
    if dialect.pg:
        # One big aggregate: compiling it (JIT) costs more than it saves, and its hash tables
        # should stay in memory. SET LOCAL ends with the transaction.
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text(f"SET LOCAL work_mem = '{REFRESH_WORK_MEM}'"))
    params = _params(deadlines or Deadlines())
    top = session.scalar(select(func.max(TicketEvent.id))) or 0
    full = full or refreshed_at is None
    if full:
        if dialect.pg:  # no dead rows left behind (it locks the table until the commit)
            session.execute(text("TRUNCATE ticket_stage_facts"))
        else:
            session.execute(delete(TicketStageFact))
        session.execute(_statement(facts_sql(dialect, full=True)), params)
        for sql in repeats_sql(full=True):
            session.execute(text(sql))
        rollups.rebuild(session, days=None, visit_days=None)
        count = session.scalar(select(func.count()).select_from(TicketStageFact)) or 0
    else:
        session.execute(delete(AnalyticsDirty))
        changed = union(
            select(TicketEvent.ticket_id).where(TicketEvent.id > event_mark - EVENT_OVERLAP),
            select(Ticket.id).where(Ticket.updated_at >= (ticket_mark or now) - EDIT_SLACK),
        )
        session.execute(insert(AnalyticsDirty).from_select(["ticket_id"], changed))
        count = session.scalar(select(func.count()).select_from(AnalyticsDirty)) or 0
        if count:
            before = _touched(session)
            session.execute(
                delete(TicketStageFact).where(
                    TicketStageFact.ticket_id.in_(select(AnalyticsDirty.ticket_id))
                )
            )
            session.execute(_statement(facts_sql(dialect, full=False)), params)
            for sql in repeats_sql(full=False):
                session.execute(text(sql))
            after = _touched(session)
            days, visit_days = _changed_days(before, after)
            rollups.rebuild(session, days=days, visit_days=visit_days)
            session.execute(delete(AnalyticsDirty))
    values: dict[str, object] = {"event_id": top, "ticket_mark": now, "refreshed_at": now}
    if full:
        values["rebuilt_at"] = now
    session.execute(update(AnalyticsState).where(AnalyticsState.id == STATE_ID).values(**values))
    session.flush()
    return RefreshResult(int(count), full, perf_counter() - started)


def deadlines_from_settings(settings: object) -> Deadlines:
    """The default deadlines the SLA settings describe."""
    return Deadlines(
        response_minutes=getattr(settings, "sla_response_minutes", 10),
        arrival_minutes=getattr(settings, "sla_arrival_minutes", 240),
        resolution_minutes=getattr(settings, "sla_resolution_minutes", 1440),
    )
