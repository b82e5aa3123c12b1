"""Dispatch reads and writes: tickets and engineers as `Job`s and `Worker`s, loads, first-time-fix
history, positions, planned visits, and the ticket lock that makes assigning race-free."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.orm import Session

from portal.assets.models import Asset
from portal.customers.models import CustomerAddress
from portal.database import utcnow
from portal.dispatch.models import DispatchVisit, EngineerPosition
from portal.dispatch.scoring import (
    FIELD_TYPES,
    DispatchSettings,
    Job,
    Ranked,
    Worker,
    rank,
    sla_pressure,
)
from portal.errors import Invalid, NotFound
from portal.intake.windows import DAY_PARTS, read_canonical
from portal.masterdata.service import required_for, valid_certificates
from portal.networks import attendance
from portal.networks.models import Engineer, EngineerSkill, ServiceNetwork
from portal.networks.service import networks_in
from portal.places.centroids import centroid
from portal.places.service import Place, city_key, city_spellings, covers, district_key, normalise
from portal.tickets import service as ticket_service
from portal.tickets.models import Ticket, TicketEvent

# An engineer's open work: these statuses fill a day's capacity.
ASSIGNED_OPEN = ("dispatched", "engineer_accepted", "departed", "arrived")
ASSIGN_ACTIONS = ("dispatch", "reassign")
DONE_ACTION = "complete"


# --- days and windows ---------------------------------------------------------------------


def local_day(moment: datetime, settings: DispatchSettings) -> date:
    """The calendar day of `moment` where the service happens."""
    return moment.astimezone(ZoneInfo(settings.zone)).date()


def default_visit_day(now: datetime, settings: DispatchSettings) -> date:
    """Today, or tomorrow once the same-day cutoff has passed."""
    local = now.astimezone(ZoneInfo(settings.zone))
    return local.date() + timedelta(days=1 if local.time() >= settings.same_day_cutoff else 0)


def asked_day(ticket: Ticket, now: datetime, settings: DispatchSettings) -> date | None:
    """The day the customer asked for (the window the intake, the bot or /my stored) while
    it is still ahead; None when they named no day, or one that is over."""
    asked = read_canonical(str((ticket.details or {}).get("preferred_time", "")))
    if asked is None:
        return None
    day = asked.start.astimezone(ZoneInfo(settings.zone)).date()
    return day if day >= local_day(now, settings) else None


def visit_day(ticket: Ticket, now: datetime, settings: DispatchSettings) -> date:
    """The day to book a visit on: the day the customer asked for while it is still ahead,
    else today, or tomorrow once the cutoff has passed."""
    return asked_day(ticket, now, settings) or default_visit_day(now, settings)


def check_customer_day(
    ticket: Ticket, day: date, now: datetime, settings: DispatchSettings
) -> None:
    """A visit is booked on the day the customer asked for, never silently on another: the
    desk changes the customer's time (with them) first."""
    asked = asked_day(ticket, now, settings)
    if asked is not None and asked != day:
        raise Invalid(
            "dispatch.not_customer_day",
            field="day",
            number=ticket.number,
            day=day.isoformat(),
            asked=asked.isoformat(),
        )


def check_visit_day(day: date, now: datetime, settings: DispatchSettings) -> None:
    """A visit is booked for today or later, never for a day that is over."""
    if day < local_day(now, settings):
        raise Invalid("dispatch.past_day", field="day", day=day.isoformat())


_SPAN = re.compile(
    r"(\d{1,2})(?:[:：点](\d{2})?)?\s*(?:-|~|－|—|到|至)\s*(\d{1,2})(?:[:：点](\d{2})?)?"
)


