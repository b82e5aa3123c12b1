"""Reads and writes of SLA policies, business calendars and ticket timers; claiming due timers.

Deadlines come from the most specific matching policy (or the settings' defaults) counted
on the ticket's network's calendar (or the default calendar: the row without a network,
else the settings' hours).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.config import Settings
from portal.errors import Invalid, NotFound
from portal.networks.models import ServiceNetwork
from portal.sla.hours import AroundTheClock, Clock, WorkCalendar, parse_hours, parse_weekdays
from portal.sla.models import BusinessCalendar, CalendarDay, SlaPolicy, SlaTimer
from portal.tickets.models import Ticket

KINDS = ("response", "arrival", "resolution")
OPEN_STATES = ("pending", "breached", "paused")
# Ticket types that never need a visit: no arrival deadline unless a policy sets one.
NO_VISIT = frozenset({"consultation"})


@dataclass(frozen=True, slots=True)
class SlaDefaults:
    """The SLA settings: default deadlines, the warning share, the ladder's pace, hours."""

    response_minutes: int = 10
    arrival_minutes: int = 240
    resolution_minutes: int = 1440
    warn_share: float = 0.8
    step: timedelta = timedelta(minutes=30)
    auto_reassign: bool = False
    timezone: str = "Asia/Shanghai"
    work_days: str = "1-5"
    work_hours: str = "09:00-18:00"

    @classmethod
    def from_settings(cls, settings: Settings) -> SlaDefaults:
        """The defaults these settings describe."""
        return cls(
            response_minutes=settings.sla_response_minutes,
            arrival_minutes=settings.sla_arrival_minutes,
            resolution_minutes=settings.sla_resolution_minutes,
            warn_share=settings.sla_warn_share,
            step=timedelta(minutes=settings.sla_escalation_step_minutes),
            auto_reassign=settings.sla_auto_reassign,
            timezone=settings.sla_timezone,
            work_days=settings.sla_work_days,
            work_hours=settings.sla_work_hours,
        )

    def calendar(self) -> WorkCalendar:
        """The calendar of the default hours."""
        days = parse_weekdays(self.work_days)
        return WorkCalendar.build(zone=self.timezone, weekly={d: self.work_hours for d in days})


@dataclass(frozen=True, slots=True)
class Terms:
    """The deadlines one ticket gets: minutes per kind (0: none), and how they are counted."""

    name: str
    minutes: dict[str, int]
    business_hours: bool
    auto_reassign: bool | None = None  # None: the settings' default


# ---------------------------------------------------------------- policies


def match_policy(
    session: Session, *, ticket_type: str, urgency: str, tier: str, defaults: SlaDefaults
) -> Terms:
    """The most specific active policy for the ticket's type, urgency and customer tier."""
    candidates = session.scalars(
        select(SlaPolicy)
        .where(SlaPolicy.active.is_(True))
        .where((SlaPolicy.ticket_type.is_(None)) | (SlaPolicy.ticket_type == ticket_type))
        .where((SlaPolicy.urgency.is_(None)) | (SlaPolicy.urgency == urgency))
        .where((SlaPolicy.customer_tier.is_(None)) | (SlaPolicy.customer_tier == tier))
        .order_by(SlaPolicy.id)
    ).all()
    if candidates:
        best = max(
            candidates,
            key=lambda p: (
                sum(v is not None for v in (p.ticket_type, p.urgency, p.customer_tier)),
                -p.id,
            ),
        )
        return Terms(
            name=best.name,
            minutes={
                "response": best.response_minutes,
                "arrival": best.arrival_minutes,
                "resolution": best.resolution_minutes,
            },
            business_hours=best.business_hours,
            auto_reassign=best.auto_reassign,
        )
    return Terms(
        name="default",
        minutes={
            "response": defaults.response_minutes,
            "arrival": 0 if ticket_type in NO_VISIT else defaults.arrival_minutes,
            "resolution": defaults.resolution_minutes,
        },
        business_hours=True,
    )


def terms_for(session: Session, *, ticket: Ticket, defaults: SlaDefaults) -> Terms:
    """The deadlines of this ticket as it is now."""
    return match_policy(
        session,
        ticket_type=ticket.type,
        urgency=ticket.urgency,
        tier=ticket.customer.tier,
        defaults=defaults,
    )


def list_policies(session: Session) -> list[SlaPolicy]:
    """Every policy, oldest first."""
    return list(session.scalars(select(SlaPolicy).order_by(SlaPolicy.id)).all())


def create_policy(session: Session, *, data: dict[str, Any]) -> SlaPolicy:
    """Add a policy."""
    policy = SlaPolicy(**data)
    session.add(policy)
    session.flush()
    return policy


def get_policy(session: Session, *, policy_id: int) -> SlaPolicy:
    """One policy, or 404."""
    policy = session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound("object.sla_policy")
    return policy


def update_policy(session: Session, *, policy_id: int, data: dict[str, Any]) -> SlaPolicy:
    """Change a policy's match and deadlines (timers already running keep theirs)."""
    policy = get_policy(session, policy_id=policy_id)
    for key, value in data.items():
        setattr(policy, key, value)
    session.flush()
    return policy


