"""Dispatch JSON routes: thin; the rules live in service, scoring, planning and flows."""

from __future__ import annotations

import time as clock
from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request

from portal.database import SessionDep, utcnow
from portal.dispatch import flows, policies, service
from portal.dispatch.parts import NoParts, PartsPlanner
from portal.dispatch.policies import Dispatcher, PositionReporter, RouteReader
from portal.dispatch.schemas import (
    AssignRead,
    AssignRequest,
    AutoRead,
    CandidateRead,
    CandidatesRead,
    ComponentRead,
    ExcludedRead,
    OtherDayRead,
    PartLineRead,
    PlanPickRead,
    PlanRead,
    PlanRequest,
    PointRead,
    PositionRead,
    PositionRequest,
    RejectRead,
    RejectRequest,
    RouteRead,
    SkippedRead,
    TicketRef,
    VisitRead,
)
from portal.dispatch.scoring import DispatchSettings, Ranked
from portal.errors import NotFound
from portal.i18n import both
from portal.ids import MAX_ID, IdPath
from portal.security import Principal
from portal.tickets import service as tickets

router = APIRouter(prefix="/dispatch", tags=["dispatch"])

Dispatchers = Dispatcher
Engineers = PositionReporter
RouteReaders = RouteReader

_DEFAULT_SETTINGS = DispatchSettings()
_NO_PARTS = NoParts()


def dispatch_settings(request: Request) -> DispatchSettings:
    """The app's dispatch settings (`app.state.dispatch_settings`), else the defaults."""
    return getattr(request.app.state, "dispatch_settings", None) or _DEFAULT_SETTINGS


def parts_planner(request: Request) -> PartsPlanner:
    """The app's parts planner (`app.state.parts_planner`), else one that suggests nothing."""
    return getattr(request.app.state, "parts_planner", None) or _NO_PARTS


SettingsDep = Annotated[DispatchSettings, Depends(dispatch_settings)]
PlannerDep = Annotated[PartsPlanner, Depends(parts_planner)]


def _restrict(principal: Principal) -> int | None:
    return policies.network_restriction(principal)


def _candidate(r: Ranked, position: int, job_key: tuple[str, str]) -> CandidateRead:
    w = r.worker
    return CandidateRead(
        rank=position,
        engineer_id=w.id,
        name=w.name,
        network_id=w.network_id,
        network_name=w.network_name,
        auto_dispatch=w.network_auto,
        score=r.score,
        distance_km=r.distance_km,
        position_source=w.position_source,
        load=w.load,
        capacity=w.capacity,
        skill_level=w.skills.get(job_key, 0),
        first_time_fix_rate=r.ftf_rate,
        components=[
            ComponentRead(key=c.key, points=c.points, text_zh=c.text_zh, text_en=c.text_en)
            for c in r.components
        ],
        explanation_zh=r.explanation_zh,
        explanation_en=r.explanation_en,
    )


def _assigned(a: flows.Assigned) -> AssignRead:
    return AssignRead(
        ticket_id=a.ticket.id,
        number=a.ticket.number,
        status=a.ticket.status,
        action=a.action,
        engineer_id=a.engineer_id,
        network_id=a.network_id,
        visit_date=a.visit_day,
        version=a.version,
        waiting_parts=a.waiting_parts,
        shortages=[
            PartLineRead(part_code=p.part_code, quantity=p.quantity, name=p.name)
            for p in a.reservation.shortages
        ],
    )


def _offer(result: flows.AutoResult, key: tuple[str, str]) -> CandidateRead | None:
    return _candidate(result.offer, 1, key) if result.offer is not None else None


