"""Reads and writes of maintenance plans, usage readings and occurrences, and the pure date
and counter arithmetic that says when a plan is due."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets.models import Asset, ProductModel
from portal.database import utcnow
from portal.errors import Invalid, NotFound
from portal.maintenance.models import MaintenanceOccurrence, MaintenancePlan, UsageReading
from portal.maintenance.schemas import MAX_INTERVAL, PlanCreate, PlanUpdate
from portal.tickets.models import Ticket

# Plans are kept in the calendar of the people served.
ZONE = ZoneInfo("Asia/Shanghai")
# How far back readings count when projecting a counter forward.
RATE_WINDOW = timedelta(days=180)


def local_day(moment: datetime) -> date:
    """The Shanghai calendar day of an aware moment."""
    return moment.astimezone(ZONE).date()


def day_start(day: date) -> datetime:
    """The aware moment a Shanghai calendar day begins."""
    return datetime.combine(day, time(0, 0), tzinfo=ZONE)


# --- plans --------------------------------------------------------------------------------


def get_plan(session: Session, *, plan_id: int) -> MaintenancePlan:
    """A plan by id."""
    plan = session.get(MaintenancePlan, plan_id)
    if plan is None:
        raise NotFound("object.maintenance_plan")
    return plan


def list_plans(
    session: Session,
    *,
    asset_id: int | None = None,
    model_id: int | None = None,
    active: bool | None = None,
) -> list[MaintenancePlan]:
    """Plans, by asset, model or whether they run."""
    stmt = select(MaintenancePlan).order_by(MaintenancePlan.id)
    if asset_id is not None:
        stmt = stmt.where(MaintenancePlan.asset_id == asset_id)
    if model_id is not None:
        stmt = stmt.where(MaintenancePlan.model_id == model_id)
    if active is not None:
        stmt = stmt.where(MaintenancePlan.active.is_(active))
    return list(session.scalars(stmt))


def get_asset(session: Session, *, asset_id: int) -> Asset:
    """An asset by id."""
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFound("object.asset")
    return asset


def create_plan(
    session: Session, *, data: PlanCreate, actor: str, now: datetime | None = None
) -> MaintenancePlan:
    """A new plan; it makes nothing due before `effective_from` (by default: today)."""
    now = now or utcnow()
    asset_id = model_id = None
    if data.asset_id is not None:
        try:
            asset_id = get_asset(session, asset_id=data.asset_id).id
        except NotFound:
            raise Invalid("maintenance.unknown_asset", field="asset_id") from None
    else:
        model = session.scalars(
            select(ProductModel).where(ProductModel.code == data.model_code)
        ).first()
        if model is None:
            raise Invalid("error.unknown_model", field="model_code")
        model_id = model.id
    plan = MaintenancePlan(
        name=data.name,
        description=data.description,
        asset_id=asset_id,
        model_id=model_id,
        interval_kind=data.interval_kind,
        interval_value=data.interval_value,
        usage_unit=data.usage_unit,
        starts_on=data.starts_on,
        effective_from=data.effective_from or local_day(now),
        active=data.active,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    session.flush()
    return plan


def update_plan(session: Session, *, plan: MaintenancePlan, data: PlanUpdate) -> MaintenancePlan:
    """Change the fields sent; occurrences already made stay as they are."""
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    kind = changes.get("interval_kind", plan.interval_kind)
    value = changes.get("interval_value", plan.interval_value)
    if value > MAX_INTERVAL[kind]:
        raise Invalid(
            "maintenance.interval_too_long", field="interval_value", most=MAX_INTERVAL[kind]
        )
    for key, new in changes.items():
        setattr(plan, key, new)
    plan.updated_at = utcnow()
    session.flush()
    return plan


def deactivate_plan(session: Session, *, plan: MaintenancePlan) -> MaintenancePlan:
    """Stop a plan; it and the tickets it made stay on record."""
    plan.active = False
    plan.updated_at = utcnow()
    session.flush()
    return plan


def assets_of(session: Session, *, plan: MaintenancePlan) -> list[Asset]:
    """The assets a plan covers: its own, or every asset of its model."""
    if plan.asset_id is not None:
        asset = session.get(Asset, plan.asset_id)
        return [asset] if asset is not None else []
    return list(
        session.scalars(select(Asset).where(Asset.model_id == plan.model_id).order_by(Asset.id))
    )


def occurrences(
    session: Session, *, plan_id: int, asset_id: int | None = None
) -> list[MaintenanceOccurrence]:
    """The occurrences a plan has made, oldest due first."""
    stmt = select(MaintenanceOccurrence).where(MaintenanceOccurrence.plan_id == plan_id)
    if asset_id is not None:
        stmt = stmt.where(MaintenanceOccurrence.asset_id == asset_id)
    return list(
        session.scalars(stmt.order_by(MaintenanceOccurrence.due_date, MaintenanceOccurrence.id))
    )


def made_keys(session: Session, *, plan_id: int) -> set[tuple[int, str]]:
    """(asset id, due key) of every occurrence the plan has made."""
    rows = session.execute(
        select(MaintenanceOccurrence.asset_id, MaintenanceOccurrence.due_key).where(
            MaintenanceOccurrence.plan_id == plan_id
        )
    )
    return {(a, k) for a, k in rows}


# --- usage readings -----------------------------------------------------------------------


def add_reading(
    session: Session,
    *,
    asset: Asset,
    value: Decimal,
    actor: str,
    read_at: datetime | None = None,
    now: datetime | None = None,
) -> UsageReading:
    """Record a counter reading; a counter only goes up, and a reading cannot be from later."""
    now = now or utcnow()
    read_at = read_at or now
    value = Decimal(value).quantize(Decimal("0.01"))
    if read_at > now + timedelta(minutes=5):
        raise Invalid("maintenance.reading_in_future", field="read_at")
    before = session.scalars(
        select(UsageReading)
        .where(UsageReading.asset_id == asset.id, UsageReading.read_at <= read_at)
        .order_by(UsageReading.read_at.desc(), UsageReading.id.desc())
    ).first()
    after = session.scalars(
        select(UsageReading)
        .where(UsageReading.asset_id == asset.id, UsageReading.read_at > read_at)
        .order_by(UsageReading.read_at, UsageReading.id)
    ).first()
    if (before is not None and value < before.value) or (after is not None and value > after.value):
        raise Invalid("maintenance.reading_decreasing", field="value")
    reading = UsageReading(
        asset_id=asset.id, value=value, read_at=read_at, actor=actor, created_at=now
    )
    session.add(reading)
    session.flush()
    return reading


def readings(session: Session, *, asset_id: int, limit: int = 100) -> list[UsageReading]:
    """The asset's latest readings, newest first."""
    return list(
        session.scalars(
            select(UsageReading)
            .where(UsageReading.asset_id == asset_id)
            .order_by(UsageReading.read_at.desc(), UsageReading.id.desc())
            .limit(limit)
        )
    )