def set_policy_active(session: Session, *, policy_id: int, active: bool) -> SlaPolicy:
    """Switch a policy on or off (timers already running keep their deadlines)."""
    policy = session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound("object.sla_policy")
    policy.active = active
    session.flush()
    return policy


# ---------------------------------------------------------------- calendars


def _calendar_row(session: Session, network_id: int | None) -> BusinessCalendar | None:
    stmt = select(BusinessCalendar)
    if network_id is None:
        stmt = stmt.where(BusinessCalendar.network_id.is_(None)).order_by(BusinessCalendar.id)
    else:
        stmt = stmt.where(BusinessCalendar.network_id == network_id)
    return session.scalars(stmt).first()


def to_work_calendar(row: BusinessCalendar) -> WorkCalendar:
    """The arithmetic calendar of a stored one."""
    return WorkCalendar.build(
        zone=row.timezone,
        weekly={int(k): str(v) for k, v in row.weekly_hours.items()},
        holidays=[d.day for d in row.days if not d.working],
        workdays=[d.day for d in row.days if d.working],
    )


def calendar_for(
    session: Session, *, network_id: int | None, defaults: SlaDefaults
) -> WorkCalendar:
    """The network's calendar, else the default calendar row, else the settings' hours."""
    row = _calendar_row(session, network_id) if network_id is not None else None
    row = row or _calendar_row(session, None)
    return to_work_calendar(row) if row is not None else defaults.calendar()


def clock_for(
    session: Session, *, network_id: int | None, business_hours: bool, defaults: SlaDefaults
) -> Clock:
    """How a timer's time is counted."""
    if not business_hours:
        return AroundTheClock()
    return calendar_for(session, network_id=network_id, defaults=defaults)


def list_calendars(session: Session) -> list[BusinessCalendar]:
    """Every stored calendar, the default one first."""
    rows = session.scalars(select(BusinessCalendar).order_by(BusinessCalendar.id)).all()
    return sorted(rows, key=lambda c: (c.network_id is not None, c.id))


def put_calendar(
    session: Session,
    *,
    network_id: int | None,
    name: str,
    timezone: str,
    weekly_hours: dict[str, str],
    days: Sequence[tuple[date, bool, str]],
) -> BusinessCalendar:
    """Create or replace the calendar of a network (None: the default calendar)."""
    if network_id is not None and session.get(ServiceNetwork, network_id) is None:
        raise Invalid("error.unknown_network", field="network_id")
    for text in weekly_hours.values():
        try:
            parse_hours(text)
        except ValueError as exc:
            raise Invalid("error.bad_hours", field="weekly_hours", detail=str(text)) from exc
    if not any(parse_hours(t) for t in weekly_hours.values()):
        raise Invalid("error.no_working_hours", field="weekly_hours")
    if len({d for d, _, _ in days}) != len(days):
        raise Invalid("error.duplicate_day", field="days")
    row = _calendar_row(session, network_id)
    if row is None:
        row = BusinessCalendar(network_id=network_id)
        session.add(row)
    row.name = name
    row.timezone = timezone
    row.weekly_hours = dict(weekly_hours)
    # Old days go first: the flush would insert the new ones before deleting the old.
    row.days.clear()
    session.flush()
    row.days.extend(CalendarDay(day=d, working=w, name=n) for d, w, n in days)
    session.flush()
    return row


# ---------------------------------------------------------------- timers


def timers_of(
    session: Session,
    *,
    ticket_id: int,
    kinds: Iterable[str] = KINDS,
    states: Iterable[str] | None = None,
) -> list[SlaTimer]:
    """The ticket's timers of these kinds (and states), oldest first."""
    stmt = select(SlaTimer).where(SlaTimer.ticket_id == ticket_id, SlaTimer.kind.in_(list(kinds)))
    if states is not None:
        stmt = stmt.where(SlaTimer.state.in_(list(states)))
    return list(session.scalars(stmt.order_by(SlaTimer.id)).all())


def schedule(timer: SlaTimer) -> None:
    """Point `next_check_at` at the timer's next moment: the warning, else the deadline."""
    if timer.warned_at is None and timer.warn_at < timer.due_at:
        timer.next_check_at = timer.warn_at
    else:
        timer.next_check_at = timer.due_at


def _place(timer: SlaTimer, clock: Clock, *, start: datetime, seconds: float, share: float) -> None:
    timer.due_at = clock.add(start, seconds)
    timer.warn_at = clock.add(start, seconds * share)
    schedule(timer)


