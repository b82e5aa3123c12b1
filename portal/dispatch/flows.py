"""Dispatch work that spans domains: assigning (tickets' lifecycle, parts), rejecting and
offering the next candidate, automatic dispatch after acceptance, day plans and routes.

Every assignment goes through `_assign_locked`: the ticket is locked (`service.lock_ticket`),
its version compared with the one the caller saw, and only then moved by
`tickets.service.transition` — so of two dispatchers assigning the same ticket at once exactly
one wins and the other gets a 409.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.database import utcnow
from portal.dispatch import policies, service
from portal.dispatch.parts import PartLine, PartsPlanner, Reservation
from portal.dispatch.planning import Leg, Plan, Stop, build, order_stops, schedule, solve
from portal.dispatch.scoring import DispatchSettings, Job, Ranked, Worker
from portal.errors import Conflict, Forbidden, Invalid, NotFound, PortalError
from portal.i18n import Term, both, t
from portal.networks.models import Engineer, ServiceNetwork
from portal.notifications import flows as notify
from portal.notifications import service as outbox
from portal.places.service import city_key
from portal.security import Principal, Role
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket, TicketEvent
from portal.tickets.schemas import TransitionRequest

log = logging.getLogger(__name__)
SYSTEM = Principal(kind="service", role=Role.SYSTEM, name="dispatch")
# transition() wants it for "reopen" only; dispatch never reopens.
_REOPEN_WINDOW = timedelta(days=30)
# Statuses in which a ticket has an engineer who may be replaced (改派).
ASSIGNED = ("dispatched", "engineer_accepted")
# The SLA deadlines whose names a reassignment's reason may carry.
SLA_KINDS = ("response", "arrival", "resolution")


@dataclass(slots=True)
class Assigned:
    """What an assignment did."""

    ticket: Ticket
    action: str  # dispatch | reassign
    engineer_id: int | None
    network_id: int | None
    visit_day: date | None
    version: int
    reservation: Reservation = field(default_factory=Reservation)

    @property
    def waiting_parts(self) -> bool:
        """Whether a parts shortage moved the ticket to waiting_parts."""
        return self.reservation.short


@dataclass(slots=True)
class AutoResult:
    """Automatic dispatch: the assignment made, or the best candidate offered to a person."""

    assigned: Assigned | None = None
    offer: Ranked | None = None


@dataclass(slots=True)
class Rejected:
    """An engineer's rejection and what happened next."""

    ticket: Ticket
    rejected_by: int
    next: AutoResult


def _action_for(ticket: Ticket, *, reason: str) -> tuple[str, str]:
    """dispatch or reassign, and the reason the lifecycle records."""
    if ticket.status == "accepted" and ticket.engineer_id is None:
        return "dispatch", reason
    if ticket.status in ("dispatched", "engineer_accepted"):
        if ticket.engineer_id is None:
            # Dispatched to a network that now names its engineer: not a change of mind.
            return "reassign", reason or both("dispatch.network_assigns")[0]
        return "reassign", reason
    raise lifecycle.conflict(ticket, "dispatch")


def _assign_locked(
    session: Session,
    *,
    ticket_id: int,
    seen_version: int,
    principal: Principal,
    engineer_id: int | None,
    network_id: int | None,
    reason: str,
    day: date,
    source: str,
    planner: PartsPlanner | None,
    check: Callable[[Ticket], None] | None = None,
) -> Assigned:
    ticket = service.lock_ticket(session, ticket_id=ticket_id)
    current = service.ticket_version(session, ticket_id=ticket.id)
    if current != seen_version:
        raise Conflict("dispatch.stale_version", current=current, expected=seen_version)
    if ticket.engineer_id is not None and ticket.status in ASSIGNED and not reason:
        holder = session.get(Engineer, ticket.engineer_id)
        raise Conflict("dispatch.already_assigned", engineer=holder.name if holder else "")
    action, reason = _action_for(ticket, reason=reason)
    if check is not None:
        check(ticket)  # under the lock, on the fresh row
    req = TransitionRequest(
        action=action,
        reason=reason,
        engineer_id=engineer_id,
        network_id=None if engineer_id is not None else network_id,
    )
    event = tickets.transition(
        session,
        ticket=ticket,
        req=req,
        principal=principal,
        reopen_window=_REOPEN_WINDOW,
        planner=planner,
    )
    if ticket.engineer_id is not None:
        service.set_visit(
            session, ticket_id=ticket.id, engineer_id=ticket.engineer_id, day=day, source=source
        )
    else:
        service.drop_visit(session, ticket_id=ticket.id)
    return Assigned(
        ticket=ticket,
        action=action,
        engineer_id=ticket.engineer_id,
        network_id=ticket.network_id,
        visit_day=day if ticket.engineer_id is not None else None,
        version=service.ticket_version(session, ticket_id=ticket.id),
        reservation=_shortages_after(ticket, event),
    )