def parse_window(preferred: str) -> tuple[time, time] | None:
    """The local visit window in a customer's words ("下午", "14:00-16:00", "9点到11点") or as
    the intake stored it ("2026-11-24 13:00-18:00"); parts of the day as DAY_PARTS says.

    Only the time of day is read; which day is the caller's choice. None: any time.
    """
    text_ = preferred.strip()
    if not text_:
        return None
    stored = read_canonical(text_)
    if stored is not None:
        return stored.start.time(), stored.end.time()
    m = _SPAN.search(text_)
    if m:
        h1, m1, h2, m2 = (int(g) if g else 0 for g in m.groups())
        if "下午" in text_ or "晚上" in text_:
            h1, h2 = (h + 12 if h < 12 else h for h in (h1, h2))
        if 0 <= h1 < 24 and 0 <= h2 < 24 and (h1, m1) < (h2, m2) and m1 < 60 and m2 < 60:
            return time(h1, m1), time(h2, m2)
    for part in DAY_PARTS:
        if part.word in text_:
            return part.start, part.end
    return None


# --- tickets as jobs ----------------------------------------------------------------------


def get_engineer(session: Session, *, engineer_id: int) -> Engineer:
    """An engineer by id, or 404."""
    engineer = session.get(Engineer, engineer_id)
    if engineer is None:
        raise NotFound("object.engineer")
    return engineer


def ticket_category(session: Session, *, ticket: Ticket) -> str:
    """The product category skills are matched on: the asset's, else the ticket's product."""
    if ticket.asset_id is not None:
        asset = session.get(Asset, ticket.asset_id)
        if asset is not None:
            return asset.model.product.category
    return ticket.product


def ticket_place(ticket: Ticket) -> Place:
    """Where the ticket is, in official names: as recorded at intake, else read from its city,
    district and address (tickets from before the names were recorded)."""
    if ticket.place_city:
        return Place(ticket.place_province, ticket.place_city, ticket.place_district)
    address = "" if ticket.city and ticket.district else ticket.address  # only for the blanks
    return normalise(city=ticket.city, district=ticket.district, address=address)


def check_field_service(ticket: Ticket) -> None:
    """Raise unless the ticket is a kind that needs an engineer on site."""
    if ticket.type not in FIELD_TYPES:
        raise Invalid("dispatch.not_field_service", field="type", type=ticket.type)


def _coords(lat: Decimal | None, lng: Decimal | None) -> tuple[float, float] | None:
    return (float(lat), float(lng)) if lat is not None and lng is not None else None


def locate(session: Session, tickets: Iterable[Ticket]) -> dict[int, tuple[float, float] | None]:
    """Where each ticket's visit is: its asset's address, else the customer's address that
    matches the ticket's, else one in the same district, else the centre of the ticket's
    district (or city) from the centroids shipped with the portal; None when not even the
    city is known."""
    tickets = list(tickets)
    asset_ids = {t.asset_id for t in tickets if t.asset_id is not None}
    by_asset: dict[int, tuple[float, float] | None] = {}
    if asset_ids:
        rows = session.execute(
            select(Asset.id, CustomerAddress.lat, CustomerAddress.lng)
            .join(CustomerAddress, Asset.address_id == CustomerAddress.id)
            .where(Asset.id.in_(asset_ids))
        )
        by_asset = {aid: _coords(lat, lng) for aid, lat, lng in rows}
    out: dict[int, tuple[float, float] | None] = {}
    for t in tickets:
        spot = by_asset.get(t.asset_id) if t.asset_id is not None else None
        if spot is None:
            addresses = [a for a in t.customer.addresses if a.lat is not None and a.lng is not None]
            exact = [a for a in addresses if t.address and a.full == t.address]
            near = [a for a in addresses if a.city == t.city and a.district == t.district]
            near.sort(key=lambda a: (not a.is_default, a.id))
            pick = exact or near
            spot = _coords(pick[0].lat, pick[0].lng) if pick else None
        if spot is None:
            area = centroid(ticket_place(t))
            spot = (area.lat, area.lng) if area is not None else None
        out[t.id] = spot
    return out


