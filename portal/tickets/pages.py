"""Ticket pages for staff: the list with saved views, and one ticket with what can be done to it.

Thin: every rule lives in service and lifecycle. A POST answers with a redirect back to the
ticket (post/redirect/get) and leaves the outcome, or the PortalError's message, as a flash.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from portal.accounts.service import display_names
from portal.config import Settings
from portal.database import SessionDep
from portal.errors import Forbidden, NotFound, PortalError
from portal.i18n import ACTION_LABELS, Lang, t
from portal.networks.service import list_engineers, list_networks
from portal.security import Principal
from portal.templating import (
    DESK_ROLES,
    PAGE_ROUTER_OPTIONS,
    Staff,
    flash,
    flash_error,
    flash_invalid,
    render,
    request_lang,
    see_other,
)
from portal.tickets import lifecycle, service, templates
from portal.tickets.models import Ticket
from portal.tickets.schemas import CommentCreate, TicketUpdate, TransitionRequest

router = APIRouter(**PAGE_ROUTER_OPTIONS)

PAGE_SIZE = 20
VIEW_TABS = ("pending", "to_dispatch", "in_service", "waiting_parts", "overdue", "to_evaluate",
             "to_settle")  # fmt: skip
SORTABLE = ("number", "status", "created_at", "updated_at")
# The page asks for a reason where the service demands one, and offers it where it helps.
REASON_REQUIRED = frozenset({"reassign", "engineer_reject"})
REASON_OPTIONAL = frozenset(
    {"cancel", "reopen", "escalate", "urge", "wait_parts", "resume", "resolve_remotely"}
)
ASSIGNING = frozenset({"dispatch", "reassign"})
# Mirrors service.update_ticket, so the form is not offered where the service would refuse.
INTAKE_LOCKED = lifecycle.TERMINAL | {"completed", "evaluated"}
INTAKE_FIELDS = ("product", "model_code", "serial_number", "fault_description", "fault_started",
                 "preferred_time", "city", "district", "address")  # fmt: skip
URGENCIES = ("low", "normal", "high", "urgent")

FormText = Annotated[str, Form(max_length=4000)]


def _detail_url(ticket: Ticket) -> str:
    return f"/tickets/{ticket.number}"


@router.get("/tickets", response_class=Response)
def ticket_list(
    request: Request,
    session: SessionDep,
    user: Staff,
    view: Annotated[str, Query(max_length=32)] = "",
    status: Annotated[str, Query(max_length=32)] = "",
    type_: Annotated[str, Query(alias="type", max_length=32)] = "",
    q: Annotated[str, Query(max_length=64)] = "",
    network: Annotated[str, Query(max_length=12)] = "",
    sort: Annotated[str, Query(pattern=r"^-?(created_at|updated_at|number|status)$")] = (
        "-created_at"
    ),
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The tickets this staff member may see, by saved view, filters and sort order."""
    sees_all = user.role in service.STAFF_SEE_ALL
    network_id = int(network) if network.isdigit() and sees_all else None
    rows, total = service.list_tickets(
        session,
        principal=user,
        view=view if view in VIEW_TABS else None,
        status=[status] if status else None,
        type_=type_ or None,
        q=q.strip() or None,
        network_id=network_id,
        sort=sort,
        page=page,
        page_size=PAGE_SIZE,
    )
    networks = list_networks(session)
    engineer_ids = {r.engineer_id for r in rows if r.engineer_id}
    engineers = list_engineers(session, ids=engineer_ids) if engineer_ids else []
    return render(
        request,
        "tickets/list.html",
        {
            "tickets": rows,
            "total": total,
            "page": page,
            "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
            "views": VIEW_TABS,
            "view": view if view in VIEW_TABS else "",
            "status": status,
            "type": type_,
            "q": q,
            "network": str(network_id or ""),
            "sort": sort,
            "sortable": SORTABLE,
            "networks": networks if sees_all else [],
            "network_names": {n.id: n.name for n in networks},
            "engineer_names": {e.id: e.name for e in engineers},
        },
    )