def _shortages_after(ticket: Ticket, event: TicketEvent) -> Reservation:
    """What the parts subscriber could not hold for this assignment: the parts named by the
    `wait_parts` it asked for in answer to it."""
    waits = [e for e in ticket.events if e.action == "wait_parts" and (e.id or 0) > (event.id or 0)]
    if not waits:
        return Reservation()
    named = waits[-1].payload.get("parts") or []
    return Reservation(
        shortages=tuple(
            PartLine(str(p["part_code"]), int(p["quantity"]), str(p.get("name", ""))) for p in named
        )
    )


def _must_be_candidate(
    session: Session,
    locked: Ticket,
    *,
    engineer: Engineer,
    day: date,
    now: datetime,
    settings: DispatchSettings,
    restrict: int | None,
) -> None:
    """Raise, naming the reason, unless the engineer is among the ticket's candidates."""
    _, ranked, excluded = service.candidates(
        session, ticket=locked, day=day, now=now, settings=settings, network_id=restrict
    )
    if any(r.worker.id == engineer.id for r in ranked):
        return
    why = next((r for w, r in excluded if w.id == engineer.id), "coverage")
    raise Invalid(
        "dispatch.not_candidate",
        field="engineer_id",
        engineer=engineer.name,
        reason=Term.key(f"dispatch.excluded.{why}"),
    )


def assign(
    session: Session,
    *,
    ticket: Ticket,
    principal: Principal,
    engineer_id: int | None = None,
    network_id: int | None = None,
    reason: str = "",
    expected_version: int | None = None,
    day: date | None = None,
    now: datetime | None = None,
    settings: DispatchSettings,
    planner: PartsPlanner | None = None,
) -> Assigned:
    """Dispatch (or, when it already has one, reassign with a reason) the ticket to an engineer
    from its candidates, or to a network that will name the engineer itself.

    `expected_version` is the version the dispatcher saw (from the candidates list); without
    it, the version read when the request began is used. Either way a ticket that changed in
    between is a 409.
    """
    now = now or utcnow()
    if day is None:
        day = service.visit_day(ticket, now, settings)
    else:
        service.check_customer_day(ticket, day, now, settings)
    service.check_field_service(ticket)
    seen = (
        expected_version
        if expected_version is not None
        else service.ticket_version(session, ticket_id=ticket.id)
    )
    if engineer_id is None and network_id is None:
        raise Invalid("dispatch.assignee_required", field="engineer_id")
    restrict = policies.network_restriction(principal)
    check: Callable[[Ticket], None] | None = None
    if engineer_id is not None:
        engineer = service.get_engineer(session, engineer_id=engineer_id)
        if network_id is not None and network_id != engineer.network_id:
            raise Invalid("dispatch.engineer_not_in_network", field="network_id")
        if restrict is not None and engineer.network_id != restrict:
            raise Invalid("error.other_network", field="engineer_id")
        check = partial(
            _must_be_candidate,
            session,
            engineer=engineer,
            day=day,
            now=now,
            settings=settings,
            restrict=restrict,
        )
    else:
        net = session.get(ServiceNetwork, network_id)
        if net is None:
            raise Invalid("error.unknown_network", field="network_id")
        if not net.covers(ticket.city, ticket.district):
            raise Invalid("dispatch.network_not_covering", field="network_id", network=net.name)
    return _assign_locked(
        session,
        ticket_id=ticket.id,
        seen_version=seen,
        principal=principal,
        engineer_id=engineer_id,
        network_id=network_id,
        reason=reason,
        day=day,
        source="manual",
        planner=planner,
        check=check,
    )