def estimated_origin(
    *, home_base: str, network: ServiceNetwork
) -> tuple[tuple[float, float] | None, str]:
    """Where an engineer without coordinates starts, and which estimate it is: the centre of
    the district of their home address, else the network's site, else the centre of the
    network's district (one covered) or city."""
    home = centroid(normalise(city=network.city, address=home_base)) if home_base else None
    if home is not None and home.level == "district":
        return (home.lat, home.lng), "district"
    site = _coords(network.lat, network.lng)
    if site is not None:
        return site, "network"
    coverage = list(network.coverage or [])
    area = home or centroid(
        normalise(city=network.city, district=str(coverage[0]) if len(coverage) == 1 else "")
    )
    if area is None:
        return None, "unknown"
    return (area.lat, area.lng), area.level


def rejecters(ticket: Ticket) -> frozenset[int]:
    """Engineers who rejected the ticket, read from its events (the engineer then holding it)."""
    holder: int | None = None
    out: set[int] = set()
    for event in sorted(ticket.events, key=lambda e: e.id or 0):
        if event.action in ASSIGN_ACTIONS:
            holder = event.payload.get("engineer_id")
        elif event.action == "engineer_reject":
            who = event.payload.get("engineer_id", holder)
            if who is not None:
                out.add(int(who))
            holder = None
    return frozenset(out)


def ticket_version(session: Session, *, ticket_id: int) -> int:
    """The ticket's version: how many lifecycle events it has (every status change adds one)."""
    return (
        session.scalar(select(func.count(TicketEvent.id)).where(TicketEvent.ticket_id == ticket_id))
        or 0
    )


def ticket_versions(session: Session, *, ticket_ids: Collection[int]) -> dict[int, int]:
    """Versions of many tickets."""
    if not ticket_ids:
        return {}
    rows = session.execute(
        select(TicketEvent.ticket_id, func.count(TicketEvent.id))
        .where(TicketEvent.ticket_id.in_(list(ticket_ids)))
        .group_by(TicketEvent.ticket_id)
    )
    return {tid: n for tid, n in rows}


def lock_ticket(session: Session, *, ticket_id: int) -> Ticket:
    """The ticket, freshly read and locked until this transaction ends.

    PostgreSQL: `SELECT … FOR UPDATE OF tickets`; a second dispatcher waits here until the
    first commits and then reads the committed row. SQLite has no row locks: a no-op write
    takes the database's single write lock at once (the driver begins the transaction on the
    first write; reads before it hold no snapshot), so the second waits (busy_timeout) and then
    reads what the first committed. Either way, the version check that follows sees it.
    """
    stmt = select(Ticket).where(Ticket.id == ticket_id)
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text("UPDATE tickets SET status = status WHERE id = :id"), {"id": ticket_id}
        )
    else:
        stmt = stmt.with_for_update(of=Ticket)
    ticket = session.scalars(stmt.execution_options(populate_existing=True)).first()
    if ticket is None:
        raise NotFound("object.ticket")
    return ticket


def job_for(
    session: Session,
    *,
    ticket: Ticket,
    now: datetime,
    settings: DispatchSettings,
    network_id: int | None = None,
    location: tuple[float, float] | None = None,
    located: bool = False,
) -> Job:
    """The ticket as dispatch sees it. `network_id`: only that network's engineers."""
    if not located:
        location = locate(session, [ticket])[ticket.id]
    if network_id is None and ticket.status == "dispatched" and ticket.engineer_id is None:
        network_id = ticket.network_id  # dispatched to a network: it assigns its own engineers
    place = ticket_place(ticket)
    category = ticket_category(session, ticket=ticket)
    return Job(
        id=ticket.id,
        number=ticket.number,
        category=category,
        service_type=ticket.type,
        city=place.city,
        district=place.district,
        lat=location[0] if location else None,
        lng=location[1] if location else None,
        urgency=ticket.urgency,
        tier=ticket.customer.tier if ticket.customer else "normal",
        pressure=sla_pressure(
            urgency=ticket.urgency, created_at=ticket.created_at, now=now, settings=settings
        ),
        window=parse_window(str(ticket.details.get("preferred_time", ""))),
        network_id=network_id,
        excluded=rejecters(ticket),
        current=ticket.engineer_id,
        requires=required_for(session, category=category, service_type=ticket.type),
    )


