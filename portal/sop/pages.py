"""The standard job library (SOP) for staff: the list, one job with its steps, safety notes,
standard parts and labour time, and the form that adds or changes one (dispatch and the
knowledge editors). Thin: the rules live in service and schemas.

Steps and safety notes are typed one per line; standard parts one per line as
"编码, 名称, 数量" (the name and quantity may be left out; a quantity alone means one).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets.models import Product, ProductModel
from portal.database import SessionDep
from portal.errors import Invalid, PortalError
from portal.i18n import Term, field_label, t
from portal.ids import IdPath
from portal.maintenance.pages import form_error
from portal.sop import policies, service
from portal.sop.models import StandardJob
from portal.sop.policies import EditorPage, ReaderPage
from portal.sop.schemas import SopCreate, SopUpdate, StandardPart
from portal.templating import PAGE_ROUTER_OPTIONS, flash, render, see_other

router = APIRouter(**PAGE_ROUTER_OPTIONS)

# Who reads the library on these pages (as the JSON routes; engineers read it on the job in
# the field app) and who changes it.
# Who opens and changes the library (the nav's links follow it): the SOP policies.
READ_ROLES = policies.READ_PAGES.roles
EDIT_ROLES = policies.EDIT.roles
SERVICE_TYPES = ("installation", "repair", "maintenance")
PREFIX = "sop_"  # the form's field labels: field.sop_<name>
JobId = IdPath
Lines = Annotated[str, Form(max_length=30_000)]
# One part line: code, then optionally the name and the quantity, split by commas or tabs.
PART_SPLIT = re.compile(r"\s*[,，\t]\s*")


Reader = ReaderPage
Editor = EditorPage


def lines(text: str) -> list[str]:
    """The non-empty lines of a textarea, trimmed."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def parse_parts(text: str) -> list[dict[str, Any]]:
    """Standard parts from their lines; a line that is not "code[, name][, quantity]" is
    refused, naming its number."""
    out: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        cells = PART_SPLIT.split(line)
        if len(cells) > 3 or not cells[0]:
            raise Invalid("sop.bad_part_line", field="standard_parts", line=number, text=line)
        code, name, quantity = cells[0], "", "1"
        if len(cells) == 2:
            # "P-01, 2" is a quantity; "P-01, 进水阀" a name.
            name, quantity = ("", cells[1]) if cells[1].isdigit() else (cells[1], "1")
        elif len(cells) == 3:
            name, quantity = cells[1], cells[2]
        if not quantity.isdigit():
            raise Invalid("sop.bad_part_line", field="standard_parts", line=number, text=line)
        out.append({"part_code": code, "name": name, "quantity": int(quantity)})
    return out


def parts_text(parts: list[Any]) -> str:
    """Standard parts as the form shows them, one per line."""
    shown = [StandardPart.model_validate(p) for p in parts]
    return "\n".join(f"{p.part_code}, {p.name}, {p.quantity}" for p in shown)


def _models(session: Session, jobs: list[StandardJob]) -> dict[int, ProductModel]:
    ids = {j.model_id for j in jobs if j.model_id is not None}
    if not ids:
        return {}
    return {m.id: m for m in session.scalars(select(ProductModel).where(ProductModel.id.in_(ids)))}


@router.get("/sop", response_class=Response)
def job_list(
    request: Request,
    session: SessionDep,
    user: Reader,
    service_type: Annotated[str, Query(max_length=32)] = "",
    category: Annotated[str, Query(max_length=32)] = "",
    q: Annotated[str, Query(max_length=64)] = "",
    active: Annotated[str, Query(pattern=r"^(|true|false)$")] = "",
) -> Response:
    """The library, by service type, product category, words of the title or code."""
    jobs = service.list_jobs(
        session,
        service_type=service_type or None,
        product_category=category or None,
        active={"true": True, "false": False}.get(active),
    )
    words = q.strip().lower()
    if words:
        jobs = [j for j in jobs if words in j.title.lower() or words in j.code.lower()]
    categories = sorted(set(session.scalars(select(Product.category).distinct())))
    return render(
        request,
        "sop/list.html",
        {
            "jobs": jobs,
            "models": _models(session, jobs),
            "service_types": SERVICE_TYPES,
            "categories": categories,
            "service_type": service_type,
            "category": category,
            "q": q,
            "active": active,
            "may_edit": policies.EDIT.allows(user),
        },
    )


def _job_form(
    request: Request,
    *,
    values: dict[str, Any],
    job: StandardJob | None = None,
    model: ProductModel | None = None,
    error: str = "",
    may_edit: bool = True,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "sop/job.html" if job is not None else "sop/new.html",
        {
            "values": values,
            "job": job,
            "model": model,
            "error": error,
            "may_edit": may_edit,
            "service_types": SERVICE_TYPES,
        },
        status_code=status_code,
    )