def _route(r: flows.Route, settings: DispatchSettings) -> RouteRead:
    zone = ZoneInfo(settings.zone)
    visits = []
    for seq, leg in enumerate(r.legs, start=1):
        t = r.tickets[leg.stop.id]
        visits.append(
            VisitRead(
                sequence=seq,
                ticket_id=t.id,
                number=t.number,
                address=t.address,
                lat=leg.stop.lat,
                lng=leg.stop.lng,
                travel_km=leg.travel_km,
                eta=leg.arrive,
                start_at=leg.start,
                leave_at=leg.leave,
                eta_local=leg.arrive.astimezone(zone).strftime("%H:%M"),
                late=leg.late,
            )
        )
    return RouteRead(
        engineer_id=r.engineer.id,
        engineer_name=r.engineer.name,
        date=r.day,
        origin=PointRead(lat=r.origin[0], lng=r.origin[1]) if r.origin else None,
        origin_source=r.origin_source,
        total_km=r.total_km,
        finish_at=r.legs[-1].leave if r.legs else None,
        visits=visits,
    )


@router.get("/tickets/{ref}/candidates", response_model=CandidatesRead)
def candidates(
    ref: str,
    session: SessionDep,
    principal: Dispatchers,
    settings: SettingsDep,
    day: Annotated[date | None, Query(alias="date")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> CandidatesRead:
    """Engineers who may take the ticket, best first, each with its score explained; on the
    day its customer asked for unless another is given."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    now = utcnow()
    day = day or service.visit_day(ticket, now, settings)
    job, ranked, excluded = service.candidates(
        session, ticket=ticket, day=day, now=now, settings=settings, network_id=_restrict(principal)
    )
    key = (job.category, job.service_type)
    return CandidatesRead(
        ticket_id=ticket.id,
        number=ticket.number,
        status=ticket.status,
        version=service.ticket_version(session, ticket_id=ticket.id),
        date=day,
        product_category=job.category,
        service_type=job.service_type,
        urgency=job.urgency,
        min_level=settings.min_level_for(job.urgency),
        sla_pressure=round(job.pressure, 3),
        candidates=[_candidate(r, i, key) for i, r in enumerate(ranked[:limit], start=1)],
        excluded=[
            ExcludedRead(
                engineer_id=w.id,
                name=w.name,
                network_id=w.network_id,
                reason=why,
                reason_zh=both(f"dispatch.excluded.{why}")[0],
                reason_en=both(f"dispatch.excluded.{why}")[1],
            )
            for w, why in excluded
            if why not in ("network", "coverage")
        ],
    )


@router.post("/tickets/{ref}/assign", response_model=AssignRead)
def assign(
    ref: str,
    body: AssignRequest,
    session: SessionDep,
    principal: Dispatchers,
    settings: SettingsDep,
    planner: PlannerDep,
) -> AssignRead:
    """Dispatch the ticket to an engineer or a network; reassign (改派) with a reason.

    Send the `version` from the candidates list as `expected_version`: if the ticket changed
    in between (another dispatcher was faster), the answer is 409.
    """
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    result = flows.assign(
        session,
        ticket=ticket,
        principal=principal,
        engineer_id=body.engineer_id,
        network_id=body.network_id,
        reason=body.reason,
        expected_version=body.expected_version,
        day=body.date,
        settings=settings,
        planner=planner,
    )
    return _assigned(result)


@router.post("/tickets/{ref}/reject", response_model=RejectRead)
def reject(
    ref: str,
    body: RejectRequest,
    session: SessionDep,
    principal: Engineers,
    settings: SettingsDep,
    planner: PlannerDep,
) -> RejectRead:
    """The assigned engineer turns the ticket down; the next candidate is assigned automatically
    (networks with auto-dispatch) or offered to the dispatcher."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    result = flows.reject(
        session,
        ticket=ticket,
        principal=principal,
        reason=body.reason,
        settings=settings,
        planner=planner,
    )
    t = result.ticket
    key = (service.ticket_category(session, ticket=t), t.type)
    return RejectRead(
        ticket_id=t.id,
        number=t.number,
        status=t.status,
        rejected_by=result.rejected_by,
        version=service.ticket_version(session, ticket_id=t.id),
        auto_assigned=result.next.assigned is not None,
        assigned=_assigned(result.next.assigned) if result.next.assigned else None,
        offer=_offer(result.next, key),
    )


@router.post("/tickets/{ref}/auto", response_model=AutoRead)
def auto(
    ref: str,
    session: SessionDep,
    principal: Dispatchers,
    settings: SettingsDep,
    planner: PlannerDep,
) -> AutoRead:
    """Run automatic dispatch on a waiting ticket (what the desk does right after accepting)."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    result = flows.auto_dispatch(session, ticket=ticket, settings=settings, planner=planner)
    key = (service.ticket_category(session, ticket=ticket), ticket.type)
    return AutoRead(
        ticket_id=ticket.id,
        number=ticket.number,
        status=ticket.status,
        auto_assigned=result.assigned is not None,
        assigned=_assigned(result.assigned) if result.assigned else None,
        offer=_offer(result, key),
    )


@router.post("/plan", response_model=PlanRead)
def plan(
    body: PlanRequest,
    session: SessionDep,
    principal: Dispatchers,
    settings: SettingsDep,
    planner: PlannerDep,
) -> PlanRead:
    """Plan a day: every waiting ticket assigned at once (optimal assignment), each engineer's
    visits routed with ETAs. With `apply: true` the plan is carried out."""
    started = clock.perf_counter()
    network_id = _restrict(principal) or body.network_id
    result = flows.plan_day(
        session,
        day=body.date,
        principal=principal,
        settings=settings,
        network_id=network_id,
        apply=body.apply,
        planner=planner,
    )
    elapsed = (clock.perf_counter() - started) * 1000
    return PlanRead(
        date=result.day,
        network_id=network_id,
        applied=result.applied,
        assignments=[
            PlanPickRead(
                ticket_id=p.job_id,
                number=result.tickets[p.job_id].number,
                engineer_id=p.worker_id,
                engineer_name=result.workers[p.worker_id].name,
                score=result.scores.get((p.job_id, p.worker_id), 0.0),
                distance_km=p.distance_km,
            )
            for p in result.plan.picks
        ],
        unassigned=[
            TicketRef(ticket_id=tid, number=result.tickets[tid].number)
            for tid in result.plan.unassigned
        ],
        skipped=[
            SkippedRead(
                ticket_id=tid, error=exc.key, message_zh=exc.message_zh, message_en=exc.message_en
            )
            for tid, exc in result.skipped
        ],
        total_distance_km=round(result.plan.total_km, 2),
        routes=[_route(r, settings) for r in result.routes],
        solve_ms=round(elapsed, 1),
        other_day=[
            OtherDayRead(ticket_id=tid, number=result.tickets[tid].number, asked_day=day)
            for tid, day in sorted(result.other_day.items())
        ],
    )


@router.get("/routes", response_model=RouteRead)
def routes(
    session: SessionDep,
    principal: RouteReaders,
    settings: SettingsDep,
    engineer_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    day: Annotated[date, Query(alias="date")],
) -> RouteRead:
    """An engineer's open visits of a day in order (nearest neighbour + 2-opt) with ETAs."""
    engineer = service.get_engineer(session, engineer_id=engineer_id)
    if not policies.engineer_visible(policies.ROUTES.scope(principal), engineer):
        raise NotFound("object.engineer")
    return _route(flows.route(session, engineer=engineer, day=day, settings=settings), settings)


@router.put("/engineers/{engineer_id}/position", response_model=PositionRead)
def position(
    engineer_id: IdPath,
    body: PositionRequest,
    session: SessionDep,
    principal: Engineers,
) -> PositionRead:
    """An engineer's app reports where they are; candidates measure travel from here."""
    engineer = service.get_engineer(session, engineer_id=engineer_id)
    if not policies.engineer_visible(policies.POSITION.scope(principal), engineer):
        raise NotFound("object.engineer")
    row = service.report_position(session, engineer_id=engineer.id, lat=body.lat, lng=body.lng)
    return PositionRead(
        engineer_id=row.engineer_id, lat=row.lat, lng=row.lng, reported_at=row.reported_at
    )
