"""Cost-centre pages: the engineer's fault cause (posted from the field app's job page), factory
quality's appraisals and the repeats for R&D under /quality, and finance's month per cost
centre with its cases and lines under /settlement/cost-centres.

Thin: the records are in `costs.service`, the postings in `costs.flows`. Every POST answers
with a redirect and leaves the outcome, or the refusal's message, as a flash."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.service import display_names
from portal.config import Settings
from portal.costs import causes, fieldform
from portal.costs import flows as cost_flows
from portal.costs import service as costs
from portal.costs.models import CostCase
from portal.costs.policies import FinancePage, QualityPage
from portal.database import SessionDep
from portal.errors import PortalError
from portal.field.models import WorkRecord
from portal.field.pages import FieldUser
from portal.i18n import t
from portal.ids import IdPath
from portal.networks.models import Engineer, ServiceNetwork
from portal.settlement import ledger
from portal.settlement.models import LedgerAccount, LedgerEntry, LedgerTransaction
from portal.templating import (
    PAGE_ROUTER_OPTIONS,
    flash,
    flash_error,
    render,
    see_other,
    shanghai_today,
)
from portal.tickets import service as tickets

router = APIRouter(**PAGE_ROUTER_OPTIONS)

PeriodQuery = Annotated[str | None, Query(pattern=r"^(20\d{2}-(0[1-9]|1[0-2]))?$")]
StatusQuery = Annotated[str, Query(pattern=r"^(recorded|confirmed|reclassified|all)?$")]
CentrePath = Annotated[str, Path(pattern=r"^(factory|sales)$")]
CauseForm = Annotated[str, Form(max_length=32)]
MAX_PHOTOS = costs.MAX_EVIDENCE


def _ok(request: Request, key: str) -> None:
    flash(request, "ok", t(key, "zh"), t(key, "en"))


def _refused(request: Request, session: Session, exc: PortalError, url: str) -> Response:
    session.rollback()
    flash_error(request, exc)
    return see_other(url)


# ---- the engineer's fault cause (field app) ----------------------------------------------


@router.post("/field/jobs/{ref}/cause", response_class=Response)
async def record_cause(
    request: Request,
    ref: str,
    session: SessionDep,
    user: FieldUser,
    cause: CauseForm = "",
    note: Annotated[str, Form(max_length=500)] = "",
    evidence: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """The fault cause of an in-warranty job, with evidence photos (required for a quality
    cause): it decides which cost centre carries the job's costs."""
    settings: Settings = request.app.state.settings
    ticket = tickets.get_ticket(session, ref=ref, principal=user)
    url = f"/field/jobs/{ticket.number}#cause"
    fieldform.keep_draft(request, ticket, cause=cause, note=note)
    photos: list[tuple[str, bytes]] = []
    for upload in (evidence or [])[: MAX_PHOTOS + 1]:
        data = await upload.read(settings.upload_max_bytes + 1)
        if not data and not upload.filename:
            continue  # the empty part a browser sends when no file was chosen
        photos.append((upload.filename or "evidence", data))
    try:
        costs.record_cause(
            session,
            ticket=ticket,
            cause=cause,
            note=note,
            photos=photos,
            engineer_id=user.engineer_id,
            principal=user,
            root=settings.uploads_path,
            max_bytes=settings.upload_max_bytes,
            on=shanghai_today(),
        )
    except PortalError as exc:
        return _refused(request, session, exc, url)
    request.session.pop(fieldform.DRAFT_KEY, None)
    _ok(request, "costs.flash.recorded")
    return see_other(url)


# ---- factory quality: appraisals and repeats ---------------------------------------------


def _people(session: Session, rows: list[costs.CaseRow]) -> dict[int, str]:
    """Engineer id -> "name · network", for the cases' lists."""
    ids = {r.case.engineer_id for r in rows if r.case.engineer_id}
    out: dict[int, str] = {}
    if not ids:
        return out
    for eng, net in session.execute(
        select(Engineer, ServiceNetwork)
        .join(ServiceNetwork, ServiceNetwork.id == Engineer.network_id)
        .where(Engineer.id.in_(ids))
    ):
        out[eng.id] = f"{eng.name} · {net.name}"
    return out


def _cost_entries(
    session: Session, *, ticket_ids: list[int]
) -> list[tuple[LedgerEntry, LedgerTransaction, str]]:
    """Every cost-centre line of these tickets (allocations and their reversals)."""
    if not ticket_ids:
        return []
    rows = session.execute(
        select(LedgerEntry, LedgerTransaction, LedgerAccount.code)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.code.startswith("cc:"), LedgerEntry.ticket_id.in_(ticket_ids))
        .order_by(LedgerEntry.id)
    ).all()
    return [(e, txn, code) for e, txn, code in rows]


def _standing_costs(session: Session, rows: list[costs.CaseRow]) -> dict[int, tuple[str, object]]:
    """Ticket id -> (centre, amount) its costs stand on now."""
    out: dict[int, dict[str, object]] = {}
    for entry, _txn, code in _cost_entries(session, ticket_ids=[r.ticket.id for r in rows]):
        centre = code.split(":")[1]
        sums = out.setdefault(entry.ticket_id or 0, {})
        sums[centre] = sums.get(centre, ledger.ZERO) + entry.amount  # type: ignore[operator]
    return {
        tid: next(((c, a) for c, a in sums.items() if a), ("", ledger.ZERO))
        for tid, sums in out.items()
    }


@router.get("/quality", response_class=Response)
def quality_page(
    request: Request, session: SessionDep, user: QualityPage, status: StatusQuery = "recorded"
) -> Response:
    """Quality cases to appraise (鉴定), or those already appraised."""
    rows = costs.quality_cases(session, status=None if status in ("", "all") else status)
    return render(
        request,
        "costs/quality.html",
        {
            "rows": rows,
            "status": status or "recorded",
            "counts": costs.counts(session),
            "people": _people(session, rows),
            "standing": _standing_costs(session, rows),
            "tab": "cases",
        },
    )