# --- engineers as workers -----------------------------------------------------------------


def _event_days(
    session: Session, *, ticket_ids: Collection[int], settings: DispatchSettings
) -> dict[int, date]:
    """The local day of each ticket's last dispatch or reassign (for visits never planned)."""
    if not ticket_ids:
        return {}
    rows = session.execute(
        select(TicketEvent.ticket_id, func.max(TicketEvent.created_at))
        .where(TicketEvent.ticket_id.in_(list(ticket_ids)), TicketEvent.action.in_(ASSIGN_ACTIONS))
        .group_by(TicketEvent.ticket_id)
    )
    out: dict[int, date] = {}
    for tid, at in rows:
        if at is not None:
            if at.tzinfo is None:  # SQLite returns aggregates without the column's type
                at = datetime.fromisoformat(str(at)).replace(tzinfo=ZoneInfo("UTC"))
            out[tid] = local_day(at, settings)
    return out


def day_tickets(
    session: Session,
    *,
    engineer_ids: Collection[int] | None = None,
    network_ids: Collection[int] | None = None,
    day: date,
    settings: DispatchSettings,
) -> dict[int, list[int]]:
    """Open assigned tickets by engineer whose visit falls on `day`.

    The day is the planned visit's; for a ticket assigned without one (through the ticket
    API), the day it was assigned.
    """
    stmt = (
        select(Ticket.id, Ticket.engineer_id, DispatchVisit.engineer_id, DispatchVisit.visit_date)
        .outerjoin(DispatchVisit, DispatchVisit.ticket_id == Ticket.id)
        .where(Ticket.status.in_(ASSIGNED_OPEN), Ticket.engineer_id.is_not(None))
    )
    if engineer_ids is not None:
        stmt = stmt.where(Ticket.engineer_id.in_(list(engineer_ids)))
    if network_ids is not None:
        stmt = stmt.where(
            Ticket.engineer_id.in_(
                select(Engineer.id).where(Engineer.network_id.in_(list(network_ids)))
            )
        )
    rows = session.execute(stmt).all()
    unplanned = [tid for tid, eng, v_eng, v_day in rows if v_day is None or v_eng != eng]
    fallback = _event_days(session, ticket_ids=unplanned, settings=settings)
    out: dict[int, list[int]] = defaultdict(list)
    for tid, eng, v_eng, v_day in rows:
        when = v_day if v_day is not None and v_eng == eng else fallback.get(tid)
        if when == day and eng is not None:
            out[eng].append(tid)
    return out