def _actor_names(session: Session, actors: Iterable[str], lang: Lang) -> dict[str, str]:
    """How the page names each actor: staff by display name, the rest by kind."""
    actors = set(actors)
    ids = {int(a[5:]) for a in actors if a.startswith("user:") and a[5:].isdigit()}
    names = display_names(session, user_ids=ids)
    out: dict[str, str] = {}
    for actor in actors:
        kind, _, rest = actor.partition(":")
        if kind == "user" and rest.isdigit() and int(rest) in names:
            out[actor] = names[int(rest)]
        elif kind == "service":
            out[actor] = t("ui.actor.bot", lang)
        elif kind == "customer":
            out[actor] = t("ui.actor.customer", lang)
        elif kind == "system":
            out[actor] = t("ui.actor.system", lang)
        else:
            out[actor] = actor
    return out


def _assignable(session: Session, ticket: Ticket, user: Principal) -> list[Any]:
    """Engineers to offer for dispatch: the ticket's city (a manager: their own network)."""
    network_id = user.network_id if user.role == "network_manager" else None
    return list_engineers(session, city=ticket.city or None, network_id=network_id)


@router.get("/tickets/{ref}", response_class=Response)
def ticket_detail(request: Request, ref: str, session: SessionDep, user: Staff) -> Response:
    """One ticket: facts, intake details, actions, history, stage durations, notes, files."""
    settings: Settings = request.app.state.settings
    ticket = service.get_ticket(session, ref=ref, principal=user)
    actions = lifecycle.allowed_actions(ticket, user.role)
    comments = service.list_comments(session, ticket=ticket, principal=user)
    attachments = service.list_attachments(session, ticket=ticket)
    events = list(ticket.events)
    candidates = _assignable(session, ticket, user) if ASSIGNING & set(actions) else []
    mentioned = {e.payload.get("engineer_id") for e in events} | {ticket.engineer_id}
    mentioned_ids = {i for i in mentioned if isinstance(i, int)}
    network = list_networks(session, network_id=ticket.network_id) if ticket.network_id else []
    missing: list[str] = []
    if ticket.status == lifecycle.INITIAL_STATUS:
        gaps = templates.missing(
            service.ticket_values(ticket), templates.TEMPLATES[ticket.type].to_accept
        )
        missing = [gap.split("|")[0] for gap in gaps]
    actors = [e.actor for e in events] + [c.author for c in comments]
    actors += [a.uploaded_by for a in attachments]
    return render(
        request,
        "tickets/detail.html",
        {
            "ticket": ticket,
            "events": events,
            "actions": actions,
            "reason_required": REASON_REQUIRED,
            "reason_optional": REASON_OPTIONAL,
            "assigning": ASSIGNING,
            "candidates": candidates,
            "engineer_names": {e.id: e.name for e in list_engineers(session, ids=mentioned_ids)}
            if mentioned_ids
            else {},
            "network": network[0] if network else None,
            "stages": lifecycle.stage_durations(events),
            "comments": comments,
            "attachments": attachments,
            "actors": _actor_names(session, actors, request_lang(request)),
            "missing": missing,
            "desk": user.role in DESK_ROLES,
            "can_edit": user.role in DESK_ROLES and ticket.status not in INTAKE_LOCKED,
            "intake_fields": INTAKE_FIELDS,
            "urgencies": URGENCIES,
            "upload_mb": settings.upload_max_bytes // (1024 * 1024),
        },
    )


def _still_visible(session: Session, ticket: Ticket, user: Principal) -> bool:
    try:
        service.get_ticket(session, ref=ticket.number, principal=user)
    except NotFound:
        return False
    return True


@router.post("/tickets/{ref}/actions", response_class=Response)
def take_action(
    request: Request,
    ref: str,
    session: SessionDep,
    user: Staff,
    action: Annotated[str, Form(max_length=32)],
    reason: FormText = "",
    engineer_id: Annotated[str, Form(max_length=12)] = "",
    score: Annotated[str, Form(max_length=2)] = "",
    comment: FormText = "",
) -> Response:
    """Take one lifecycle action; a refusal comes back as a message on the ticket."""
    settings: Settings = request.app.state.settings
    ticket = service.get_ticket(session, ref=ref, principal=user)
    try:
        req = TransitionRequest.model_validate(
            {
                "action": action,
                "reason": reason,
                "engineer_id": engineer_id or None,
                "score": score or None,
                "comment": comment,
            }
        )
    except ValidationError as exc:
        flash_invalid(request, exc.errors())
        return see_other(_detail_url(ticket))
    try:
        service.transition(
            session,
            ticket=ticket,
            req=req,
            principal=user,
            reopen_window=timedelta(days=settings.reopen_window_days),
        )
    except PortalError as exc:
        session.rollback()
        flash_error(request, exc)
        return see_other(_detail_url(ticket))
    zh, en = ACTION_LABELS.get(req.action, (req.action, req.action))
    flash(request, "ok", t("ui.action_done", "zh", action=zh), t("ui.action_done", "en", action=en))
    # An engineer who rejects the job no longer sees the ticket: back to their list.
    return see_other(_detail_url(ticket) if _still_visible(session, ticket, user) else "/tickets")


