"""Maintenance plan pages for dispatchers: the plans (by asset or model) with what is coming
up, a plan's form to add or change it, and its history of tickets. Thin: the rules live in
service and schemas. A form that does not validate comes back filled in, with the message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets.models import Asset, ProductModel
from portal.database import SessionDep, utcnow
from portal.errors import Invalid, PortalError, validation_errors
from portal.i18n import t
from portal.ids import IdPath
from portal.maintenance import service
from portal.maintenance.models import MaintenancePlan
from portal.maintenance.policies import PLAN, PlannerPage
from portal.maintenance.schemas import MAX_INTERVAL, PlanCreate, PlanUpdate
from portal.templating import PAGE_ROUTER_OPTIONS, flash, render, request_lang, see_other
from portal.tickets.models import Ticket

router = APIRouter(**PAGE_ROUTER_OPTIONS)

# Who plans maintenance (the nav's links follow it): the `maintenance.plan` policy.
PLAN_ROLES = PLAN.roles
# How far ahead the pages look for due maintenance.
LIST_DAYS = 30
PLAN_DAYS = 90
KINDS = ("days", "months", "usage")
PREFIX = "maintenance_"  # the form's field labels: field.maintenance_<name>
PlanId = IdPath
Text = Annotated[str, Form(max_length=2000)]
Short = Annotated[str, Form(max_length=100)]


Planner = PlannerPage


def _model_codes(session: Session, plans: list[MaintenancePlan]) -> dict[int, ProductModel]:
    ids = {p.model_id for p in plans if p.model_id is not None}
    if not ids:
        return {}
    return {m.id: m for m in session.scalars(select(ProductModel).where(ProductModel.id.in_(ids)))}


def _assets(session: Session, plans: list[MaintenancePlan]) -> dict[int, Asset]:
    ids = {p.asset_id for p in plans if p.asset_id is not None}
    if not ids:
        return {}
    return {a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_(ids)))}


def form_error(request: Request, exc: ValidationError | PortalError, *, prefix: str) -> str:
    """The message a refused form shows, in the reader's language (the SOP pages use it too).

    Fields are named through "field.<prefix><name>" labels, so a form's "code" or "name" is
    not mistaken for another form's field of that name.
    """
    zh = request_lang(request) == "zh"
    if isinstance(exc, PortalError):
        return exc.message_zh if zh else exc.message_en

    def loc(err: Any) -> tuple[Any, ...]:
        # A list item's error names its list ("steps"), not its index.
        named = [p for p in err.get("loc", ()) if not isinstance(p, int)]
        return ("body", *named[:-1], f"{prefix}{named[-1]}")

    # Errors of the whole form (no field) are checked by the pages first, in words.
    found = validation_errors([{**e, "loc": loc(e)} for e in exc.errors() if e.get("loc")])
    parts = [e["message_zh" if zh else "message_en"] for e in found]
    return ("；" if zh else "; ").join(parts) or t("error.invalid_request", "zh" if zh else "en")


@router.get("/maintenance", response_class=Response)
def plan_list(
    request: Request,
    session: SessionDep,
    _user: Planner,
    asset_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    model_code: Annotated[str, Query(max_length=32)] = "",
    active: Annotated[str, Query(pattern=r"^(|true|false)$")] = "",
) -> Response:
    """The plans, by asset, model or whether they run, and the maintenance due soon."""
    model_id: int | None = None
    unknown_model = False
    if model_code:
        model_id = session.scalar(select(ProductModel.id).where(ProductModel.code == model_code))
        unknown_model = model_id is None
    plans = (
        []
        if unknown_model
        else service.list_plans(
            session,
            asset_id=asset_id,
            model_id=model_id,
            active={"true": True, "false": False}.get(active),
        )
    )
    return render(
        request,
        "maintenance/list.html",
        {
            "plans": plans,
            "models": _model_codes(session, plans),
            "assets": _assets(session, plans),
            "asset_id": asset_id or "",
            "model_code": model_code,
            "active": active,
            "upcoming": service.upcoming(session, now=utcnow(), days=LIST_DAYS, limit=100),
            "days": LIST_DAYS,
            "today": service.local_day(utcnow()),
        },
    )


def _plan_form(
    request: Request,
    *,
    values: dict[str, Any],
    error: str = "",
    plan: MaintenancePlan | None = None,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "maintenance/plan.html" if plan is not None else "maintenance/new.html",
        {"values": values, "error": error, "plan": plan, "kinds": KINDS, **(extra or {})},
        status_code=status_code,
    )


def plan_fields(
    name: Short = "",
    description: Text = "",
    interval_kind: Annotated[str, Form(max_length=8)] = "",
    interval_value: Annotated[str, Form(max_length=12)] = "",
    usage_unit: Annotated[str, Form(max_length=16)] = "",
    starts_on: Annotated[str, Form(max_length=10)] = "",
    effective_from: Annotated[str, Form(max_length=10)] = "",
    active: Annotated[str, Form(max_length=8)] = "",
) -> dict[str, Any]:
    """The fields both plan forms send, as typed (the new-plan form adds its target)."""
    return {
        "name": name,
        "description": description,
        "interval_kind": interval_kind,
        "interval_value": interval_value.strip(),
        "usage_unit": usage_unit,
        "starts_on": starts_on,
        "effective_from": effective_from,
        "active": bool(active),
    }


PlanFields = Annotated[dict[str, Any], Depends(plan_fields)]


def _submit(
    request: Request,
    session: Session,
    *,
    values: dict[str, Any],
    save: Callable[[], MaintenancePlan],
    plan: MaintenancePlan | None,
    done: str,
) -> Response:
    """Run `save` in a savepoint, then flash `done` and go to the plan; a refused form comes
    back as typed with the reason (`plan`'s page when it is an edit, else the new form)."""
    try:
        with session.begin_nested():
            saved = save()
    except (ValidationError, PortalError) as exc:
        extra = None
        if plan is not None:
            session.refresh(plan)
            extra = _plan_context(session, plan)
        return _plan_form(
            request,
            values=values,
            plan=plan,
            error=form_error(request, exc, prefix=PREFIX),
            extra=extra,
            status_code=422,
        )
    flash(request, "ok", t(done, "zh"), t(done, "en"))
    return see_other(f"/maintenance/plans/{saved.id}")


@router.get("/maintenance/plans/new", response_class=Response)
def new_plan(
    request: Request,
    _user: Planner,
    asset_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    model_code: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """The form for a new plan, for the asset or model named in the link."""
    values = {
        "asset_id": asset_id or "",
        "model_code": model_code,
        "interval_kind": "months",
        "active": True,
    }
    return _plan_form(request, values=values)


@router.post("/maintenance/plans", response_class=Response)
def create_plan(
    request: Request,
    session: SessionDep,
    user: Planner,
    fields: PlanFields,
    asset_id: Annotated[str, Form(max_length=12)] = "",
    model_code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Add a plan; a refused form comes back as typed, with the reason."""
    values = {**fields, "asset_id": asset_id.strip(), "model_code": model_code.strip()}

    def save() -> MaintenancePlan:
        if bool(values["asset_id"]) == bool(values["model_code"]):
            raise Invalid("maintenance.one_target", field="asset_id")
        most = MAX_INTERVAL.get(values["interval_kind"])
        typed = values["interval_value"]
        if most is not None and typed.isdigit() and int(typed) > most:
            raise Invalid("maintenance.interval_too_long", field="interval_value", most=most)
        data = PlanCreate.model_validate({k: v for k, v in values.items() if v != ""})
        return service.create_plan(session, data=data, actor=user.actor)

    return _submit(
        request, session, values=values, save=save, plan=None, done="ui.maintenance.created"
    )


def _plan_values(plan: MaintenancePlan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "description": plan.description,
        "interval_kind": plan.interval_kind,
        "interval_value": plan.interval_value,
        "usage_unit": plan.usage_unit,
        "starts_on": plan.starts_on.isoformat() if plan.starts_on else "",
        "effective_from": plan.effective_from.isoformat(),
        "active": plan.active,
    }


def _plan_context(session: Session, plan: MaintenancePlan) -> dict[str, Any]:
    made = service.occurrences(session, plan_id=plan.id)
    tickets = {
        tk.id: tk
        for tk in session.scalars(
            select(Ticket).where(Ticket.id.in_([o.ticket_id for o in made if o.ticket_id]))
        )
    }
    assets = {
        a.id: a
        for a in session.scalars(select(Asset).where(Asset.id.in_({o.asset_id for o in made})))
    }
    return {
        "model": session.get(ProductModel, plan.model_id) if plan.model_id else None,
        "asset": session.get(Asset, plan.asset_id) if plan.asset_id else None,
        "asset_count": len(service.assets_of(session, plan=plan)),
        "history": list(reversed(made)),
        "tickets": tickets,
        "history_assets": assets,
        "upcoming": service.upcoming(session, now=utcnow(), days=PLAN_DAYS, plan_id=plan.id),
        "days": PLAN_DAYS,
        "today": service.local_day(utcnow()),
    }


@router.get("/maintenance/plans/{plan_id}", response_class=Response)
def plan_detail(request: Request, plan_id: PlanId, session: SessionDep, _user: Planner) -> Response:
    """One plan: its form, what is coming up, and the tickets it has opened."""
    plan = service.get_plan(session, plan_id=plan_id)
    return _plan_form(
        request, values=_plan_values(plan), plan=plan, extra=_plan_context(session, plan)
    )


@router.post("/maintenance/plans/{plan_id}", response_class=Response)
def update_plan(
    request: Request,
    plan_id: PlanId,
    session: SessionDep,
    _user: Planner,
    values: PlanFields,
) -> Response:
    """Change a plan (its target stays); occurrences already made keep their tickets."""
    plan = service.get_plan(session, plan_id=plan_id)

    def save() -> MaintenancePlan:
        sent = {k: v for k, v in values.items() if v != "" or k in ("description", "usage_unit")}
        data = PlanUpdate.model_validate(sent)
        service.update_plan(session, plan=plan, data=data)
        if not values["starts_on"] and plan.starts_on is not None:
            plan.starts_on = None  # cleared on the form: count from the installation day
        return plan

    return _submit(
        request, session, values=values, save=save, plan=plan, done="ui.maintenance.saved"
    )