@router.get("/quality/repeats", response_class=Response)
def repeats_page(
    request: Request,
    session: SessionDep,
    user: QualityPage,
    minimum: Annotated[int, Query(alias="min", ge=2, le=50)] = 2,
) -> Response:
    """Quality problems that came back per model and part, for R&D."""
    return render(
        request,
        "costs/repeats.html",
        {
            "repeats": costs.repeats(session, minimum=minimum),
            "minimum": minimum,
            "counts": costs.counts(session),
            "tab": "repeats",
        },
    )


def _case_url(row: costs.CaseRow) -> str:
    return f"/quality/cases/{row.ticket.number}"


@router.get("/quality/cases/{ref}", response_class=Response)
def case_page(request: Request, ref: str, session: SessionDep, user: QualityPage) -> Response:
    """One quality case: the cause and its evidence, the work record, its cost lines, and the
    appraisal (confirm, or reclassify with a reason)."""
    row = costs.get_case(session, ref=ref)
    record = session.scalars(
        select(WorkRecord).where(WorkRecord.ticket_id == row.ticket.id).order_by(WorkRecord.id)
    ).all()
    lines = _cost_entries(session, ticket_ids=[row.ticket.id])
    actors = {row.case.recorded_by, row.case.appraised_by or ""}
    ids = {int(a[5:]) for a in actors if a.startswith("user:") and a[5:].isdigit()}
    names = {f"user:{k}": v for k, v in display_names(session, user_ids=ids).items()}
    kept = request.session.pop(fieldform.DRAFT_KEY, None)
    draft = kept if isinstance(kept, dict) and kept.get("ref") == row.ticket.number else {}
    return render(
        request,
        "costs/case.html",
        {
            "row": row,
            "case": row.case,
            "ticket": row.ticket,
            "record": record[-1] if record else None,
            "photos": costs.evidence(session, case=row.case),
            "people": _people(session, [row]),
            "lines": lines,
            "names": names,
            "reason": draft.get("reason", ""),
            "chosen": draft.get("cause", ""),
            "others": causes.of_class(causes.other_class(row.case.cause_class)),
            "appraisable": row.case.status == costs.APPRAISABLE,
        },
    )


@router.post("/quality/cases/{ref}", response_class=Response)
def appraise(
    request: Request,
    ref: str,
    session: SessionDep,
    user: QualityPage,
    action: Annotated[str, Form(pattern=r"^(confirm|reclassify)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
    cause: CauseForm = "",
) -> Response:
    """Confirm the quality case, or reclassify it with a reason (its lines move by reversal)."""
    row = costs.get_case(session, ref=ref)
    url = _case_url(row)
    # Before settlement no cost line was posted: a reclassification then reverses nothing.
    posted = bool(_cost_entries(session, ticket_ids=[row.ticket.id]))
    try:
        cost_flows.appraise(
            session, row=row, action=action, principal=user, reason=reason, cause=cause
        )
    except PortalError as exc:
        session.rollback()
        flash_error(request, exc)
        request.session[fieldform.DRAFT_KEY] = {
            "ref": row.ticket.number,
            "reason": reason,
            "cause": cause,
        }
        return see_other(url)
    unsettled = action == "reclassify" and not posted
    _ok(request, "costs.flash.reclassify_unsettled" if unsettled else f"costs.flash.{action}")
    return see_other(url)


@router.get("/quality/cases/{ref}/photos/{attachment_id}", response_class=FileResponse)
def evidence_photo(
    request: Request, ref: str, attachment_id: IdPath, session: SessionDep, user: QualityPage
) -> FileResponse:
    """One evidence photo of the case."""
    settings: Settings = request.app.state.settings
    row = costs.get_case(session, ref=ref)
    photo = costs.evidence_photo(session, case=row.case, attachment_id=attachment_id)
    return FileResponse(
        settings.uploads_path / photo.storage_key,
        media_type=photo.content_type,
        filename=photo.filename,
        headers={"X-Content-Type-Options": "nosniff"},
    )


# ---- finance: each cost centre's month ---------------------------------------------------


def _period(period: str | None) -> str:
    return period or shanghai_today().strftime("%Y-%m")


@router.get("/settlement/cost-centres", response_class=Response)
def centres_page(
    request: Request, session: SessionDep, user: FinancePage, period: PeriodQuery = None
) -> Response:
    """Each cost centre's month: parts, labour and logistics, and how many tickets."""
    month = _period(period)
    return render(
        request,
        "costs/centres.html",
        {
            "period": month,
            "months": cost_flows.centre_months(session, period=month),
            "groups": causes.GROUPS,
            "tab": "cost_centres",
            "may_cards": True,
        },
    )


@router.get("/settlement/cost-centres/{centre}", response_class=Response)
def centre_page(
    request: Request,
    centre: CentrePath,
    session: SessionDep,
    user: FinancePage,
    period: PeriodQuery = None,
) -> Response:
    """A cost centre's month, ticket by ticket, each with its lines (reversals included)."""
    month = _period(period)
    rows = cost_flows.centre_cases(session, centre=centre, period=month)
    summary = next(m for m in cost_flows.centre_months(session, period=month) if m.centre == centre)
    cases: dict[int, CostCase | None] = {r.ticket.id: r.case for r in rows}
    return render(
        request,
        "costs/centre.html",
        {
            "period": month,
            "centre": centre,
            "rows": rows,
            "summary": summary,
            "groups": causes.GROUPS,
            "cases": cases,
            "tab": "cost_centres",
            "may_cards": True,
        },
    )