@router.get("/sop/new", response_class=Response)
def new_job(request: Request, _user: Editor) -> Response:
    """The form for a new standard job."""
    return _job_form(request, values={"service_type": "repair", "active": True})


@router.post("/sop", response_class=Response)
def create_job(
    request: Request,
    session: SessionDep,
    _user: Editor,
    code: Annotated[str, Form(max_length=32)] = "",
    title: Annotated[str, Form(max_length=200)] = "",
    service_type: Annotated[str, Form(max_length=32)] = "",
    model_code: Annotated[str, Form(max_length=32)] = "",
    product_category: Annotated[str, Form(max_length=32)] = "",
    steps: Lines = "",
    safety_notes: Lines = "",
    standard_parts: Lines = "",
    labour_hours: Annotated[str, Form(max_length=12)] = "",
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Add a standard job; a refused form comes back as typed, with the reason."""
    values: dict[str, Any] = {
        "code": code,
        "title": title,
        "service_type": service_type,
        "model_code": model_code.strip(),
        "product_category": product_category.strip(),
        "steps": steps,
        "safety_notes": safety_notes,
        "standard_parts": standard_parts,
        "labour_hours": labour_hours.strip(),
        "active": bool(active),
    }
    try:
        if not values["model_code"] and not values["product_category"]:
            raise Invalid("sop.target_required", field="model_code")
        typed = {
            **values,
            "steps": lines(steps),
            "safety_notes": lines(safety_notes),
            "standard_parts": parse_parts(standard_parts),
        }
        # Left empty, a field is missing (not "invalid").
        data = SopCreate.model_validate({k: v for k, v in typed.items() if v != ""})
        with session.begin_nested():
            job = service.create_job(session, data=data)
    except (ValidationError, PortalError) as exc:
        return _job_form(
            request, values=values, error=form_error(request, exc, prefix=PREFIX), status_code=422
        )
    flash(request, "ok", t("ui.sop.created", "zh"), t("ui.sop.created", "en"))
    return see_other(f"/sop/{job.id}")


def _job_values(job: StandardJob) -> dict[str, Any]:
    return {
        "title": job.title,
        "steps": "\n".join(str(s) for s in job.steps),
        "safety_notes": "\n".join(str(s) for s in job.safety_notes),
        "standard_parts": parts_text(job.standard_parts),
        "labour_hours": f"{job.labour_hours:.2f}",
        "active": job.active,
    }


def _model_of(session: Session, job: StandardJob) -> ProductModel | None:
    return session.get(ProductModel, job.model_id) if job.model_id is not None else None


@router.get("/sop/{job_id}", response_class=Response)
def job_detail(request: Request, job_id: JobId, session: SessionDep, user: Reader) -> Response:
    """One standard job as the engineer follows it, and its form for editors."""
    job = service.get_job(session, job_id=job_id)
    return _job_form(
        request,
        values=_job_values(job),
        job=job,
        model=_model_of(session, job),
        may_edit=policies.EDIT.allows(user),
    )


@router.post("/sop/{job_id}", response_class=Response)
def update_job(
    request: Request,
    job_id: JobId,
    session: SessionDep,
    _user: Editor,
    title: Annotated[str, Form(max_length=200)] = "",
    steps: Lines = "",
    safety_notes: Lines = "",
    standard_parts: Lines = "",
    labour_hours: Annotated[str, Form(max_length=12)] = "",
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Change a standard job's text, parts, labour time or whether it is in use."""
    job = service.get_job(session, job_id=job_id)
    values: dict[str, Any] = {
        "title": title,
        "steps": steps,
        "safety_notes": safety_notes,
        "standard_parts": standard_parts,
        "labour_hours": labour_hours.strip(),
        "active": bool(active),
    }
    try:
        data = SopUpdate.model_validate(
            {
                "title": title,
                "steps": lines(steps),
                "safety_notes": lines(safety_notes),
                "standard_parts": parse_parts(standard_parts),
                "labour_hours": values["labour_hours"] or None,
                "active": values["active"],
            }
        )
        if data.labour_hours is None:
            name = Term(*field_label(f"{PREFIX}labour_hours"))
            raise Invalid("validation.missing", field="labour_hours", field_name=name)
        with session.begin_nested():
            service.update_job(session, job=job, data=data)
    except (ValidationError, PortalError) as exc:
        session.refresh(job)
        return _job_form(
            request,
            values=values,
            job=job,
            model=_model_of(session, job),
            error=form_error(request, exc, prefix=PREFIX),
            status_code=422,
        )
    flash(request, "ok", t("ui.sop.saved", "zh"), t("ui.sop.saved", "en"))
    return see_other(f"/sop/{job.id}")
