"""SLA policy pages for admins: the policies (which tickets each matches, its response,
arrival and completion deadlines, business hours, automatic reassignment), a form to add or
change one, the on/off switch, and the escalation ladder the settings configure. Thin: the
same schema and service as `/api/v1/sla/policies`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from portal.database import SessionDep
from portal.errors import validation_errors
from portal.i18n import both
from portal.sla import service
from portal.sla.flows import LADDER, URGENCIES
from portal.sla.models import SlaPolicy
from portal.sla.policies import ConfigurerPage
from portal.sla.schemas import PolicyCreate
from portal.templating import PAGE_ROUTER_OPTIONS, flash, render, request_lang, see_other
from portal.tickets.schemas import TicketType

router = APIRouter(**PAGE_ROUTER_OPTIONS)

IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
TICKET_TYPES: tuple[str, ...] = TicketType.__args__  # type: ignore[attr-defined]
TIERS = ("normal", "vip")
KINDS = ("response", "arrival", "resolution")
# The form's fields, as typed (kept when the form comes back with an error).
FIELDS = (
    "name",
    "ticket_type",
    "urgency",
    "customer_tier",
    "response_minutes",
    "arrival_minutes",
    "resolution_minutes",
    "business_hours",
    "auto_reassign",
)


def _defaults(request: Request) -> service.SlaDefaults:
    return service.SlaDefaults.from_settings(request.app.state.settings)


def _ladder(request: Request) -> dict[str, Any]:
    defaults = _defaults(request)
    return {
        "levels": LADDER,
        "step_minutes": int(defaults.step.total_seconds() // 60),
        "warn_percent": round(defaults.warn_share * 100),
        "defaults": defaults,
    }


@router.get("/sla/policies", response_class=Response)
def policies_page(request: Request, session: SessionDep, _admin: ConfigurerPage) -> Response:
    """Every policy, the most specific active match deciding a ticket's deadlines."""
    return render(
        request,
        "sla/policies.html",
        {"policies": service.list_policies(session), "tab": "sla", **_ladder(request)},
    )


def _values(policy: SlaPolicy | None) -> dict[str, str]:
    if policy is None:
        return {
            "response_minutes": "30",
            "arrival_minutes": "240",
            "resolution_minutes": "1440",
            "business_hours": "yes",
            "auto_reassign": "",
        }
    return {
        "name": policy.name,
        "ticket_type": policy.ticket_type or "",
        "urgency": policy.urgency or "",
        "customer_tier": policy.customer_tier or "",
        "response_minutes": str(policy.response_minutes),
        "arrival_minutes": str(policy.arrival_minutes),
        "resolution_minutes": str(policy.resolution_minutes),
        "business_hours": "yes" if policy.business_hours else "no",
        "auto_reassign": {None: "", True: "yes", False: "no"}[policy.auto_reassign],
    }


def _form(
    request: Request,
    policy: SlaPolicy | None,
    values: dict[str, str],
    *,
    errors: list[dict[str, Any]] | None = None,
) -> Response:
    lang = request_lang(request)
    return render(
        request,
        "sla/policy_edit.html",
        {
            "policy": policy,
            "values": values,
            "ticket_types": TICKET_TYPES,
            "urgencies": URGENCIES,
            "tiers": TIERS,
            "kinds": KINDS,
            "errors": {
                str(e.get("field")): e["message_zh" if lang == "zh" else "message_en"]
                for e in errors or []
            },
            "tab": "sla",
            **_ladder(request),
        },
        status_code=422 if errors else 200,
    )


@router.get("/sla/policies/new", response_class=Response)
def new_policy_page(request: Request, _admin: ConfigurerPage) -> Response:
    """The form for a new policy."""
    return _form(request, None, _values(None))


@router.get("/sla/policies/{policy_id}", response_class=Response)
def policy_page(
    request: Request, policy_id: IdPath, session: SessionDep, _admin: ConfigurerPage
) -> Response:
    """One policy to change."""
    policy = _get(session, policy_id)
    return _form(request, policy, _values(policy))


def _get(session: Session, policy_id: int) -> SlaPolicy:
    return service.get_policy(session, policy_id=policy_id)


def _parse(values: dict[str, str]) -> PolicyCreate:
    choice = {"": None, "yes": True, "no": False}
    return PolicyCreate.model_validate(
        {
            "name": values.get("name", ""),
            "ticket_type": values.get("ticket_type") or None,
            "urgency": values.get("urgency") or None,
            "customer_tier": values.get("customer_tier") or None,
            "response_minutes": values.get("response_minutes", ""),
            "arrival_minutes": values.get("arrival_minutes", ""),
            "resolution_minutes": values.get("resolution_minutes", ""),
            "business_hours": values.get("business_hours") != "no",
            "auto_reassign": choice.get(values.get("auto_reassign", "")),
        }
    )


async def _save(request: Request, session: Session, policy_id: int | None) -> Response:
    form = await request.form()
    values = {name: str(form.get(name) or "")[:100] for name in FIELDS}
    policy = _get(session, policy_id) if policy_id is not None else None
    try:
        data = _parse(values)
    except ValidationError as exc:
        named = validation_errors([{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors()])
        return _form(request, policy, values, errors=named)
    if policy is None:
        saved = service.create_policy(session, data=data.model_dump())
    else:
        saved = service.update_policy(session, policy_id=policy.id, data=data.model_dump())
    zh, en = both("sla.ui.saved", name=saved.name)
    flash(request, "ok", zh, en)
    return see_other("/sla/policies")


@router.post("/sla/policies/new", response_class=Response)
async def create_policy(request: Request, session: SessionDep, _admin: ConfigurerPage) -> Response:
    """Add a policy; tickets opened from now on get its deadlines."""
    return await _save(request, session, None)


@router.post("/sla/policies/{policy_id}", response_class=Response)
async def update_policy(
    request: Request, policy_id: IdPath, session: SessionDep, _admin: ConfigurerPage
) -> Response:
    """Save a policy (timers already running keep their deadlines)."""
    return await _save(request, session, policy_id)


@router.post("/sla/policies/{policy_id}/active", response_class=Response)
async def toggle_policy(
    request: Request, policy_id: IdPath, session: SessionDep, _admin: ConfigurerPage
) -> Response:
    """Switch a policy on or off."""
    form = await request.form()
    active = str(form.get("active") or "") == "yes"
    policy = service.set_policy_active(session, policy_id=policy_id, active=active)
    zh, en = both("sla.ui.switched_on" if active else "sla.ui.switched_off", name=policy.name)
    flash(request, "ok", zh, en)
    return see_other("/sla/policies")