def auto_dispatch(
    session: Session,
    *,
    ticket: Ticket,
    settings: DispatchSettings,
    planner: PartsPlanner | None = None,
    day: date | None = None,
    now: datetime | None = None,
) -> AutoResult:
    """Give the ticket to its best candidate from a network that dispatches automatically;
    otherwise leave it in the queue and return the best candidate as an offer."""
    now = now or utcnow()
    day = day or service.visit_day(ticket, now, settings)
    seen = service.ticket_version(session, ticket_id=ticket.id)
    ticket = service.lock_ticket(session, ticket_id=ticket.id)
    waiting = ticket.status == "accepted" or (
        ticket.status == "dispatched" and ticket.engineer_id is None
    )
    if ticket.type not in service.FIELD_TYPES or not waiting or ticket.engineer_id is not None:
        return AutoResult()
    # Whoever gets it must answer now: in a network that dispatches by attendance, only an
    # engineer checked in today, whatever the visit day.
    _, ranked, _ = service.candidates(
        session, ticket=ticket, day=day, now=now, settings=settings, at_work_now=True
    )
    if not ranked:
        return AutoResult()
    best_auto = next((r for r in ranked if r.worker.network_auto), None)
    if best_auto is None:
        return AutoResult(offer=ranked[0])
    assigned = _assign_locked(
        session,
        ticket_id=ticket.id,
        seen_version=seen,
        principal=SYSTEM,
        engineer_id=best_auto.worker.id,
        network_id=None,
        reason=both("dispatch.auto_reason")[0],
        day=day,
        source="auto",
        planner=planner,
    )
    return AutoResult(assigned=assigned, offer=best_auto)


# Waiting tickets the scheduler's automatic-dispatch pass looks at, at most, each time.
AUTO_BATCH = 50


def auto_dispatch_waiting(
    session: Session,
    *,
    settings: DispatchSettings,
    now: datetime | None = None,
    limit: int = AUTO_BATCH,
) -> int:
    """The scheduler's pass: every waiting ticket that a network with automatic dispatch
    switched on could serve (its city, or handed to it) goes to its best candidate from such
    a network, oldest first, at most `limit`; returns how many were assigned. A ticket
    dispatch refuses stays in the queue for a person."""
    auto = list(session.scalars(select(ServiceNetwork).where(ServiceNetwork.auto_dispatch)))
    if not auto:
        return 0
    ids = {n.id for n in auto}
    cities = {city_key(n.city) for n in auto}
    waiting = [
        t
        for t in service.queue(session)
        if t.network_id in ids or t.place_city in cities or city_key(t.city or "") in cities
    ]
    assigned = 0
    for ticket in waiting[:limit]:
        try:
            with session.begin_nested():
                result = auto_dispatch(session, ticket=ticket, settings=settings, now=now)
        except PortalError as exc:
            log.info("automatic dispatch left %s for a person: %s", ticket.number, exc.key)
            continue
        assigned += result.assigned is not None
    return assigned


def reject(
    session: Session,
    *,
    ticket: Ticket,
    principal: Principal,
    reason: str,
    settings: DispatchSettings,
    planner: PartsPlanner | None = None,
    day: date | None = None,
    now: datetime | None = None,
) -> Rejected:
    """The assigned engineer turns the ticket down with a reason; it goes back to the queue
    and the next candidate (never one who rejected it) is auto-assigned or offered."""
    if not reason.strip():
        raise Invalid("validation.missing", field="reason")
    ticket = service.lock_ticket(session, ticket_id=ticket.id)
    holder = ticket.engineer_id
    if not policies.may_reject(principal, holder):
        raise Forbidden("dispatch.not_assigned_to_you")
    if holder is None:
        raise lifecycle.conflict(ticket, "engineer_reject")
    tickets.transition(
        session,
        ticket=ticket,
        req=TransitionRequest(action="engineer_reject", reason=reason),
        principal=principal,
        reopen_window=_REOPEN_WINDOW,
    )
    service.drop_visit(session, ticket_id=ticket.id)
    # Let the next dispatcher's version check see this rejection before anything else.
    session.flush()
    nxt = auto_dispatch(
        session, ticket=ticket, settings=settings, planner=planner, day=day, now=now
    )
    return Rejected(ticket=ticket, rejected_by=holder, next=nxt)


