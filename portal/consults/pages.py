"""Consult pages: the engineer's (under /field, a phone), the experts' desk (/consults) and
what both and the ticket page read (a consult's thread, its files, a ticket's consults).

Thin: the rules live in `consults.service`, the messages to others in `consults.flows`.
Every POST answers with a redirect (post/redirect/get) and a flash; a refused form keeps
what was typed. Each change is announced to the live views once its transaction is
committed (a background task of the response).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from portal.config import Settings
from portal.consults import flows, service
from portal.consults.models import Consult
from portal.consults.policies import DESK, READ, DeskPage, FieldPage, ReaderPage
from portal.database import SessionDep
from portal.errors import PortalError
from portal.field import service as field
from portal.i18n import both
from portal.ids import IdPath
from portal.networks.models import Engineer
from portal.security import Principal
from portal.sop import service as sop
from portal.templating import PAGE_ROUTER_OPTIONS, flash, flash_error, render, see_other
from portal.tickets import service as tickets
from portal.tickets.models import Ticket

router = APIRouter(**PAGE_ROUTER_OPTIONS)

DRAFT_KEY = "consult_draft"
Text = Annotated[str, Form(max_length=service.TEXT_MAX + 100)]
Files = Annotated[list[UploadFile] | None, File()]
OneFile = Annotated[UploadFile | None, File()]


def limits(settings: Settings) -> service.Limits:
    """The consult's file limits from the settings."""
    return service.Limits(
        photo_bytes=settings.upload_max_bytes,
        video_bytes=settings.consult_video_max_bytes,
        video_s=settings.consult_video_max_s,
    )


async def _read(upload: UploadFile | None, cap: int) -> service.Upload | None:
    """A form's file (at most `cap` + 1 bytes read: enough to know it is too large); None for
    the empty part a browser sends when no file was chosen."""
    if upload is None:
        return None
    data = await upload.read(cap + 1)
    if not data and not upload.filename:
        return None
    return service.Upload(filename=upload.filename or "", data=data)


async def _read_all(uploads: list[UploadFile] | None, cap: int, most: int) -> list[service.Upload]:
    out = []
    for upload in (uploads or [])[: most + 1]:  # one more than allowed: refused, not dropped
        got = await _read(upload, cap)
        if got is not None:
            out.append(got)
    return out


def _ok(request: Request, key: str) -> None:
    zh, en = both(key)
    flash(request, "ok", zh, en)


def _refused(request: Request, session: Session, exc: PortalError, url: str) -> Response:
    session.rollback()
    flash_error(request, exc)
    return see_other(url)


def _keep(request: Request, where: str, **values: str) -> None:
    request.session[DRAFT_KEY] = {"where": where, **values}


def _kept(request: Request, where: str) -> dict[str, Any]:
    kept = request.session.pop(DRAFT_KEY, None)
    return kept if isinstance(kept, dict) and kept.get("where") == where else {}


def _announce(
    request: Request, session: Session, background: BackgroundTasks, consult: Consult
) -> None:
    """Tell the live views once the request's transaction is committed: the desk, and the
    phone of the job's engineer now."""
    ticket = session.get_one(Ticket, consult.ticket_id)
    background.add_task(
        flows.announce,
        request.app.state.hub.broker,
        consult_id=consult.id,
        engineer_id=ticket.engineer_id,
    )


def _thread_context(session: Session, consult: Consult) -> dict[str, Any]:
    ticket = session.get_one(Ticket, consult.ticket_id)
    engineer = session.get(Engineer, consult.engineer_id) if consult.engineer_id else None
    names = service.user_names(session, [consult.expert_id])
    return {
        "consult": consult,
        "ticket": ticket,
        "files": service.files(session, consult=consult),
        "engineer_name": engineer.name if engineer else "",
        "expert_name": names.get(consult.expert_id or 0, ""),
    }


# --- the engineer, on the phone -----------------------------------------------------------


def _field_job(session: Session, ref: str, user: Principal) -> Ticket:
    field.engineer_of(session, principal=user)
    return tickets.get_ticket(session, ref=ref, principal=user)