def ftf_history(
    session: Session,
    *,
    network_ids: Collection[int],
    categories: Collection[str],
    settings: DispatchSettings,
) -> dict[tuple[int, str], tuple[int, int]]:
    """(engineer, category) → (first-time fixes, completed repairs), as the boards count
    first-time fix: a completed repair is one unless it was reopened, or another repair of the
    same asset (or, without an asset, of the same customer and product) was opened within
    `ftf_window_days` after its completion. Installations, maintenance, consultations and
    complaints neither count nor make a repeat (a tester found every engineer at 30–60 % on
    the desk and 80–100 % on the people board)."""
    if not network_ids or not categories:
        return {}
    done_at = func.max(TicketEvent.created_at)
    rows = session.execute(
        select(
            Ticket.id,
            Ticket.engineer_id,
            Ticket.product,
            Ticket.asset_id,
            Ticket.customer_id,
            Ticket.reopen_count,
            done_at,
        )
        .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .where(
            TicketEvent.action == DONE_ACTION,
            Ticket.type == "repair",
            Ticket.product.in_(list(categories)),
            Ticket.engineer_id.in_(
                select(Engineer.id).where(Engineer.network_id.in_(list(network_ids)))
            ),
        )
        .group_by(
            Ticket.id,
            Ticket.engineer_id,
            Ticket.product,
            Ticket.asset_id,
            Ticket.customer_id,
            Ticket.reopen_count,
        )
    ).all()
    if not rows:
        return {}
    customers = {r[4] for r in rows}
    later: dict[int, list[tuple[int, int | None, str, datetime]]] = defaultdict(list)
    for tid, asset_id, customer_id, product, created in session.execute(
        select(
            Ticket.id, Ticket.asset_id, Ticket.customer_id, Ticket.product, Ticket.created_at
        ).where(Ticket.customer_id.in_(list(customers)), Ticket.type == "repair")
    ):
        later[customer_id].append((tid, asset_id, product, created))
    window = timedelta(days=settings.ftf_window_days)
    out: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for tid, engineer_id, product, asset_id, customer_id, reopens, finished in rows:
        if finished.tzinfo is None:
            finished = datetime.fromisoformat(str(finished)).replace(tzinfo=ZoneInfo("UTC"))
        repeat = reopens > 0 or any(
            other != tid
            and finished < created <= finished + window
            and (
                other_asset == asset_id
                if asset_id is not None and other_asset is not None
                else other_product == product
            )
            for other, other_asset, other_product, created in later[customer_id]
        )
        if engineer_id is None:  # pragma: no cover - the query only finds assigned tickets
            continue
        tally = out[(engineer_id, product)]
        tally[1] += 1
        tally[0] += 0 if repeat else 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def workers_for(
    session: Session,
    *,
    cities: Collection[str],
    day: date,
    now: datetime,
    settings: DispatchSettings,
    categories: Collection[str] = (),
    network_id: int | None = None,
    district: str | None = None,
    at_work_now: bool = False,
) -> list[Worker]:
    """Engineers of the networks in these cities (or of one network) as they stand on `day`.

    In a network that dispatches by attendance (考勤派单), only engineers checked in today are
    present for today's work; with `at_work_now` (automatic dispatch, whose engineer must
    answer now) for any day's. With `district`, only networks that cover it. Cities and
    districts are compared in official names (portal.places), and the workers carry those
    names. Rows are read as plain tuples, not ORM objects: one decision looks at up to
    thousands of engineers.
    """
    if network_id is not None:
        nets_stmt = select(ServiceNetwork).where(ServiceNetwork.id == network_id)
    else:
        nets_stmt = select(ServiceNetwork).where(
            ServiceNetwork.id.in_(networks_in(session, cities=cities))
        )
    places = [normalise(city=city, district=district or "") for city in cities]
    networks = {
        n.id: n
        for n in session.scalars(nets_stmt)
        if district is None
        or any(covers(city=n.city, coverage=n.coverage or (), place=p) for p in places)
    }
    if not networks:
        return []
    net_ids = list(networks)
    mine = select(Engineer.id).where(Engineer.network_id.in_(net_ids))
    engineers = session.execute(
        select(
            Engineer.id,
            Engineer.name,
            Engineer.network_id,
            Engineer.home_lat,
            Engineer.home_lng,
            Engineer.work_start,
            Engineer.work_end,
            Engineer.daily_capacity,
            Engineer.on_duty,
            Engineer.home_base,
        )
        .where(Engineer.network_id.in_(net_ids))
        .order_by(Engineer.id)
    ).all()
    skills: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
    for eid, category, service_type, level in session.execute(
        select(
            EngineerSkill.engineer_id,
            EngineerSkill.product_category,
            EngineerSkill.service_type,
            EngineerSkill.level,
        ).where(EngineerSkill.engineer_id.in_(mine))
    ):
        skills[eid][(category, service_type)] = level
    today = local_day(now, settings) == day
    fresh_after = now - timedelta(minutes=settings.position_max_age_minutes)
    positions: dict[int, tuple[float, float]] = {}
    if today:
        for eid, lat, lng in session.execute(
            select(EngineerPosition.engineer_id, EngineerPosition.lat, EngineerPosition.lng).where(
                EngineerPosition.engineer_id.in_(mine),
                EngineerPosition.reported_at >= fresh_after,
            )
        ):
            positions[eid] = (float(lat), float(lng))
    booked = day_tickets(session, network_ids=net_ids, day=day, settings=settings)
    history = ftf_history(session, network_ids=net_ids, categories=categories, settings=settings)
    certified = valid_certificates(session, engineer_ids=[row[0] for row in engineers], on=day)
    # 考勤派单: today, a network that asks for it gives work only to engineers checked in.
    checked_in = (
        attendance.present(
            session,
            engineer_ids=[row[0] for row in engineers],
            day=local_day(now, settings),
        )
        if today or at_work_now
        else None
    )
    workers: list[Worker] = []
    for eid, name, nid, home_lat, home_lng, start, end, capacity, on_duty, base in engineers:
        net = networks[nid]
        spot, source = positions.get(eid), "current"
        if spot is None:
            spot, source = _coords(home_lat, home_lng), "home"
        if spot is None:
            spot, source = estimated_origin(home_base=base, network=net)
        workers.append(
            Worker(
                id=eid,
                name=name,
                network_id=nid,
                network_name=net.name,
                network_auto=net.auto_dispatch,
                city=city_key(net.city),
                coverage=tuple(district_key(str(d), city=net.city) for d in net.coverage or ()),
                skills=skills.get(eid, {}),
                lat=spot[0] if spot else None,
                lng=spot[1] if spot else None,
                position_source=source,
                work_start=start,
                work_end=end,
                on_duty=on_duty,
                present=checked_in is None or not net.attendance or eid in checked_in,
                capacity=capacity,
                load=len(booked.get(eid, ())),
                ftf={cat: history[(eid, cat)] for cat in categories if (eid, cat) in history},
                certificates=certified.get(eid, frozenset()),
            )
        )
    return workers