def auto_reassign(
    session: Session,
    *,
    ticket: Ticket,
    reason: str,
    settings: DispatchSettings | None = None,
    planner: PartsPlanner | None = None,
    now: datetime | None = None,
) -> Assigned | None:
    """The SLA scheduler's 改派: the engineer missed a deadline (`reason` "sla:<kind>"), so the
    ticket goes to the best other candidate through the usual ranking and the locked,
    version-checked assignment; the engineer it was taken from and the dispatchers are told.

    Today's candidates first (the customer is already waiting), then the next visit day's.
    None, with nothing changed, when the ticket no longer has an engineer to replace or
    nobody else can take it: the escalation ladder carries on with a person.
    """
    now = now or utcnow()
    settings = settings or DispatchSettings()
    seen = service.ticket_version(session, ticket_id=ticket.id)
    ticket = service.lock_ticket(session, ticket_id=ticket.id)
    previous = ticket.engineer_id
    if ticket.status not in ASSIGNED or previous is None:
        return None
    best: Ranked | None = None
    visit_day = today = service.local_day(now, settings)
    # The day the customer asked for, when they did; else today, then the next visit day.
    asked = service.asked_day(ticket, now, settings)
    days = [asked] if asked is not None else [today, service.default_visit_day(now, settings)]
    for day in dict.fromkeys(days):
        # The job excludes the engineer holding it and everyone who rejected it.
        _, ranked, _ = service.candidates(
            session, ticket=ticket, day=day, now=now, settings=settings
        )
        if ranked:
            best, visit_day = ranked[0], day
            break
    if best is None:
        return None
    kind = reason.removeprefix("sla:")
    named = Term.key(f"sla.kind.{kind}") if kind in SLA_KINDS else Term(kind, kind)
    said_zh = t("dispatch.sla_reassign_reason", "zh", kind=named)
    assigned = _assign_locked(
        session,
        ticket_id=ticket.id,
        seen_version=seen,
        principal=SYSTEM,
        engineer_id=best.worker.id,
        network_id=None,
        reason=said_zh,
        day=visit_day,
        source="auto",
        planner=planner,
    )
    params = notify.ticket_params(session, ticket)
    params.update(
        kind=named,
        previous=_engineer_name(session, previous),
        engineer=best.worker.name,
    )
    taken_from = outbox.engineer_user(session, engineer_id=previous)
    notify.notify_staff(
        session,
        user_ids=([taken_from] if taken_from is not None else [])
        + outbox.users_with_role(session, role=Role.DISPATCHER),
        template="sla_reassigned",
        key=f"ticket:{ticket.id}:v{assigned.version}:sla_reassigned",
        params=params,
        ticket_id=ticket.id,
        at=now,
    )
    return assigned


def _engineer_name(session: Session, engineer_id: int) -> str:
    engineer = session.get(Engineer, engineer_id)
    return engineer.name if engineer is not None else ""


# --- day plans and routes -----------------------------------------------------------------


@dataclass(slots=True)
class Route:
    """One engineer's visits of a day in order, with ETAs."""

    engineer: Engineer
    day: date
    origin: tuple[float, float] | None
    origin_source: str
    legs: list[Leg]
    tickets: dict[int, Ticket]

    @property
    def total_km(self) -> float:
        """Great-circle kilometres of the whole route (legs with coordinates)."""
        return round(sum(leg.travel_km or 0.0 for leg in self.legs), 2)


def _route(
    session: Session,
    *,
    engineer: Engineer,
    day: date,
    ticket_ids: list[int],
    now: datetime,
    settings: DispatchSettings,
    keep_order: bool = False,
) -> Route:
    """The route through these tickets: optimised, or in the order given (`keep_order`)."""
    rows = (
        {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids)))}
        if ticket_ids
        else {}
    )
    where = service.locate(session, rows.values())
    stops = [
        Stop(
            id=t.id,
            lat=where[t.id][0] if where[t.id] else None,  # type: ignore[index]
            lng=where[t.id][1] if where[t.id] else None,  # type: ignore[index]
            onsite_minutes=settings.onsite_for(t.type),
            window=service.parse_window(str(t.details.get("preferred_time", ""))),
        )
        for t in (
            [rows[i] for i in ticket_ids if i in rows]
            if keep_order
            else sorted(rows.values(), key=lambda t: t.id)
        )
    ]
    origin, source = service.origin_of(
        session, engineer=engineer, day=day, now=now, settings=settings
    )
    ordered = stops if keep_order else order_stops(origin, stops)
    legs = schedule(
        day=day,
        start_at=engineer.work_start,
        end_at=engineer.work_end,
        origin=origin,
        stops=ordered,
        settings=settings,
        not_before=now if service.local_day(now, settings) == day else None,
    )
    return Route(engineer, day, origin, source, legs, rows)