@router.get("/field/jobs/{ref}/consults/card", response_class=Response)
def field_card(request: Request, ref: str, session: SessionDep, user: FieldPage) -> Response:
    """The job page's consults card: this job's consults and, while it is open, a way to ask."""
    ticket = _field_job(session, ref, user)
    return render(
        request,
        "consults/_job_card.html",
        {
            "ticket": ticket,
            "consults": service.for_ticket(session, ticket_id=ticket.id),
            "consult_open": ticket.status in field.OPEN_FOR_ENGINEER,
        },
    )


@router.get("/field/jobs/{ref}/consults/new", response_class=Response)
def field_new(request: Request, ref: str, session: SessionDep, user: FieldPage) -> Response:
    """The form to ask the experts about a job: question, fault code, photos, a clip."""
    settings: Settings = request.app.state.settings
    ticket = _field_job(session, ref, user)
    kept = _kept(request, f"new:{ticket.number}")
    lim = limits(settings)
    return render(
        request,
        "consults/field_new.html",
        {
            "ticket": ticket,
            "codes": service.fault_codes(session, ticket=ticket),
            "question": kept.get("question", ""),
            "fault_code": kept.get("fault_code", service.suggested_code(ticket)),
            "limits": lim,
            "photo_mb": lim.mb(lim.photo_bytes),
            "video_mb": lim.mb(lim.video_bytes),
            "open": ticket.status in field.OPEN_FOR_ENGINEER,
        },
    )


@router.post("/field/jobs/{ref}/consults", response_class=Response)
async def field_open(
    request: Request,
    ref: str,
    session: SessionDep,
    user: FieldPage,
    background: BackgroundTasks,
    question: Text = "",
    fault_code: Annotated[str, Form(max_length=100)] = "",
    photos: Files = None,
    video: OneFile = None,
) -> Response:
    """Open the consult; the experts' desk (and the group robots) hear of it."""
    settings: Settings = request.app.state.settings
    ticket = _field_job(session, ref, user)
    back = f"/field/jobs/{ticket.number}/consults/new"
    _keep(request, f"new:{ticket.number}", question=question, fault_code=fault_code)
    lim = limits(settings)
    try:
        consult = service.open_consult(
            session,
            ticket=ticket,
            principal=user,
            question=question,
            fault_code=fault_code,
            photos=await _read_all(photos, lim.photo_bytes, lim.photos),
            video=await _read(video, lim.video_bytes),
            limits=lim,
            root=settings.uploads_path,
        )
        engineer = session.get_one(Engineer, user.engineer_id)
        flows.opened(
            session,
            consult=consult,
            ticket=ticket,
            engineer_name=engineer.name,
            settings=settings,
            link_base=str(request.base_url),
        )
    except PortalError as exc:
        return _refused(request, session, exc, back)
    request.session.pop(DRAFT_KEY, None)
    _ok(request, "consult.opened")
    _announce(request, session, background, consult)
    return see_other(f"/field/consults/{consult.id}")


def _field_consult(session: Session, consult_id: int, user: Principal) -> Consult:
    field.engineer_of(session, principal=user)
    return service.get(session, consult_id=consult_id, principal=user, policy=READ)


@router.get("/field/consults/{consult_id}", response_class=Response)
def field_consult(
    request: Request, consult_id: IdPath, session: SessionDep, user: FieldPage
) -> Response:
    """One consult on the phone: the thread (live), a follow-up, resolve."""
    settings: Settings = request.app.state.settings
    consult = _field_consult(session, consult_id, user)
    lim = limits(settings)
    kept = _kept(request, f"consult:{consult.id}")
    return render(
        request,
        "consults/field_consult.html",
        {
            **_thread_context(session, consult),
            "text": kept.get("text", ""),
            "photo_mb": lim.mb(lim.photo_bytes),
            "video_mb": lim.mb(lim.video_bytes),
            "limits": lim,
        },
    )


