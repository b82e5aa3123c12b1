"""Complaint and revisit pages: the cases (list with filters, detail with actions, a form to
record one by hand) and the agents' revisit call queue. Thin: the rules live in service and
flows. A form that does not validate comes back filled in, with the message."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.complaints import flows, policies, service
from portal.complaints.models import Complaint
from portal.complaints.policies import HandlerPage, ReaderPage, RevisitPage
from portal.config import Settings
from portal.database import SessionDep, utcnow
from portal.errors import Invalid, PortalError
from portal.i18n import t
from portal.ids import IdPath
from portal.networks.models import ServiceNetwork
from portal.security import Principal
from portal.templating import PAGE_ROUTER_OPTIONS, flash, render, request_lang, see_other
from portal.tickets import service as tickets

router = APIRouter(**PAGE_ROUTER_OPTIONS)

# Who the nav links each page for: the policies' roles.
READ_ROLES = policies.READ.roles
REVISIT_ROLES = policies.REVISIT.roles
PAGE_SIZE = 50
TABS = ("active", "open", "in_progress", "resolved", "closed", "")
Text = Annotated[str, Form(max_length=2000)]


def _names(session: Session, rows: list[Complaint]) -> dict[str, dict[int, str]]:
    owners = {c.owner_id for c in rows if c.owner_id is not None}
    networks = {c.network_id for c in rows if c.network_id is not None}
    users = (
        dict(session.execute(select(User.id, User.display_name).where(User.id.in_(owners))).all())
        if owners
        else {}
    )
    nets = (
        dict(
            session.execute(
                select(ServiceNetwork.id, ServiceNetwork.name).where(
                    ServiceNetwork.id.in_(networks)
                )
            ).all()
        )
        if networks
        else {}
    )
    return {"owners": users, "networks": nets}


def _actor_names(session: Session, complaint: Complaint) -> dict[str, str]:
    """How the history names who acted: staff by name, the customer, the system."""
    ids = {
        int(e.actor.split(":", 1)[1])
        for e in complaint.events
        if e.actor.startswith("user:") and e.actor.split(":", 1)[1].isdigit()
    }
    if complaint.owner_id is not None:
        ids.add(complaint.owner_id)
    found = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
    return {f"user:{uid}": name for uid, name in found.items()}


@router.get("/complaints", response_class=Response)
def complaint_list(
    request: Request,
    session: SessionDep,
    user: ReaderPage,
    status: Annotated[str, Query(max_length=16)] = "active",
    reason: Annotated[str, Query(max_length=32)] = "",
    source: Annotated[str, Query(max_length=16)] = "",
    ticket: Annotated[str, Query(max_length=32)] = "",
    overdue: Annotated[str, Query(pattern=r"^(|1)$")] = "",
    mine: Annotated[str, Query(pattern=r"^(|1)$")] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """The complaint cases this reader sees, the ones due soonest first."""
    now = utcnow()
    scope = policies.READ.scope(user)
    filters = service.CaseFilters(
        status=status if status in TABS else "active",
        reason=reason if reason in service.REASONS else "",
        source=source if source in service.SOURCES else "",
        number=ticket.strip(),
        overdue=overdue == "1",
        mine=user.user_id if mine == "1" else None,
    )
    rows, total = service.list_cases(
        session,
        scope=scope,
        filters=filters,
        now=now,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "complaints/list.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "f": filters,
            "tabs": TABS,
            "counts": service.status_counts(session, scope=scope, now=now),
            "reasons": service.REASONS,
            "sources": service.SOURCES,
            "now": now,
            "can_handle": policies.HANDLE.allows(user),
            **_names(session, rows),
        },
    )


def _form(
    request: Request,
    *,
    values: dict[str, str],
    error: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "complaints/new.html",
        {
            "values": values,
            "error": error,
            "reasons": service.REASONS,
            "sources": service.SOURCES,
        },
        status_code=status_code,
    )


@router.get("/complaints/new", response_class=Response)
def new_complaint(
    request: Request,
    _user: HandlerPage,
    ticket: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """The form to record a complaint by hand (from a ticket page: its number filled in)."""
    values = {"ticket_number": ticket, "source": "phone", "reason": "other", "description": ""}
    return _form(request, values=values)


@router.post("/complaints/new", response_class=Response)
def create_complaint(
    request: Request,
    session: SessionDep,
    user: HandlerPage,
    ticket_number: Annotated[str, Form(max_length=32)] = "",
    source: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=32)] = "",
    description: Text = "",
) -> Response:
    """Record the complaint; a refused form comes back with what was typed."""
    values = {
        "ticket_number": ticket_number,
        "source": source,
        "reason": reason,
        "description": description,
    }
    settings: Settings = request.app.state.settings
    try:
        if not ticket_number.strip():
            raise Invalid("validation.missing", field="complaint_ticket")
        with session.begin_nested():
            complaint = flows.open_by_hand(
                session,
                ticket_number=ticket_number,
                source=source,
                reason=reason,
                description=description,
                principal=user,
                settings=settings,
            )
    except PortalError as exc:
        zh = request_lang(request) == "zh"
        message = exc.message_zh if zh else exc.message_en
        return _form(request, values=values, error=message, status_code=422)
    flash(
        request,
        "ok",
        t("complaints.opened", "zh", id=complaint.id),
        t("complaints.opened", "en", id=complaint.id),
    )
    return see_other(f"/complaints/{complaint.id}")


@router.get("/complaints/{complaint_id}", response_class=Response)
def complaint_detail(
    complaint_id: IdPath, request: Request, session: SessionDep, user: ReaderPage
) -> Response:
    """One case: the ticket and customer, what was said, its history, and its actions."""
    complaint = service.get_case(
        session, complaint_id=complaint_id, scope=policies.READ.scope(user)
    )
    can_handle = policies.HANDLE.allows(user)
    actions = service.available_actions(complaint) if can_handle else []
    if complaint.owner_id == user.user_id and complaint.status == "in_progress":
        actions = [a for a in actions if a != "take"]
    return render(
        request,
        "complaints/detail.html",
        {
            "c": complaint,
            "ticket": complaint.ticket,
            "actions": actions,
            "reasons": service.REASONS,
            "now": utcnow(),
            "names": _actor_names(session, complaint),
            **_names(session, [complaint]),
        },
    )


@router.post("/complaints/{complaint_id}/actions", response_class=Response)
def complaint_action(
    complaint_id: IdPath,
    request: Request,
    session: SessionDep,
    user: HandlerPage,
    action: Annotated[str, Form(max_length=16)] = "",
    note: Text = "",
    reason: Annotated[str, Form(max_length=32)] = "",
    follow_up: Annotated[str, Form(pattern=r"^(|1)$")] = "",
) -> Response:
    """Take one action; a refused one says why (what was typed is kept in the form). A
    resolution with `follow_up` opens the repair visit it promises."""
    complaint = service.get_case(
        session, complaint_id=complaint_id, scope=policies.HANDLE.scope(user)
    )
    try:
        with session.begin_nested():
            flows.act(
                session,
                complaint=complaint,
                action=action,
                principal=user,
                note=note,
                reason=reason,
                follow_up=follow_up == "1",
                settings=request.app.state.settings,
            )
    except PortalError as exc:
        session.refresh(complaint)
        zh = request_lang(request) == "zh"
        return _detail_with_error(
            request,
            session,
            user,
            complaint,
            exc.message_zh if zh else exc.message_en,
            action,
            note,
        )
    done = "complaints.resolved_told" if action == "resolve" else "complaints.saved"
    flash(request, "ok", t(done, "zh"), t(done, "en"))
    return see_other(f"/complaints/{complaint.id}")


def _detail_with_error(
    request: Request,
    session: Session,
    user: Principal,
    complaint: Complaint,
    message: str,
    action: str,
    note: str,
) -> Response:
    actions = service.available_actions(complaint)
    return render(
        request,
        "complaints/detail.html",
        {
            "c": complaint,
            "ticket": complaint.ticket,
            "actions": actions,
            "reasons": service.REASONS,
            "now": utcnow(),
            "names": _actor_names(session, complaint),
            "error": message,
            "typed": {"action": action, "note": note},
            **_names(session, [complaint]),
        },
        status_code=422,
    )


# ---------------------------------------------------------------- revisit calls


def _queue(
    request: Request,
    session: Session,
    user: Principal,
    *,
    error: str = "",
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    settings: Settings = request.app.state.settings
    hours = settings.revisit_call_after_hours
    rows, total = service.due_revisits(session, asked_before=utcnow() - timedelta(hours=hours))
    return render(
        request,
        "complaints/revisits.html",
        {
            "rows": rows,
            "total": total,
            "hours": f"{hours:g}",
            "me": user.actor,
            "outcomes": flows.CALL_OUTCOMES,
            "error": error,
            "typed": typed or {},
        },
        status_code=status_code,
    )


@router.get("/revisits", response_class=Response)
def revisit_queue(request: Request, session: SessionDep, user: RevisitPage) -> Response:
    """Completed tickets whose customers did not rate them within REVISIT_CALL_AFTER_HOURS
    of the invitation: the agent calls and records the answer."""
    return _queue(request, session, user)


def _due_ticket(session: Session, number: str, user: Principal) -> Any:
    return tickets.get_ticket(session, ref=number, principal=user)


@router.post("/revisits/{number}/call", response_class=Response)
def revisit_call(number: str, request: Request, session: SessionDep, user: RevisitPage) -> Response:
    """Start the revisit call: recorded on the ticket, and the number shown to this agent."""
    ticket = _due_ticket(session, number, user)
    try:
        with session.begin_nested():
            flows.start_call(
                session, ticket=ticket, principal=user, settings=request.app.state.settings
            )
    except PortalError as exc:
        flash(request, "error", exc.message_zh, exc.message_en)
    return see_other(f"/revisits#r-{ticket.number}")


@router.post("/revisits/{number}", response_class=Response)
def revisit_record(
    number: str,
    request: Request,
    session: SessionDep,
    user: RevisitPage,
    outcome: Annotated[str, Form(max_length=16)] = "",
    score: Annotated[str, Form(max_length=2)] = "",
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """What the customer said: a rating (and comment), only a comment, or no answer."""
    ticket = _due_ticket(session, number, user)
    try:
        if score and (not score.isdigit() or not 1 <= int(score) <= 5):
            raise Invalid("validation.invalid", field="score")
        with session.begin_nested():
            flows.record_call(
                session,
                ticket=ticket,
                outcome=outcome,
                score=int(score) if score else None,
                comment=comment,
                principal=user,
                settings=request.app.state.settings,
            )
    except PortalError as exc:
        session.refresh(ticket)
        zh = request_lang(request) == "zh"
        typed = {"number": ticket.number, "outcome": outcome, "score": score, "comment": comment}
        message = exc.message_zh if zh else exc.message_en
        return _queue(request, session, user, error=message, typed=typed, status_code=422)
    flash(
        request,
        "ok",
        t("revisits.recorded", "zh", number=ticket.number),
        t("revisits.recorded", "en", number=ticket.number),
    )
    return see_other("/revisits")