def start_timers(
    session: Session,
    *,
    ticket: Ticket,
    kinds: Iterable[str],
    at: datetime,
    defaults: SlaDefaults,
) -> list[SlaTimer]:
    """Start the ticket's deadlines of these kinds, counted from `at`."""
    terms = terms_for(session, ticket=ticket, defaults=defaults)
    clock = clock_for(
        session,
        network_id=ticket.network_id,
        business_hours=terms.business_hours,
        defaults=defaults,
    )
    made = []
    for kind in kinds:
        minutes = terms.minutes.get(kind, 0)
        if minutes <= 0:
            continue
        timer = SlaTimer(
            ticket_id=ticket.id,
            kind=kind,
            policy=terms.name,
            started_at=at,
            duration_s=minutes * 60,
            business_hours=terms.business_hours,
            state="pending",
            level=0,
            claimed_by="",
            created_at=at,
        )
        _place(timer, clock, start=at, seconds=timer.duration_s, share=defaults.warn_share)
        session.add(timer)
        made.append(timer)
    session.flush()
    return made


def settle(
    session: Session, *, ticket_id: int, kinds: Iterable[str], state: str, at: datetime
) -> list[SlaTimer]:
    """Close the ticket's open timers of these kinds as met or cancelled."""
    timers = timers_of(session, ticket_id=ticket_id, kinds=kinds, states=OPEN_STATES)
    for timer in timers:
        timer.state = state
        timer.next_check_at = None
        timer.remaining_s = None
        if state == "met":
            timer.met_at = at
    session.flush()
    return timers


def pause(
    session: Session, *, ticket: Ticket, kinds: Iterable[str], at: datetime, defaults: SlaDefaults
) -> list[SlaTimer]:
    """Stop the clock of pending timers (waiting for parts), keeping the time left."""
    timers = timers_of(session, ticket_id=ticket.id, kinds=kinds, states=("pending",))
    for timer in timers:
        clock = clock_for(
            session,
            network_id=ticket.network_id,
            business_hours=timer.business_hours,
            defaults=defaults,
        )
        timer.remaining_s = int(clock.between(at, timer.due_at))
        timer.state = "paused"
        timer.next_check_at = None
    session.flush()
    return timers


def resume(
    session: Session, *, ticket: Ticket, at: datetime, defaults: SlaDefaults
) -> list[SlaTimer]:
    """Restart paused timers with the time they had left."""
    timers = timers_of(session, ticket_id=ticket.id, states=("paused",))
    for timer in timers:
        clock = clock_for(
            session,
            network_id=ticket.network_id,
            business_hours=timer.business_hours,
            defaults=defaults,
        )
        left = float(timer.remaining_s or 0)
        # Warn when the same share of the whole deadline has passed as before the pause.
        warn_left = max(0.0, left - timer.duration_s * (1 - defaults.warn_share))
        timer.due_at = clock.add(at, left)
        timer.warn_at = clock.add(at, warn_left)
        timer.state = "pending"
        timer.remaining_s = None
        schedule(timer)
    session.flush()
    return timers


def replan(
    session: Session,
    *,
    ticket: Ticket,
    defaults: SlaDefaults,
    tighten_only: bool,
) -> list[SlaTimer]:
    """Recount pending timers from their start with the ticket's current terms and calendar
    (after it got a network, or an urgency change); `tighten_only` never moves one later."""
    terms = terms_for(session, ticket=ticket, defaults=defaults)
    changed = []
    for timer in timers_of(session, ticket_id=ticket.id, states=("pending",)):
        minutes = terms.minutes.get(timer.kind, 0)
        seconds = minutes * 60 if minutes > 0 else timer.duration_s
        clock = clock_for(
            session,
            network_id=ticket.network_id,
            business_hours=terms.business_hours if minutes > 0 else timer.business_hours,
            defaults=defaults,
        )
        due = clock.add(timer.started_at, seconds)
        if tighten_only and due >= timer.due_at:
            continue
        if due == timer.due_at:
            continue
        timer.duration_s = seconds
        if minutes > 0:
            timer.policy, timer.business_hours = terms.name, terms.business_hours
        _place(timer, clock, start=timer.started_at, seconds=seconds, share=defaults.warn_share)
        changed.append(timer)
    session.flush()
    return changed


def claim_due(session: Session, *, now: datetime, worker: str, limit: int) -> list[SlaTimer]:
    """Lock and take up to `limit` timers whose next moment has come.

    Call it first in a transaction and act on the timers in that same transaction: the claim
    and its effects (events, notifications, the next `next_check_at`) commit together, so a
    crash loses nothing and no two workers act on one timer. PostgreSQL: FOR UPDATE SKIP
    LOCKED lets concurrent workers take disjoint timers and re-checks the condition on rows
    another worker has just committed. SQLite: the UPDATE takes the database's write lock,
    so a second worker waits, then sees the first one's new `next_check_at`.
    """
    picked = (
        select(SlaTimer.id)
        .where(SlaTimer.state.in_(("pending", "breached")), SlaTimer.next_check_at <= now)
        .order_by(SlaTimer.next_check_at, SlaTimer.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(SlaTimer)
        .where(
            SlaTimer.id.in_(picked.scalar_subquery()),
            # Repeated so the row is re-checked after waiting on another worker's lock.
            SlaTimer.state.in_(("pending", "breached")),
            SlaTimer.next_check_at <= now,
        )
        .values(claimed_by=worker, claimed_at=now)
        .returning(SlaTimer)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    rows = list(session.scalars(stmt).all())
    return sorted(rows, key=lambda t: (t.next_check_at or now, t.id))