def route(
    session: Session,
    *,
    engineer: Engineer,
    day: date,
    settings: DispatchSettings,
    now: datetime | None = None,
) -> Route:
    """The engineer's open visits of the day, ordered (nearest neighbour + 2-opt), with ETAs."""
    now = now or utcnow()
    booked = service.day_tickets(session, engineer_ids=[engineer.id], day=day, settings=settings)
    return _route(
        session,
        engineer=engineer,
        day=day,
        ticket_ids=booked.get(engineer.id, []),
        now=now,
        settings=settings,
    )


@dataclass(slots=True)
class DayPlan:
    """A batch plan: the optimal assignment, the routes it leads to, what was applied."""

    day: date
    plan: Plan
    tickets: dict[int, Ticket]  # every waiting ticket looked at, those of `other_day` too
    workers: dict[int, Engineer]
    scores: dict[tuple[int, int], float]
    routes: list[Route]
    applied: bool
    skipped: list[tuple[int, PortalError]]
    # What the plan was made of: the waiting tickets as jobs, and every engineer considered
    # (so a page can say who else could take a stop when a person adjusts the plan).
    jobs: list[Job] = field(default_factory=list)
    candidates: list[Worker] = field(default_factory=list)
    # Waiting tickets whose customer asked for another day, with that day: left out.
    other_day: dict[int, date] = field(default_factory=dict)


def _scope_networks(session: Session, *, network_id: int | None, city: str | None) -> list[int]:
    """The networks a day plan covers: the one chosen, else all (of `city`, when given)."""
    stmt = select(ServiceNetwork.id, ServiceNetwork.city)
    if network_id is not None:
        stmt = stmt.where(ServiceNetwork.id == network_id)
    wanted = city_key(city) if city else None
    return [
        nid for nid, where in session.execute(stmt) if wanted is None or city_key(where) == wanted
    ]


