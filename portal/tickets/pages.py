"""Ticket pages for staff: the list with saved views, and one ticket with what can be done to it.

Thin: every rule lives in service and lifecycle. A POST answers with a redirect back to the
ticket (post/redirect/get) and leaves the outcome, or the PortalError's message, as a flash.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from portal.accounts.service import actor_names
from portal.complaints import policies as complaint_policies
from portal.complaints import service as complaints
from portal.config import Settings
from portal.database import SessionDep, utcnow
from portal.dispatch import flows as dispatch_flows
from portal.dispatch.pages import may_dispatch, ticket_panel
from portal.dispatch.views import dispatch_settings, parts_planner
from portal.errors import Invalid, NotFound, PortalError
from portal.fees import service as fees
from portal.i18n import ACTION_LABELS, Lang, t
from portal.networks.service import list_engineers, list_networks
from portal.security import Principal
from portal.settlement import flows as settlement_flows
from portal.templating import (
    PAGE_ROUTER_OPTIONS,
    Staff,
    flash,
    flash_error,
    flash_invalid,
    render,
    request_lang,
    see_other,
)
from portal.tickets import lifecycle, policies, service, templates
from portal.tickets.models import Ticket
from portal.tickets.policies import EditorPage, StaffReaderPage
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
# Actions that cannot be taken back: the page asks once more, and the form says it did.
CONFIRMED = frozenset({"cancel"})
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
    sees_all = policies.sees_every_ticket(user)
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
    return actor_names(session, actors, lang)


@router.get("/tickets/{ref}", response_class=Response)
def ticket_detail(
    request: Request,
    ref: str,
    session: SessionDep,
    user: StaffReaderPage,
    reason: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    """One ticket: facts, intake details, actions, history, stage durations, notes, files;
    for a dispatcher, its ranked candidates (the dispatch section). `reason`: a refused
    reassignment's reason, given back to its field."""
    settings: Settings = request.app.state.settings
    ticket = service.get_ticket(session, ref=ref, principal=user)
    actions = lifecycle.allowed_actions(ticket, user.role)
    comments = service.list_comments(session, ticket=ticket, principal=user)
    attachments = service.list_attachments(session, ticket=ticket)
    events = list(ticket.events)
    dispatch_panel = None
    dispatch_problem: tuple[str, str] | None = None
    if ASSIGNING & set(actions) and may_dispatch(user, ticket):
        try:
            dispatch_panel = ticket_panel(request, session, ticket=ticket, user=user)
        except PortalError as exc:
            dispatch_problem = (exc.message_zh, exc.message_en)
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
    quotes = fees.quotes_of(session, ticket_id=ticket.id)
    return render(
        request,
        "tickets/detail.html",
        {
            "ticket": ticket,
            "events": events,
            "actions": actions,
            "reason_required": REASON_REQUIRED,
            "confirmed": CONFIRMED,
            "reason_optional": REASON_OPTIONAL,
            "assigning": ASSIGNING,
            "dispatch_panel": dispatch_panel,
            "dispatch_problem": dispatch_problem,
            "typed_reason": reason,
            "engineer_names": {e.id: e.name for e in list_engineers(session, ids=mentioned_ids)}
            if mentioned_ids
            else {},
            "network": network[0] if network else None,
            "stages": lifecycle.stage_durations(events),
            "comments": comments,
            "attachments": attachments,
            "actors": _actor_names(session, actors, request_lang(request)),
            "missing": missing,
            "warranty": fees.warranty_facts(
                session, ticket=ticket, on=utcnow().astimezone(fees.LOCAL).date()
            ),
            "quotes": quotes,
            # What the customer wrote when declining, beside the quote they declined.
            "decline_reasons": {q.id: settlement_flows.decline_reason(ticket, q) for q in quotes},
            "desk": policies.EDIT.allows(user),
            "can_edit": policies.EDIT.allows(user) and ticket.status not in INTAKE_LOCKED,
            "intake_fields": INTAKE_FIELDS,
            "urgencies": URGENCIES,
            "upload_mb": settings.upload_max_bytes // (1024 * 1024),
            "follow_up_of": complaints.follow_up_of(session, ticket_id=ticket.id),
            "follow_ups": [
                c for c in complaints.of_ticket(session, ticket_id=ticket.id) if c.follow_up
            ],
            "complaint_reader": complaint_policies.READ.allows(user),
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
    user: StaffReaderPage,
    action: Annotated[str, Form(max_length=32)],
    reason: FormText = "",
    engineer_id: Annotated[str, Form(max_length=12)] = "",
    score: Annotated[str, Form(max_length=2)] = "",
    comment: FormText = "",
    confirm: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Take one lifecycle action (those that cannot be taken back once confirmed); a refusal
    comes back as a message on the ticket."""
    settings: Settings = request.app.state.settings
    ticket = service.get_ticket(session, ref=ref, principal=user)
    if action in CONFIRMED and confirm != "yes":
        flash_error(request, Invalid("ui.confirm.missing", field="confirm"))
        return see_other(_detail_url(ticket))
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
        if req.action in ASSIGNING:
            _assign(request, session, ticket=ticket, req=req, user=user)
        else:
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


def _assign(
    request: Request, session: Session, *, ticket: Ticket, req: TransitionRequest, user: Principal
) -> None:
    """派单 / 改派 from this form go through dispatch's service, as from the workbench and the
    API: the engineer must be one of the ticket's candidates, the parts are reserved."""
    if req.engineer_id is None:
        raise Invalid("dispatch.ui.pick_engineer", field="engineer_id")
    if req.action == "reassign" and not req.reason:
        raise Invalid("validation.missing", field="reason")
    dispatch_flows.assign(
        session,
        ticket=ticket,
        principal=user,
        engineer_id=req.engineer_id,
        reason=req.reason,
        settings=dispatch_settings(request),
        planner=parts_planner(request),
    )


@router.post("/tickets/{ref}/intake", response_class=Response)
def edit_intake(
    request: Request,
    ref: str,
    session: SessionDep,
    user: EditorPage,
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
    user: StaffReaderPage,
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
    user: StaffReaderPage,
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