# --- when a plan is due -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Due:
    """One occurrence of a plan on an asset: its key (what makes it unique) and its day."""

    key: str
    day: date


def _nth(anchor: date, kind: str, every: int, k: int) -> date:
    # From the anchor each time, so 31 January + 1, 2 months is 28 February, 31 March.
    if kind == "days":
        return anchor + timedelta(days=every * k)
    return anchor + relativedelta(months=every * k)


def calendar_dues(
    *, anchor: date, kind: str, every: int, start: date, end: date, today: date
) -> list[Due]:
    """The occurrences anchor + k·interval (k ≥ 1) from `start` to `end`, except that of
    those already past (before `today`) only the latest is kept: a missed run makes one
    overdue ticket, not one per missed interval."""
    if end < start:
        return []
    # Jump close to `start` instead of walking from the anchor one interval at a time.
    if kind == "days":
        k = max(1, (start - anchor).days // every)
    else:
        months = (start.year - anchor.year) * 12 + start.month - anchor.month
        k = max(1, months // every - 1)
    while k > 1 and _nth(anchor, kind, every, k - 1) >= start:
        k -= 1
    out: list[date] = []
    while True:
        try:
            day = _nth(anchor, kind, every, k)
        except (OverflowError, ValueError):
            break
        if day > end:
            break
        if day >= start:
            out.append(day)
        k += 1
    past = [d for d in out if d < today]
    kept = past[-1:] + [d for d in out if d >= today]
    return [Due(key=d.isoformat(), day=d) for d in kept]


def _value_before(session: Session, *, asset_id: int, moment: datetime) -> Decimal:
    value = session.scalar(
        select(UsageReading.value)
        .where(UsageReading.asset_id == asset_id, UsageReading.read_at < moment)
        .order_by(UsageReading.read_at.desc(), UsageReading.id.desc())
        .limit(1)
    )
    return Decimal(value) if value is not None else Decimal("0")


def usage_dues(
    session: Session, *, plan: MaintenancePlan, asset: Asset, now: datetime, horizon_days: int
) -> list[Due]:
    """The usage occurrence due now or, projected at the recent rate of use, within the
    horizon. Occurrences sit at multiples of the threshold; the counter's value before the
    plan took effect is the baseline, so a plan added to a well-used asset starts from there.
    """
    every = Decimal(plan.interval_value)
    start = day_start(plan.effective_from)
    recent = list(
        session.scalars(
            select(UsageReading)
            .where(UsageReading.asset_id == asset.id, UsageReading.read_at <= now)
            .order_by(UsageReading.read_at.desc(), UsageReading.id.desc())
            .limit(200)
        )
    )
    if not recent or recent[0].read_at < start:
        return []
    latest = recent[0]
    baseline = _value_before(session, asset_id=asset.id, moment=start)
    first = int(baseline // every) + 1  # the first multiple this plan is responsible for
    reached = int(Decimal(latest.value) // every)
    if reached >= first:
        mark = reached * every
        return [Due(key=f"usage:{mark.normalize():f}", day=local_day(latest.read_at))]
    # Not reached yet: project the rate of use over the recent readings.
    window = [r for r in recent if r.read_at >= latest.read_at - RATE_WINDOW]
    oldest = window[-1]
    span_days = (latest.read_at - oldest.read_at).total_seconds() / 86400
    used = Decimal(latest.value) - Decimal(oldest.value)
    if span_days <= 0 or used <= 0:
        return []
    rate = float(used) / span_days
    mark = first * every
    days_to_go = math.ceil(float(mark - Decimal(latest.value)) / rate)
    due = local_day(latest.read_at) + timedelta(days=days_to_go)
    if due > local_day(now) + timedelta(days=horizon_days):
        return []
    return [Due(key=f"usage:{mark.normalize():f}", day=max(due, local_day(now)))]


def dues(
    session: Session, *, plan: MaintenancePlan, asset: Asset, now: datetime, horizon_days: int
) -> list[Due]:
    """Every occurrence of the plan on the asset that should have its ticket by now."""
    if plan.interval_kind == "usage":
        return usage_dues(session, plan=plan, asset=asset, now=now, horizon_days=horizon_days)
    today = local_day(now)
    anchor = plan.starts_on or asset.install_date or plan.effective_from
    return calendar_dues(
        anchor=anchor,
        kind=plan.interval_kind,
        every=plan.interval_value,
        start=plan.effective_from,
        end=today + timedelta(days=horizon_days),
        today=today,
    )


# --- what is coming up --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Upcoming:
    """One occurrence from today on (or overdue): the ticket opened for it, if any yet."""

    plan: MaintenancePlan
    asset: Asset
    day: date
    ticket: Ticket | None


def upcoming(
    session: Session,
    *,
    now: datetime,
    days: int,
    plan_id: int | None = None,
    limit: int = 200,
) -> list[Upcoming]:
    """Occurrences of the active plans (or of one plan) due within `days` of today, soonest
    first: those whose maintenance tickets were already opened ahead of time, and those the
    scheduler will open (with an overdue one a missed run left)."""
    today = local_day(now)
    end = today + timedelta(days=days)
    stmt = select(MaintenancePlan).order_by(MaintenancePlan.id)
    stmt = (
        stmt.where(MaintenancePlan.id == plan_id)
        if plan_id is not None
        else stmt.where(MaintenancePlan.active.is_(True))
    )
    out: list[Upcoming] = []
    for plan in session.scalars(stmt).all():
        made = {(o.asset_id, o.due_key): o for o in occurrences(session, plan_id=plan.id)}
        shown: set[tuple[int, str]] = set()
        assets = {a.id: a for a in assets_of(session, plan=plan)}
        if plan.active:
            for asset in assets.values():
                for due in dues(session, plan=plan, asset=asset, now=now, horizon_days=days):
                    occurrence = made.get((asset.id, due.key))
                    ticket = (
                        session.get(Ticket, occurrence.ticket_id)
                        if occurrence is not None and occurrence.ticket_id is not None
                        else None
                    )
                    out.append(Upcoming(plan=plan, asset=asset, day=due.day, ticket=ticket))
                    shown.add((asset.id, due.key))
        # Tickets already opened for this window that today's projection no longer names
        # (a usage plan whose rate changed, a plan stopped since) are still coming up.
        for key, occurrence in made.items():
            if key in shown or not today <= occurrence.due_date <= end:
                continue
            unit = assets.get(occurrence.asset_id) or session.get(Asset, occurrence.asset_id)
            if unit is None:
                continue
            ticket = (
                session.get(Ticket, occurrence.ticket_id)
                if occurrence.ticket_id is not None
                else None
            )
            out.append(Upcoming(plan=plan, asset=unit, day=occurrence.due_date, ticket=ticket))
    out.sort(key=lambda u: (u.day, u.plan.id, u.asset.id))
    return out[:limit]