def plan_day(
    session: Session,
    *,
    day: date,
    principal: Principal,
    settings: DispatchSettings,
    network_id: int | None = None,
    apply: bool = False,
    planner: PartsPlanner | None = None,
    now: datetime | None = None,
    city: str | None = None,
) -> DayPlan:
    """Assign every waiting ticket at once (optimal assignment, capacity as slots) and route
    each engineer's day. With `apply`, the plan is carried out ticket by ticket through the same
    locked, version-checked path as a manual assignment; tickets someone changed meanwhile are
    skipped and reported. `city` (上海 or 上海市 alike): only that city's tickets."""
    now = now or utcnow()
    one_network = policies.one_network(principal)
    if one_network:
        network_id = policies.network_restriction(principal)
    in_scope = _scope_networks(session, network_id=network_id, city=city)
    waiting = service.queue(session, network_id=network_id, handed_over_only=one_network)
    if city:
        wanted = city_key(city)
        waiting = [t for t in waiting if service.ticket_place(t).city == wanted]
    # A customer who asked for another day is visited that day, not planned into this one.
    other_day = {
        t.id: asked
        for t in waiting
        if (asked := service.asked_day(t, now, settings)) is not None and asked != day
    }
    asked_elsewhere = {t.id: t for t in waiting if t.id in other_day}
    waiting = [t for t in waiting if t.id not in other_day]
    seen = service.ticket_versions(session, ticket_ids=[t.id for t in waiting])
    where = service.locate(session, waiting)
    jobs = [
        service.job_for(
            session,
            ticket=t,
            now=now,
            settings=settings,
            network_id=network_id,
            location=where[t.id],
            located=True,
        )
        for t in waiting
    ]
    workers = service.workers_for(
        session,
        cities=sorted({t.city for t in waiting}),
        day=day,
        now=now,
        settings=settings,
        categories=sorted({j.category for j in jobs}),
        network_id=network_id,
    )
    plan = Plan()
    scores: dict[tuple[int, int], float] = {}
    # Coverage never crosses a city: one independent problem per city keeps matrices small.
    for city in sorted({j.city for j in jobs}):
        city_jobs = [j for j in jobs if j.city == city]
        city_workers = [w for w in workers if w.city == city]
        part = solve(build(city_jobs, city_workers, settings))
        plan.picks.extend(part.picks)
        plan.unassigned.extend(part.unassigned)
        plan.objective += part.objective
        for p in part.picks:
            scores[(p.job_id, p.worker_id)] = round(p.value - settings.serve_value, 2)
    by_id = {t.id: t for t in waiting} | asked_elsewhere
    # Visits the engineers considered already have that day (already counted as their load)
    # are on their routes too, even when the plan gives them nothing new: a tester found an
    # engineer with a reassigned job shown as free, and the job never routed when published.
    booked = service.day_tickets(
        session, engineer_ids=[w.id for w in workers], day=day, settings=settings
    )
    # And every other engineer of the scope with visits that day: a city with nothing left to
    # plan still has its booked routes (a tester found Hangzhou's missing from the plan of all
    # networks, which looked only at the cities of the waiting tickets).
    for eid, ids in service.day_tickets(
        session, network_ids=in_scope, day=day, settings=settings
    ).items():
        booked.setdefault(eid, ids)
    routed = {p.worker_id for p in plan.picks} | set(booked)
    engineers = {
        e.id: e for e in session.scalars(select(Engineer).where(Engineer.id.in_(routed or [-1])))
    }
    skipped: list[tuple[int, PortalError]] = []
    if apply:
        kept = []
        for pick in plan.picks:
            # Check under the lock first, so a ticket someone else took is skipped rather than
            # failing the whole plan (no savepoints: the SQLite driver mishandles them).
            locked = service.lock_ticket(session, ticket_id=pick.job_id)
            version = service.ticket_version(session, ticket_id=locked.id)
            if version != seen.get(pick.job_id, 0):
                skipped.append(
                    (
                        pick.job_id,
                        Conflict(
                            "dispatch.stale_version",
                            current=version,
                            expected=seen.get(pick.job_id, 0),
                        ),
                    )
                )
                continue
            _assign_locked(
                session,
                ticket_id=pick.job_id,
                seen_version=version,
                principal=principal,
                engineer_id=pick.worker_id,
                network_id=None,
                reason="",
                day=day,
                source="plan",
                planner=planner,
            )
            kept.append(pick)
        plan.picks = kept
    routes: list[Route] = []
    planned: dict[int, list[int]] = {eid: list(ids) for eid, ids in booked.items()}
    for p in plan.picks:
        planned.setdefault(p.worker_id, []).append(p.job_id)
    for worker_id in sorted(planned):
        ids = sorted(set(planned[worker_id]))
        r = _route(
            session,
            engineer=engineers[worker_id],
            day=day,
            ticket_ids=ids,
            now=now,
            settings=settings,
        )
        routes.append(r)
        if apply:
            visits = service.visits_of(session, ticket_ids=[leg.stop.id for leg in r.legs])
            for seq, leg in enumerate(r.legs, start=1):
                visit = visits.get(leg.stop.id)
                if visit is not None and visit.engineer_id == worker_id:
                    visit.sequence, visit.eta = seq, leg.start
            session.flush()
    return DayPlan(
        day=day,
        plan=plan,
        tickets=by_id,
        workers=engineers,
        scores=scores,
        routes=routes,
        applied=apply,
        skipped=skipped,
        jobs=jobs,
        candidates=workers,
        other_day=other_day,
    )


# --- a plan adjusted by a person: preview and publish -------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedStop:
    """One stop of a day plan as a person left it: which engineer, where in their day, and
    the ticket's version when the plan was shown (None: the engineer already holds it)."""

    ticket_id: int
    engineer_id: int
    order: int
    version: int | None = None


@dataclass(slots=True)
class Published:
    """What publishing a plan did."""

    day: date
    assigned: list[Assigned]
    kept: list[int]  # tickets the engineer already held, only put in order
    skipped: list[tuple[int, PortalError]]
    routes: list[Route]


def _by_engineer(stops: list[PlannedStop]) -> dict[int, list[int]]:
    """Ticket ids per engineer in the order the person gave (ties: as listed)."""
    out: dict[int, list[tuple[int, int, int]]] = {}
    for i, stop in enumerate(stops):
        out.setdefault(stop.engineer_id, []).append((stop.order, i, stop.ticket_id))
    return {eid: [tid for _, _, tid in sorted(rows)] for eid, rows in out.items()}