def candidates(
    session: Session,
    *,
    ticket: Ticket,
    day: date,
    now: datetime,
    settings: DispatchSettings,
    network_id: int | None = None,
    at_work_now: bool = False,
) -> tuple[Job, list[Ranked], list[tuple[Worker, str]]]:
    """The ticket's candidates on `day`, best first, and the other engineers of the networks
    that cover its address with the reason each was left out (`at_work_now`: see
    `workers_for`)."""
    check_field_service(ticket)
    job = job_for(session, ticket=ticket, now=now, settings=settings, network_id=network_id)
    workers = workers_for(
        session,
        cities=[job.city],
        day=day,
        now=now,
        settings=settings,
        categories=[job.category],
        network_id=network_id,
        district=job.district,
        at_work_now=at_work_now,
    )
    ranked, excluded = rank(job, workers, settings)
    return job, ranked, excluded


# --- the queue, visits and positions ------------------------------------------------------


def queue(
    session: Session, *, network_id: int | None = None, handed_over_only: bool = False
) -> list[Ticket]:
    """Tickets waiting for an engineer: accepted and unassigned, or with a network that has
    not yet assigned one; field service only, oldest first.

    With `network_id`: the network's own, and accepted ones in its coverage unless
    `handed_over_only` (a network manager sees only what was dispatched to the network).
    """
    stmt = select(Ticket).where(ticket_service.waiting_for_engineer())
    if network_id is not None:
        net = session.get(ServiceNetwork, network_id)
        if net is None:
            raise NotFound("object.network")
        if handed_over_only:
            stmt = stmt.where(Ticket.network_id == network_id)
        else:
            # The network's city however a ticket spells it; coverage is checked below.
            in_city = or_(
                Ticket.place_city == city_key(net.city),
                Ticket.city.in_(list(city_spellings(net.city))),
            )
            stmt = stmt.where(
                or_(Ticket.network_id == network_id, (Ticket.status == "accepted") & in_city)
            )
        rows = [
            t
            for t in session.scalars(stmt.order_by(Ticket.created_at, Ticket.id))
            if t.network_id == network_id
            or covers(city=net.city, coverage=net.coverage or (), place=ticket_place(t))
        ]
        return rows
    return list(session.scalars(stmt.order_by(Ticket.created_at, Ticket.id)))


