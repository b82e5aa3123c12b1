"""The dispatch workbench (派单工作台) for dispatchers and network managers: the queue with its
SLA clocks, a ticket's ranked candidates with their reasons, one-click assignment and 改派,
the networks' automatic-dispatch switches, and the day plan on an offline map.

Thin: the rules live in `flows` (assign, auto-dispatch, plans) and `workbench` (what is
shown). Every assignment goes through `flows.assign` / `flows.publish_plan`, the API's own
path, so the lifecycle's parts subscriber reserves the parts. A POST answers with a redirect
(post/redirect/get) and leaves its outcome as a flash; what the user typed comes back in the
redirect's query when the request was refused.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import StringConstraints, ValidationError
from sqlalchemy.orm import Session

from portal.database import SessionDep, utcnow
from portal.dispatch import flows, policies, service, workbench
from portal.dispatch.schemas import AssignRequest
from portal.dispatch.scoring import FIELD_TYPES, DispatchSettings, Job, Worker, screen
from portal.dispatch.views import dispatch_settings, parts_planner
from portal.errors import Invalid, PortalError
from portal.i18n import both, t
from portal.ids import IdPath
from portal.networks.models import ServiceNetwork
from portal.places.service import city_key
from portal.security import Principal
from portal.templating import (
    PAGE_ROUTER_OPTIONS,
    flash,
    flash_error,
    flash_invalid,
    render,
    safe_path,
    see_other,
)
from portal.tickets import service as tickets
from portal.tickets.models import Ticket

router = APIRouter(**PAGE_ROUTER_OPTIONS)

DispatchPage = Annotated[Principal, policies.DISPATCH.page]
# Who opens the workbench (the nav's link follows it).
DISPATCH_ROLES = policies.DISPATCH.roles
FormText = Annotated[str, Form(max_length=500)]
FormId = Annotated[str, Form(max_length=12)]
# A day plan form carries one row per stop; more than this is no form of ours.
MAX_STOPS = 2000
# Route colours on the map and in the lists (colour-blind-safe first).
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939")  # fmt: skip


def route_colour(i: int) -> str:
    """The `i`th route's colour: the palette, then hues a golden angle apart, so no two
    engineers on one map share a colour however many there are."""
    if i < len(PALETTE):
        return PALETTE[i]
    k = i - len(PALETTE)
    hue = (k * 0.381966 + 0.05) % 1.0
    light = (0.36, 0.46, 0.30)[k % 3]
    r, g, b = colorsys.hls_to_rgb(hue, light, 0.75)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def _restrict(user: Principal) -> int | None:
    return policies.network_restriction(user)


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) <= 9 else None


def _day(text: str, settings: DispatchSettings, now: datetime) -> date:
    try:
        return date.fromisoformat(text) if text else service.default_visit_day(now, settings)
    except ValueError:
        return service.default_visit_day(now, settings)


def _say_if_bad_day(request: Request, text: str, shown: date) -> None:
    """A date in the address that is no date: say so (the page shows `shown` instead)."""
    if not text:
        return
    try:
        date.fromisoformat(text)
    except ValueError:
        params = {"value": text, "day": shown.isoformat()}
        zh = t("dispatch.ui.bad_date", "zh", **params)
        en = t("dispatch.ui.bad_date", "en", **params)
        flash(request, "error", zh, en)


def _with(url: str, **params: object) -> str:
    """`url` with these query parameters added (a back link that keeps what was typed)."""
    kept = {k: str(v) for k, v in params.items() if v not in (None, "")}
    if not kept:
        return url
    path, _, anchor = url.partition("#")
    joined = path + ("&" if "?" in path else "?") + urlencode(kept)
    return joined + (f"#{anchor}" if anchor else "")


def _next_in_queue(back: str) -> str:
    """Where to go after a ticket was assigned: on the workbench, the same queue (network,
    day) without that ticket, so the queue's next one is shown, or the queue is said to be
    empty (a tester saw the panel stay on the ticket just assigned); elsewhere, `back`."""
    parts = urlsplit(back)
    if parts.path != "/dispatch":
        return back
    kept = {k: v for k, v in parse_qsl(parts.query) if k not in ("ticket", "keep", "reason")}
    return _with("/dispatch", **kept)


def ticket_panel(
    request: Request,
    session: Session,
    *,
    ticket: Ticket,
    user: Principal,
    day: date | None = None,
) -> workbench.Panel:
    """The dispatch section of a ticket (the workbench and the ticket page show the same):
    its candidates on the day the customer asked for, else on `day` (the workbench's)."""
    settings = dispatch_settings(request)
    now = utcnow()
    return workbench.panel(
        session,
        ticket=ticket,
        day=service.asked_day(ticket, now, settings)
        or day
        or service.default_visit_day(now, settings),
        now=now,
        settings=settings,
        planner=parts_planner(request),
        network_id=_restrict(user),
    )


def may_dispatch(user: Principal, ticket: Ticket) -> bool:
    """Whether the dispatch section belongs on this ticket's page for this user."""
    return policies.DISPATCH.allows(user) and ticket.type in FIELD_TYPES


# --- the workbench ------------------------------------------------------------------------


@router.get("/dispatch", response_class=Response)
def workbench_page(
    request: Request,
    session: SessionDep,
    user: DispatchPage,
    ticket: Annotated[str, Query(max_length=32)] = "",
    network: Annotated[str, Query(max_length=12)] = "",
    day_: Annotated[str, Query(alias="date", max_length=10)] = "",
    reason: Annotated[str, Query(max_length=500)] = "",
    keep: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """The queue to dispatch with its SLA clocks, and the chosen ticket's ranked candidates:
    a typed (or linked) number; else the ticket on show before the filter changed, while the
    filtered queue still lists it; else the queue's first."""
    settings = dispatch_settings(request)
    now = utcnow()
    restrict = _restrict(user)
    nets = workbench.networks(session, network_id=restrict)
    chosen = _int(network) if restrict is None else restrict
    if chosen is not None and all(n.id != chosen for n in nets):
        chosen = None
    rows = workbench.queue(
        session, network_id=chosen, handed_over_only=restrict is not None, now=now
    )
    day = _day(day_, settings, now)
    _say_if_bad_day(request, day_, day)
    panel: workbench.Panel | None = None
    problem: tuple[str, str] | None = None
    listed = [r.ticket.number for r in rows]
    kept = keep.strip() if keep.strip() in listed else ""
    ref = ticket.strip() or kept or (listed[0] if listed else "")
    if ref:
        try:
            picked = tickets.get_ticket(session, ref=ref, principal=user)
            service.check_field_service(picked)
            panel = ticket_panel(request, session, ticket=picked, user=user, day=day)
        except PortalError as exc:
            problem = (exc.message_zh, exc.message_en)
    return render(
        request,
        "dispatch/workbench.html",
        {
            "rows": rows,
            "panel": panel,
            "problem": problem,
            "networks": nets,
            "network": chosen,
            "restricted": restrict is not None,
            "day": day,
            "now": now,
            "typed_reason": reason,
            "typed_ticket": ticket.strip() if problem else "",
            "back": _with("/dispatch", ticket=ref, network=network, date=day_),
        },
    )


@router.post("/dispatch/tickets/{ref}/assign", response_class=Response)
def assign(
    request: Request,
    ref: str,
    session: SessionDep,
    user: DispatchPage,
    engineer_id: FormId = "",
    expected_version: FormId = "",
    reason: FormText = "",
    day_: Annotated[str, Form(alias="date", max_length=10)] = "",
    next_: Annotated[str, Form(alias="next", max_length=300)] = "",
) -> Response:
    """Dispatch the ticket to the engineer picked from its candidates (改派 with a reason),
    through the same service as the API: the parts are reserved at the engineer's network."""
    ticket = tickets.get_ticket(session, ref=ref, principal=user)
    back = safe_path(next_, f"/dispatch?ticket={ticket.number}")
    try:
        data = AssignRequest.model_validate(
            {
                "engineer_id": engineer_id or None,
                "expected_version": expected_version or None,
                "reason": reason,
                "date": day_ or None,
            }
        )
    except ValidationError as exc:
        flash_invalid(request, exc.errors())
        return see_other(_with(back, reason=reason))
    try:
        if data.engineer_id is None:
            raise Invalid("dispatch.ui.pick_engineer", field="engineer_id")
        holds = ticket.engineer_id is not None and ticket.status in flows.ASSIGNED
        if holds and not data.reason:
            raise Invalid("validation.missing", field="reason")
        if data.date is not None:  # people book visits from today on
            service.check_visit_day(data.date, utcnow(), dispatch_settings(request))
        done = flows.assign(
            session,
            ticket=ticket,
            principal=user,
            engineer_id=data.engineer_id,
            reason=data.reason,
            expected_version=data.expected_version,
            day=data.date,
            settings=dispatch_settings(request),
            planner=parts_planner(request),
        )
    except PortalError as exc:
        session.rollback()
        flash_error(request, exc)
        return see_other(_with(back, reason=reason))
    _flash_assigned(request, session, done, replaced=holds)
    return see_other(_next_in_queue(back))


def _parts_text(lines: list[tuple[str, int]], lang: str) -> str:
    sep = "、" if lang == "zh" else ", "
    return sep.join(f"{name}×{qty}" for name, qty in lines)


def _flash_assigned(
    request: Request, session: Session, done: flows.Assigned, *, replaced: bool
) -> None:
    """Say who got the ticket and what was held for it (or what it now waits for)."""
    engineer = service.get_engineer(session, engineer_id=done.engineer_id or 0)
    held = [(h.name, h.quantity) for h in workbench.held_parts(session, ticket_id=done.ticket.id)]
    short = [(p.name or p.part_code, p.quantity) for p in done.reservation.shortages]
    texts = []
    for lang in ("zh", "en"):
        key = "dispatch.ui.done_reassign" if replaced else "dispatch.ui.done"
        text = t(key, lang, number=done.ticket.number, engineer=engineer.name)
        if held:
            text += t("dispatch.ui.done_parts", lang, parts=_parts_text(held, lang))
        if short:
            text += t("dispatch.ui.done_short", lang, parts=_parts_text(short, lang))
        texts.append(text)
    flash(request, "warn" if short else "ok", texts[0], texts[1])


@router.post("/dispatch/tickets/{ref}/hand-over", response_class=Response)
def hand_over(
    request: Request,
    ref: str,
    session: SessionDep,
    user: DispatchPage,
    network_id: FormId = "",
    expected_version: FormId = "",
    day_: Annotated[str, Form(alias="date", max_length=10)] = "",
    next_: Annotated[str, Form(alias="next", max_length=300)] = "",
) -> Response:
    """Hand the ticket to a 伞下店 as a whole: its manager names the engineer (and its store
    holds the parts)."""
    ticket = tickets.get_ticket(session, ref=ref, principal=user)
    back = safe_path(next_, f"/dispatch?ticket={ticket.number}")
    try:
        data = AssignRequest.model_validate(
            {
                "network_id": network_id or None,
                "expected_version": expected_version or None,
                "date": day_ or None,
            }
        )
        outlets = workbench.outlets_covering(session, ticket=ticket, restrict=_restrict(user))
        outlet = next((n for n in outlets if n.id == data.network_id), None)
        if outlet is None:
            raise Invalid("dispatch.ui.pick_outlet", field="network_id")
        if data.date is not None:
            service.check_visit_day(data.date, utcnow(), dispatch_settings(request))
        flows.assign(
            session,
            ticket=ticket,
            principal=user,
            network_id=outlet.id,
            expected_version=data.expected_version,
            day=data.date,
            settings=dispatch_settings(request),
            planner=parts_planner(request),
        )
    except ValidationError as exc:
        flash_invalid(request, exc.errors())
        return see_other(back)
    except PortalError as exc:
        session.rollback()
        flash_error(request, exc)
        return see_other(back)
    zh, en = both("dispatch.ui.handed_over", number=ticket.number, network=outlet.name)
    flash(request, "ok", zh, en)
    return see_other(back)


@router.post("/dispatch/auto", response_class=Response)
def run_auto(
    request: Request,
    session: SessionDep,
    user: DispatchPage,
    network: FormId = "",
) -> Response:
    """Run automatic dispatch over the queue: tickets whose best candidate is of a network
    with automatic dispatch switched on are assigned; the others stay for a person."""
    restrict = _restrict(user)
    chosen = _int(network) if restrict is None else restrict
    rows = workbench.queue(
        session, network_id=chosen, handed_over_only=restrict is not None, now=utcnow()
    )
    assigned = left = 0
    for row in rows:
        result = flows.auto_dispatch(
            session,
            ticket=row.ticket,
            settings=dispatch_settings(request),
            planner=parts_planner(request),
        )
        if result.assigned is not None:
            assigned += 1
        else:
            left += 1
    zh, en = both("dispatch.ui.auto_done", assigned=assigned, left=left)
    flash(request, "ok", zh, en)
    return see_other(_with("/dispatch", network=network if restrict is None else ""))


@router.post("/dispatch/networks/{network_id}/auto", response_class=Response)
def switch_auto(
    request: Request,
    network_id: IdPath,
    session: SessionDep,
    user: DispatchPage,
    enabled: Annotated[str, Form(max_length=2)] = "",
    next_: Annotated[str, Form(alias="next", max_length=300)] = "",
) -> Response:
    """Switch a network's automatic dispatch on or off (a manager: their own network)."""
    net = workbench.get_network(session, network_id=network_id, restrict=_restrict(user))
    on = enabled == "1"
    workbench.set_auto_dispatch(session, network=net, enabled=on)
    key = "dispatch.ui.auto_on" if on else "dispatch.ui.auto_off"
    zh, en = both(key, network=net.name)
    flash(request, "ok", zh, en)
    return see_other(safe_path(next_, "/dispatch"))


# --- the day plan -------------------------------------------------------------------------


@dataclass(slots=True)
class StopView:
    """One stop of a route on the plan page."""

    ticket: Ticket
    lat: float | None
    lng: float | None
    eta: str
    late: bool
    travel_km: float | None
    version: int | None  # None: the engineer already holds it (only its order may change)
    choices: list[Worker] = field(default_factory=list)  # who else may take it
    # Booked on this day but in no published route yet (the customer moved the visit here).
    to_plan: bool = False


@dataclass(slots=True)
class RouteView:
    """One engineer's day on the plan page."""

    engineer_id: int
    name: str
    network: str
    colour: str
    origin: tuple[float, float] | None
    origin_source: str
    total_km: float
    stops: list[StopView]


def _cities(session: Session, restrict: int | None) -> list[str]:
    names = {city_key(n.city) or n.city for n in workbench.networks(session, network_id=restrict)}
    return sorted(names)


def _choices(job: Job | None, workers: list[Worker], settings: DispatchSettings) -> list[Worker]:
    if job is None:
        return []
    return [w for w in workers if screen(job, w, settings) is None]


def _route_views(
    routes: list[flows.Route],
    *,
    jobs: dict[int, Job],
    workers: list[Worker],
    versions: dict[int, int],
    settings: DispatchSettings,
) -> list[RouteView]:
    """The routes as the page lists and draws them; stops not yet assigned carry their
    version and the engineers who could take them instead."""
    zone = ZoneInfo(settings.zone)
    views: list[RouteView] = []
    for i, r in enumerate(routes):
        stops = []
        for leg in r.legs:
            t = r.tickets[leg.stop.id]
            waiting = leg.stop.id in jobs and t.engineer_id is None
            stops.append(
                StopView(
                    ticket=t,
                    lat=leg.stop.lat,
                    lng=leg.stop.lng,
                    eta=leg.start.astimezone(zone).strftime("%H:%M"),
                    late=leg.late,
                    travel_km=leg.travel_km,
                    version=versions.get(t.id) if waiting else None,
                    choices=_choices(jobs.get(t.id), workers, settings) if waiting else [],
                )
            )
        views.append(
            RouteView(
                engineer_id=r.engineer.id,
                name=r.engineer.name,
                network=r.engineer.network.name,
                colour=route_colour(i),
                origin=r.origin,
                origin_source=r.origin_source,
                total_km=r.total_km,
                stops=stops,
            )
        )
    return views


@dataclass(slots=True)
class PlanScope:
    """Which day plan: a day, and a network or a city (or everything the caller sees)."""

    day: date
    network_id: int | None
    city: str

    def query(self) -> dict[str, object]:
        """As the page's query parameters."""
        return {"date": self.day.isoformat(), "network": self.network_id or "", "city": self.city}


def _scope(
    request: Request, session: Session, user: Principal, *, day: str, network: str, city: str
) -> PlanScope:
    restrict = _restrict(user)
    settings = dispatch_settings(request)
    chosen = restrict if restrict is not None else _int(network)
    if chosen is not None and session.get(ServiceNetwork, chosen) is None:
        chosen = None
    return PlanScope(
        day=_day(day, settings, utcnow()),
        network_id=chosen,
        city="" if restrict is not None else city.strip()[:32],
    )


def _booked_routes(
    session: Session, *, user: Principal, scope: PlanScope, settings: DispatchSettings
) -> list[flows.Route]:
    """The routes already booked for the day in the scope (what was published)."""
    nets = workbench.networks(session, network_id=scope.network_id or _restrict(user))
    if scope.city:
        wanted = city_key(scope.city)
        nets = [n for n in nets if city_key(n.city) == wanted]
    booked = service.day_tickets(
        session, network_ids=[n.id for n in nets] or [-1], day=scope.day, settings=settings
    )
    now = utcnow()
    return [
        flows.route(
            session,
            engineer=service.get_engineer(session, engineer_id=eid),
            day=scope.day,
            settings=settings,
            now=now,
        )
        for eid in sorted(booked)
    ]


def _nothing(plan: flows.DayPlan) -> str:
    """Why a proposal gives nobody a stop: no ticket to plan that day, no engineer on duty,
    or none of those on duty can take the tickets."""
    if not plan.jobs:
        return "no_jobs"
    if not any(w.on_duty and w.present for w in plan.candidates):
        return "no_engineers"
    return "no_fit"


def _plan_context(
    request: Request,
    session: Session,
    *,
    user: Principal,
    scope: PlanScope,
    run: bool,
    stops: list[flows.PlannedStop] | None = None,
) -> dict[str, object]:
    """What the plan page shows: the proposal (or the person's adjusted version of it), or,
    when no plan is being made, the routes already booked for the day."""
    settings = dispatch_settings(request)
    now = utcnow()
    base: dict[str, object] = {
        "scope": scope,
        "networks": workbench.networks(session, network_id=_restrict(user)),
        "cities": _cities(session, _restrict(user)),
        "restricted": _restrict(user) is not None,
        "run": run,
        "adjusted": stops is not None,
        "routes": [],
        "unassigned": [],
        "other_day": [],
        "total_km": 0.0,
        "nothing": None,
    }
    if not run:
        routes = _booked_routes(session, user=user, scope=scope, settings=settings)
        views = _route_views(routes, jobs={}, workers=[], versions={}, settings=settings)
        booked = service.visits_of(
            session, ticket_ids=[s.ticket.id for v in views for s in v.stops]
        )
        for stop in (s for v in views for s in v.stops):
            visit = booked.get(stop.ticket.id)
            if visit is None or visit.eta is None:
                # No time was published for it: none is promised here either.
                stop.eta, stop.late, stop.to_plan = "", False, True
        base.update(routes=views, total_km=round(sum(v.total_km for v in views), 2))
        return base
    plan = flows.plan_day(
        session,
        day=scope.day,
        principal=user,
        settings=settings,
        network_id=scope.network_id,
        city=scope.city or None,
        now=now,
    )
    jobs = {j.id: j for j in plan.jobs}
    versions = service.ticket_versions(session, ticket_ids=list(jobs))
    if stops is None:
        routes = plan.routes
        left = list(plan.plan.unassigned)
    else:
        routes = flows.preview_plan(
            session, day=scope.day, stops=stops, principal=user, settings=settings, now=now
        )
        placed = {s.ticket_id for s in stops}
        left = [tid for tid in jobs if tid not in placed]
    views = _route_views(
        routes, jobs=jobs, workers=plan.candidates, versions=versions, settings=settings
    )
    # Engineers who could take a stop but have none yet: lists a stop may be moved to.
    have = {v.engineer_id for v in views}
    could = {w.id for v in views for s in v.stops for w in s.choices}
    unplaced = [
        StopView(
            ticket=plan.tickets[tid],
            lat=None,
            lng=None,
            eta="",
            late=False,
            travel_km=None,
            version=versions.get(tid),
            choices=_choices(jobs.get(tid), plan.candidates, settings),
        )
        for tid in left
        if tid in plan.tickets
    ]
    could |= {w.id for s in unplaced for w in s.choices}
    for w in plan.candidates:
        if w.id in could and w.id not in have:
            views.append(
                RouteView(
                    engineer_id=w.id,
                    name=w.name,
                    network=w.network_name,
                    colour=route_colour(len(views)),
                    origin=(w.lat, w.lng) if w.lat is not None and w.lng is not None else None,
                    origin_source=w.position_source,
                    total_km=0.0,
                    stops=[],
                )
            )
    where = service.locate(session, [s.ticket for s in unplaced])
    for s in unplaced:
        spot = where.get(s.ticket.id)
        s.lat, s.lng = (spot[0], spot[1]) if spot else (None, None)
    base.update(
        routes=views,
        unassigned=unplaced,
        nothing=_nothing(plan) if stops is None and not any(v.stops for v in views) else None,
        other_day=[(plan.tickets[tid], day) for tid, day in sorted(plan.other_day.items())],
        total_km=round(sum(v.total_km for v in views), 2),
    )
    return base


# An adjusted plan in the address (`adjust`): each route as its engineer's id and then its
# stops' ticket ids in order, "-" between them, routes joined by "~" ("_": no stop planned).
# Unreserved characters only, so the address stays short: about 7 characters a stop.
NO_STOPS = "_"


def adjustment(stops: list[flows.PlannedStop]) -> str:
    """The plan as adjusted, for the preview's address (the order within a route kept)."""
    routes: dict[int, list[flows.PlannedStop]] = {}
    for s in stops:
        routes.setdefault(s.engineer_id, []).append(s)
    parts = [
        "-".join([str(eid), *(str(s.ticket_id) for s in sorted(rs, key=lambda s: s.order))])
        for eid, rs in routes.items()
    ]
    return "~".join(parts) or NO_STOPS


def _adjusted(text: str) -> list[flows.PlannedStop]:
    """The stops of an `adjustment`; anything else is no plan of ours."""
    stops: list[flows.PlannedStop] = []
    for part in text.split("~"):
        if part == NO_STOPS:
            continue
        ids = [_int(x) for x in part.split("-")]
        if len(ids) < 2 or None in ids or len(stops) + len(ids) - 1 > MAX_STOPS:
            raise Invalid("dispatch.ui.plan_form", field="stop")
        engineer_id, *tickets = (int(x or 0) for x in ids)
        stops += [flows.PlannedStop(tid, engineer_id, i) for i, tid in enumerate(tickets, 1)]
    return stops


@router.get("/dispatch/plan", response_class=Response)
def plan_page(
    request: Request,
    session: SessionDep,
    user: DispatchPage,
    day_: Annotated[str, Query(alias="date", max_length=10)] = "",
    network: Annotated[str, Query(max_length=12)] = "",
    city: Annotated[str, Query(max_length=32)] = "",
    run: Annotated[str, Query(max_length=1)] = "",
    adjust: Annotated[str, Query(max_length=13 * MAX_STOPS)] = "",
) -> Response:
    """The day plan of a network or a city: the routes booked for the day, or (run) the
    optimal plan of every waiting ticket, to adjust and publish; with `adjust`, the plan as
    the dispatcher adjusted it (what the preview redirects to)."""
    scope = _scope(request, session, user, day=day_, network=network, city=city)
    _say_if_bad_day(request, day_, scope.day)
    stops: list[flows.PlannedStop] | None = None
    if run == "1" and adjust:
        try:
            stops = _adjusted(adjust)
        except PortalError as exc:
            flash_error(request, exc)
    context = _plan_context(request, session, user=user, scope=scope, run=run == "1", stops=stops)
    return render(request, "dispatch/plan.html", context)


def _number(session: Session, ticket_id: int) -> str:
    row = session.get(Ticket, ticket_id)
    return row.number if row is not None else f"#{ticket_id}"


# One value per stop (ids, orders, versions): short strings, at most MAX_STOPS of them.
PlanList = Annotated[
    list[Annotated[str, StringConstraints(max_length=12)]], Form(max_length=MAX_STOPS)
]


def _planned(
    stop: list[str], engineer: list[str], order: list[str], version: list[str]
) -> list[flows.PlannedStop]:
    """The stops of a plan form; rows left without an engineer stay in the queue."""
    if len(stop) > MAX_STOPS or not len(stop) == len(engineer) == len(order) == len(version):
        raise Invalid("dispatch.ui.plan_form", field="stop")
    out = []
    for tid, eid, seq, ver in zip(stop, engineer, order, version, strict=True):
        ticket_id, engineer_id = _int(tid), _int(eid)
        if ticket_id is None:
            raise Invalid("dispatch.ui.plan_form", field="stop")
        if engineer_id is None:
            continue
        out.append(flows.PlannedStop(ticket_id, engineer_id, _int(seq) or 0, _int(ver)))
    return out


@router.post("/dispatch/plan/preview", response_class=Response)
def plan_preview(
    request: Request,
    session: SessionDep,
    user: DispatchPage,
    day_: Annotated[str, Form(alias="date", max_length=10)] = "",
    network: FormId = "",
    city: Annotated[str, Form(max_length=32)] = "",
    stop: PlanList | None = None,
    engineer: PlanList | None = None,
    order: PlanList | None = None,
    version: PlanList | None = None,
) -> Response:
    """The plan as adjusted (stops moved to other engineers, reordered): routes and ETAs in
    the order given. Writes nothing: it redirects to the plan page with the adjustment in
    the address (post/redirect/get), so Back and reload after it, or after publishing, never
    ask to send the form again."""
    scope = _scope(request, session, user, day=day_, network=network, city=city)
    back = _with("/dispatch/plan", **scope.query(), run="1")
    try:
        stops = _planned(stop or [], engineer or [], order or [], version or [])
    except PortalError as exc:
        flash_error(request, exc)
        return see_other(back)
    return see_other(_with(back, adjust=adjustment(stops)))


@router.post("/dispatch/plan/publish", response_class=Response)
def plan_publish(
    request: Request,
    session: SessionDep,
    user: DispatchPage,
    day_: Annotated[str, Form(alias="date", max_length=10)] = "",
    network: FormId = "",
    city: Annotated[str, Form(max_length=32)] = "",
    stop: PlanList | None = None,
    engineer: PlanList | None = None,
    order: PlanList | None = None,
    version: PlanList | None = None,
) -> Response:
    """Publish the plan: every planned ticket assigned to its engineer through the normal
    service (parts reserved), every engineer's visits put in the order given."""
    scope = _scope(request, session, user, day=day_, network=network, city=city)
    back = _with("/dispatch/plan", **scope.query())
    try:
        service.check_visit_day(scope.day, utcnow(), dispatch_settings(request))
        stops = _planned(stop or [], engineer or [], order or [], version or [])
        if not stops:  # a plan that gives nobody a visit publishes nothing: say so
            raise Invalid("dispatch.ui.nothing_to_publish")
    except PortalError as exc:
        flash_error(request, exc)
        return see_other(_with(back, run="1"))
    done = flows.publish_plan(
        session,
        day=scope.day,
        stops=stops,
        principal=user,
        settings=dispatch_settings(request),
        planner=parts_planner(request),
    )
    texts = []
    for lang in ("zh", "en"):
        text = t(
            "dispatch.ui.published",
            lang,
            assigned=len(done.assigned),
            kept=len(done.kept),
            routes=len(done.routes),
        )
        short = sum(1 for a in done.assigned if a.waiting_parts)
        if short:
            text += t("dispatch.ui.published_short", lang, n=short)
        if done.skipped:
            why = [
                f"{_number(session, tid)} {exc.message_zh if lang == 'zh' else exc.message_en}"
                for tid, exc in done.skipped
            ]
            text += t("dispatch.ui.published_skipped", lang, n=len(why), why="; ".join(why))
        texts.append(text)
    short_or_skipped = done.skipped or any(a.waiting_parts for a in done.assigned)
    flash(request, "warn" if short_or_skipped else "ok", texts[0], texts[1])
    return see_other(back)