def _engineers(session: Session, ids: list[int], restrict: int | None) -> dict[int, Engineer]:
    """The engineers by id, only the caller's network's when it is held to one."""
    rows = session.scalars(select(Engineer).where(Engineer.id.in_(ids or [-1])))
    return {e.id: e for e in rows if restrict is None or e.network_id == restrict}


def preview_plan(
    session: Session,
    *,
    day: date,
    stops: list[PlannedStop],
    principal: Principal,
    settings: DispatchSettings,
    now: datetime | None = None,
) -> list[Route]:
    """The routes of a plan as a person adjusted it, in their order, with ETAs; writes
    nothing. Engineers outside the caller's network are left out."""
    now = now or utcnow()
    restrict = policies.network_restriction(principal)
    order = _by_engineer(stops)
    engineers = _engineers(session, list(order), restrict)
    return [
        _route(
            session,
            engineer=engineers[eid],
            day=day,
            ticket_ids=ids,
            now=now,
            settings=settings,
            keep_order=True,
        )
        for eid, ids in sorted(order.items())
        if eid in engineers
    ]


def publish_plan(
    session: Session,
    *,
    day: date,
    stops: list[PlannedStop],
    principal: Principal,
    settings: DispatchSettings,
    planner: PartsPlanner | None = None,
    now: datetime | None = None,
) -> Published:
    """Carry out a (possibly adjusted) day plan: each waiting ticket is assigned to its
    engineer through the same locked, version-checked assignment as a manual one (the engineer
    must still be a candidate; the parts subscriber reserves the parts), and every engineer's
    visits of the day get the sequence and ETAs of the order given. A ticket that changed
    meanwhile, or whose engineer can no longer take it, is skipped and reported."""
    now = now or utcnow()
    restrict = policies.network_restriction(principal)
    order = _by_engineer(stops)
    engineers = _engineers(session, list(order), restrict)
    seen = {s.ticket_id: s.version for s in stops}
    assigned: list[Assigned] = []
    kept: list[int] = []
    skipped: list[tuple[int, PortalError]] = []
    placed: dict[int, list[int]] = {}
    for eid, ids in sorted(order.items()):
        engineer = engineers.get(eid)
        for tid in ids:
            if engineer is None:
                skipped.append((tid, Invalid("error.other_network", field="engineer_id")))
                continue
            ticket = session.get(Ticket, tid)
            if ticket is None:
                skipped.append((tid, NotFound("object.ticket")))
                continue
            if ticket.engineer_id == eid and ticket.status in service.ASSIGNED_OPEN:
                try:
                    service.check_customer_day(ticket, day, now, settings)
                except PortalError as exc:
                    skipped.append((tid, exc))
                    continue
                kept.append(tid)
                placed.setdefault(eid, []).append(tid)
                continue
            try:
                # Every refusal comes before anything is written (the version, the action,
                # the candidate check), so one refused stop does not spoil the others.
                service.check_field_service(ticket)
                service.check_customer_day(ticket, day, now, settings)
                assigned.append(
                    _assign_locked(
                        session,
                        ticket_id=tid,
                        seen_version=seen.get(tid) or 0,
                        principal=principal,
                        engineer_id=eid,
                        network_id=None,
                        reason="",
                        day=day,
                        source="plan",
                        planner=planner,
                        check=partial(
                            _must_be_candidate,
                            session,
                            engineer=engineer,
                            day=day,
                            now=now,
                            settings=settings,
                            restrict=restrict,
                        ),
                    )
                )
                placed.setdefault(eid, []).append(tid)
            except PortalError as exc:
                skipped.append((tid, exc))
    routes: list[Route] = []
    for eid, ids in sorted(placed.items()):
        r = _route(
            session,
            engineer=engineers[eid],
            day=day,
            ticket_ids=ids,
            now=now,
            settings=settings,
            keep_order=True,
        )
        routes.append(r)
        visits = service.visits_of(session, ticket_ids=ids)
        for seq, leg in enumerate(r.legs, start=1):
            visit = visits.get(leg.stop.id)
            if visit is not None and visit.engineer_id == eid:
                visit.sequence, visit.eta = seq, leg.start
        session.flush()
    return Published(day=day, assigned=assigned, kept=kept, skipped=skipped, routes=routes)