@router.post("/field/consults/{consult_id}/messages", response_class=Response)
async def field_follow_up(
    request: Request,
    consult_id: IdPath,
    session: SessionDep,
    user: FieldPage,
    background: BackgroundTasks,
    text: Text = "",
    photos: Files = None,
    video: OneFile = None,
) -> Response:
    """The engineer adds to their consult."""
    settings: Settings = request.app.state.settings
    consult = _field_consult(session, consult_id, user)
    url = f"/field/consults/{consult.id}"
    _keep(request, f"consult:{consult.id}", text=text)
    lim = limits(settings)
    try:
        service.follow_up(
            session,
            consult=consult,
            principal=user,
            text=text,
            photos=await _read_all(photos, lim.photo_bytes, lim.photos),
            video=await _read(video, lim.video_bytes),
            limits=lim,
            root=settings.uploads_path,
        )
    except PortalError as exc:
        return _refused(request, session, exc, url)
    request.session.pop(DRAFT_KEY, None)
    _ok(request, "consult.sent")
    _announce(request, session, background, consult)
    return see_other(url + "#thread")


@router.post("/field/consults/{consult_id}/resolve", response_class=Response)
def field_resolve(
    request: Request,
    consult_id: IdPath,
    session: SessionDep,
    user: FieldPage,
    background: BackgroundTasks,
) -> Response:
    """The engineer's problem is solved: the consult is closed."""
    consult = _field_consult(session, consult_id, user)
    url = f"/field/consults/{consult.id}"
    try:
        service.resolve(session, consult=consult, principal=user)
    except PortalError as exc:
        return _refused(request, session, exc, url)
    _ok(request, "consult.resolved_ok")
    _announce(request, session, background, consult)
    return see_other(url)


# --- the experts' desk ----------------------------------------------------------------------


def _lists(session: Session, user: Principal) -> dict[str, Any]:
    queue = service.queue(session)
    mine = service.taken_by(session, user_id=user.user_id or 0)
    done = service.recently_resolved(session)
    shown = [*queue, *mine, *done]
    ids = {c.ticket_id for c in shown}
    found = {t.id: t for t in tickets_by_id(session, ids)}
    engineers = {
        e.id: e.name
        for e in (session.get(Engineer, i) for i in {c.engineer_id for c in shown if c.engineer_id})
        if e is not None
    }
    return {"queue": queue, "mine": mine, "done": done, "tickets": found, "engineers": engineers}


def tickets_by_id(session: Session, ids: set[int]) -> list[Ticket]:
    """Tickets by id (no visibility filter: the desk sees every consulted ticket)."""
    return [t for t in (session.get(Ticket, i) for i in sorted(ids)) if t is not None]


@router.get("/consults", response_class=Response)
def desk(
    request: Request,
    session: SessionDep,
    user: DeskPage,
    open_: Annotated[int | None, Query(alias="open", ge=1, le=2**31 - 1)] = None,
) -> Response:
    """The experts' desk: the queue and their consults (live), one consult with the unit's
    history and the standard job beside it."""
    settings: Settings = request.app.state.settings
    context: dict[str, Any] = {**_lists(session, user), "current": None}
    if open_ is not None:
        consult = service.get(session, consult_id=open_, principal=user, policy=DESK)
        ticket = session.get_one(Ticket, consult.ticket_id)
        found = sop.for_ticket(session, ticket=ticket)
        kept = _kept(request, f"answer:{consult.id}")
        lim = limits(settings)
        context.update(
            {
                **_thread_context(session, consult),
                "current": consult,
                "history": field.unit_history(session, ticket=ticket),
                "sop": found.job,
                "sop_match": found.match,
                "customer": ticket.customer,
                "text": kept.get("text", ""),
                "measure": kept.get("measure", ""),
                "photo_mb": lim.mb(lim.photo_bytes),
                "limits": lim,
            }
        )
    return render(request, "consults/desk.html", context)


@router.get("/consults/lists", response_class=Response)
def desk_lists(
    request: Request,
    session: SessionDep,
    user: DeskPage,
    open_: Annotated[int | None, Query(alias="open", ge=1, le=2**31 - 1)] = None,
) -> Response:
    """The desk's lists alone, which the page fetches when the socket says they changed."""
    current = service.get(session, consult_id=open_, principal=user, policy=DESK) if open_ else None
    return render(request, "consults/_lists.html", {**_lists(session, user), "current": current})


def _desk_consult(session: Session, consult_id: int, user: Principal) -> Consult:
    return service.get(session, consult_id=consult_id, principal=user, policy=DESK)