@router.post("/tickets/{ref}/intake", response_class=Response)
def edit_intake(
    request: Request,
    ref: str,
    session: SessionDep,
    user: Staff,
    product: Annotated[str | None, Form(max_length=200)] = None,
    model_code: Annotated[str | None, Form(max_length=200)] = None,
    serial_number: Annotated[str | None, Form(max_length=200)] = None,
    fault_description: Annotated[str | None, Form(max_length=4000)] = None,
    fault_started: Annotated[str | None, Form(max_length=200)] = None,
    preferred_time: Annotated[str | None, Form(max_length=200)] = None,
    city: Annotated[str | None, Form(max_length=200)] = None,
    district: Annotated[str | None, Form(max_length=200)] = None,
    address: Annotated[str | None, Form(max_length=500)] = None,
    urgency: Annotated[str | None, Form(max_length=16)] = None,
) -> Response:
    """Correct or complete the intake details (service desk only)."""
    ticket = service.get_ticket(session, ref=ref, principal=user)
    if user.role not in DESK_ROLES:
        flash_error(request, Forbidden("error.forbidden"))
        return see_other(_detail_url(ticket))
    sent = {
        "product": product,
        "model_code": model_code,
        "serial_number": serial_number,
        "fault_description": fault_description,
        "fault_started": fault_started,
        "preferred_time": preferred_time,
        "city": city,
        "district": district,
        "address": address,
        "urgency": urgency,
    }
    try:
        data = TicketUpdate.model_validate({k: v for k, v in sent.items() if v is not None})
    except ValidationError as exc:
        flash_invalid(request, exc.errors())
        return see_other(_detail_url(ticket))
    try:
        service.update_ticket(session, ticket=ticket, data=data)
    except PortalError as exc:
        session.rollback()
        flash_error(request, exc)
        return see_other(_detail_url(ticket))
    flash(request, "ok", t("ui.saved", "zh"), t("ui.saved", "en"))
    return see_other(_detail_url(ticket))


@router.post("/tickets/{ref}/comments", response_class=Response)
def add_comment(
    request: Request,
    ref: str,
    session: SessionDep,
    user: Staff,
    body: FormText = "",
    internal: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Add a note: internal by default, or visible to the customer."""
    ticket = service.get_ticket(session, ref=ref, principal=user)
    try:
        data = CommentCreate.model_validate({"body": body, "internal": bool(internal)})
    except ValidationError as exc:
        flash_invalid(request, exc.errors())
        return see_other(_detail_url(ticket) + "#comments")
    service.add_comment(
        session, ticket=ticket, body=data.body, internal=data.internal, principal=user
    )
    flash(request, "ok", t("ui.comment.added", "zh"), t("ui.comment.added", "en"))
    return see_other(_detail_url(ticket) + "#comments")


@router.post("/tickets/{ref}/attachments", response_class=Response)
async def upload_attachment(
    request: Request,
    ref: str,
    session: SessionDep,
    user: Staff,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Attach a photo or PDF; a refused file comes back as a message."""
    settings: Settings = request.app.state.settings
    ticket = service.get_ticket(session, ref=ref, principal=user)
    data = await file.read(settings.upload_max_bytes + 1) if file is not None else b""
    try:
        service.save_attachment(
            session,
            ticket=ticket,
            filename=(file.filename if file is not None else "") or "upload",
            data=data,
            principal=user,
            root=settings.uploads_path,
            max_bytes=settings.upload_max_bytes,
        )
    except PortalError as exc:
        session.rollback()
        flash_error(request, exc)
        return see_other(_detail_url(ticket) + "#attachments")
    flash(request, "ok", t("ui.attachment.uploaded", "zh"), t("ui.attachment.uploaded", "en"))
    return see_other(_detail_url(ticket) + "#attachments")