def set_visit(
    session: Session,
    *,
    ticket_id: int,
    engineer_id: int,
    day: date,
    source: str,
    sequence: int | None = None,
    eta: datetime | None = None,
) -> DispatchVisit:
    """Book the ticket's visit with this engineer on this day (replacing an earlier one)."""
    visit = session.scalars(
        select(DispatchVisit).where(DispatchVisit.ticket_id == ticket_id)
    ).first()
    if visit is None:
        visit = DispatchVisit(ticket_id=ticket_id, created_at=utcnow())
        session.add(visit)
    visit.engineer_id, visit.visit_date, visit.source = engineer_id, day, source
    visit.sequence, visit.eta, visit.updated_at = sequence, eta, utcnow()
    session.flush()
    return visit


def follow_customer_window(
    session: Session, *, ticket: Ticket, zone: str = "Asia/Shanghai"
) -> None:
    """The customer moved their window (/my, the bot, the agent console): a booked visit
    moves to the new day with no order and no ETA, so it leaves the old day's published
    route and waits to be planned on the new day with the same engineer."""
    visit = session.scalars(
        select(DispatchVisit).where(DispatchVisit.ticket_id == ticket.id)
    ).first()
    asked = read_canonical(str((ticket.details or {}).get("preferred_time", "")))
    if visit is None or asked is None:
        return
    visit.visit_date = asked.start.astimezone(ZoneInfo(zone)).date()
    visit.sequence, visit.eta, visit.updated_at = None, None, utcnow()
    session.flush()


def drop_visit(session: Session, *, ticket_id: int) -> None:
    """Forget the ticket's booked visit."""
    session.execute(delete(DispatchVisit).where(DispatchVisit.ticket_id == ticket_id))
    session.flush()


def visits_of(session: Session, *, ticket_ids: Collection[int]) -> dict[int, DispatchVisit]:
    """Booked visits by ticket id."""
    if not ticket_ids:
        return {}
    rows = session.scalars(
        select(DispatchVisit).where(DispatchVisit.ticket_id.in_(list(ticket_ids)))
    )
    return {v.ticket_id: v for v in rows}


def report_position(
    session: Session, *, engineer_id: int, lat: Decimal, lng: Decimal, at: datetime | None = None
) -> EngineerPosition:
    """Record where the engineer is now."""
    position = session.get(EngineerPosition, engineer_id)
    if position is None:
        position = EngineerPosition(engineer_id=engineer_id)
        session.add(position)
    position.lat, position.lng, position.reported_at = lat, lng, at or utcnow()
    session.flush()
    return position


def origin_of(
    session: Session,
    *,
    engineer: Engineer,
    day: date,
    now: datetime,
    settings: DispatchSettings,
) -> tuple[tuple[float, float] | None, str]:
    """Where the engineer's day (or the rest of today) starts, and which position that is."""
    if local_day(now, settings) == day:
        pos = session.get(EngineerPosition, engineer.id)
        fresh_after = now - timedelta(minutes=settings.position_max_age_minutes)
        if pos is not None and pos.reported_at >= fresh_after:
            return _coords(pos.lat, pos.lng), "current"
    home = _coords(engineer.home_lat, engineer.home_lng)
    if home is not None:
        return home, "home"
    return estimated_origin(home_base=engineer.home_base, network=engineer.network)