@router.post("/consults/{consult_id}/take", response_class=Response)
def desk_take(
    request: Request,
    consult_id: IdPath,
    session: SessionDep,
    user: DeskPage,
    background: BackgroundTasks,
) -> Response:
    """An expert takes the consult."""
    consult = _desk_consult(session, consult_id, user)
    url = f"/consults?open={consult.id}"
    try:
        service.take(session, consult=consult, principal=user)
    except PortalError as exc:
        return _refused(request, session, exc, url)
    _ok(request, "consult.taken_ok")
    _announce(request, session, background, consult)
    return see_other(url)


@router.post("/consults/{consult_id}/answer", response_class=Response)
async def desk_answer(
    request: Request,
    consult_id: IdPath,
    session: SessionDep,
    user: DeskPage,
    background: BackgroundTasks,
    text: Text = "",
    measure: Annotated[str, Form(max_length=service.MEASURE_MAX + 100)] = "",
    photos: Files = None,
) -> Response:
    """An expert answers: text, a recommended measure, photos."""
    settings: Settings = request.app.state.settings
    consult = _desk_consult(session, consult_id, user)
    url = f"/consults?open={consult.id}"
    _keep(request, f"answer:{consult.id}", text=text, measure=measure)
    lim = limits(settings)
    try:
        service.answer(
            session,
            consult=consult,
            principal=user,
            text=text,
            measure=measure,
            photos=await _read_all(photos, lim.photo_bytes, lim.photos),
            limits=lim,
            root=settings.uploads_path,
        )
    except PortalError as exc:
        return _refused(request, session, exc, url + "#answer")
    session.refresh(consult)
    flows.answered(
        session,
        consult=consult,
        ticket=session.get_one(Ticket, consult.ticket_id),
        expert_name=consult.messages[-1].author_name if consult.messages else "",
    )
    request.session.pop(DRAFT_KEY, None)
    _ok(request, "consult.answered_ok")
    _announce(request, session, background, consult)
    return see_other(url)


@router.post("/consults/{consult_id}/resolve", response_class=Response)
def desk_resolve(
    request: Request,
    consult_id: IdPath,
    session: SessionDep,
    user: DeskPage,
    background: BackgroundTasks,
) -> Response:
    """An expert closes the consult."""
    consult = _desk_consult(session, consult_id, user)
    url = f"/consults?open={consult.id}"
    try:
        service.resolve(session, consult=consult, principal=user)
    except PortalError as exc:
        return _refused(request, session, exc, url)
    _ok(request, "consult.resolved_ok")
    _announce(request, session, background, consult)
    return see_other(url)


# --- what several pages read ------------------------------------------------------------------


@router.get("/consults/{consult_id}/thread", response_class=Response)
def thread(request: Request, consult_id: IdPath, session: SessionDep, user: ReaderPage) -> Response:
    """A consult's messages alone: the live views fetch it when the socket says it changed."""
    consult = service.get(session, consult_id=consult_id, principal=user, policy=READ)
    return render(request, "consults/_thread.html", _thread_context(session, consult))


@router.get("/consults/{consult_id}/files/{attachment_id}", response_class=FileResponse)
def consult_file(
    request: Request,
    consult_id: IdPath,
    attachment_id: IdPath,
    session: SessionDep,
    user: ReaderPage,
) -> FileResponse:
    """One of the consult's photos or clips."""
    settings: Settings = request.app.state.settings
    consult = service.get(session, consult_id=consult_id, principal=user, policy=READ)
    attachment = service.get_file(session, consult=consult, attachment_id=attachment_id)
    return FileResponse(
        settings.uploads_path / attachment.storage_key,
        media_type=attachment.content_type,
        filename=attachment.filename,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"},
    )


@router.get("/consults/ticket/{ref}", response_class=Response)
def for_ticket(request: Request, ref: str, session: SessionDep, user: ReaderPage) -> Response:
    """A ticket's consults, as the staff ticket page shows them."""
    sees_all = READ.scope(user).everything
    ticket = tickets.get_ticket(session, ref=ref, principal=None if sees_all else user)
    rows = service.for_ticket(session, ticket_id=ticket.id)
    return render(
        request,
        "consults/_ticket.html",
        {
            "ticket": ticket,
            "consults": [_thread_context(session, c) for c in rows],
            "desk": DESK.allows(user),
        },
    )
