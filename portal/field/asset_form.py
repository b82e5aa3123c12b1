"""The two parts of the job page that are about the unit: the quick measures of the fault
code on the work record, and registering a unit that is not on file when completing.

Kept out of `field.pages` so the page module only forwards to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets import service as assets
from portal.assets.models import Product, ProductModel
from portal.errors import Invalid, PortalError
from portal.field import quick, service
from portal.field.models import WorkRecord
from portal.templating import request_lang
from portal.tickets.models import Ticket

TICKED_KEY = "quick_ticked"  # request.state: what was ticked, when a refused form comes back


@dataclass(frozen=True, slots=True)
class Ticked:
    """The quick measures and parts ticked on the work record form."""

    measures: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)  # the measures the form offered


def ticked(
    request: Request,
    session: Session,
    ticket: Ticket,
    measures: list[str] | None,
    parts: list[str] | None,
) -> Ticked:
    """Only what the fault code's list offers counts as ticked (a form cannot slip in more)."""
    offer = quick.quick_list(session, ticket=ticket)
    record = service.current_record(session, ticket=ticket)
    offered = list(dict.fromkeys([*offer.measures, *(record.measures if record else [])]))
    refs = {p.ref for p in offer.parts}
    out = Ticked(
        measures=[m for m in dict.fromkeys(measures or []) if m in offered],
        parts=[p for p in dict.fromkeys(parts or []) if p in refs],
        offered=offered,
    )
    setattr(request.state, TICKED_KEY, out)
    return out


def with_parts(
    part: list[str] | None, qty: list[str] | None, ticked: Ticked
) -> tuple[list[str], list[str]]:
    """The typed part lines plus one of each ticked part not typed already."""
    names, counts = list(part or []), list(qty or [])
    counts += ["1"] * (len(names) - len(counts))
    typed = {n.strip().split(" ", 1)[0] for n in names if n.strip()}
    extra = [p for p in ticked.parts if p not in typed]
    return extra + names, ["1"] * len(extra) + counts


def work_done(typed: str, ticked: Ticked) -> str:
    """The record's text: the ticked measures' line, then what was typed (a measures line the
    form showed from the last save is not repeated)."""
    text = typed.strip()
    first, _, rest = text.partition("\n")
    items = [i.strip() for i in first.split("；") if i.strip()]
    if items and all(i in ticked.offered for i in items):
        text = rest.strip()
    return quick.work_done_text(ticked.measures, text)


# --- the unit --------------------------------------------------------------------------------


def typed(model: str, serial: str, purchase: str, install: str) -> dict[str, str]:
    """The unit fields as typed (kept for the form when refused)."""
    return {
        "model": model.strip(),
        "serial": serial.strip(),
        "purchase": purchase.strip(),
        "install": install.strip(),
    }


def kept(values: dict[str, str], exc: PortalError) -> dict[str, str]:
    """What the refused form held, with the refusal when it was about the unit (shown in the
    unit's box, where the engineer is looking)."""
    if not anchor(exc):
        return values
    return {**values, "error_zh": exc.message_zh, "error_en": exc.message_en}


def _day(text: str, field_name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid("assets.bad_date", field=field_name) from None


def entry(values: dict[str, str]) -> assets.UnitEntry:
    """The unit as entered; Invalid for a date that is not one."""
    return assets.UnitEntry(
        model_code=values["model"].upper(),
        serial_number=values["serial"],
        purchase_date=_day(values["purchase"], "purchase_date"),
        install_date=_day(values["install"], "install_date"),
    )


UNIT_ERRORS = ("assets.", "error.unknown_model")


def anchor(exc: PortalError) -> str:
    """Where the job page opens after a refused completion: at the unit when it was that."""
    return "#unit" if exc.key.startswith(UNIT_ERRORS) else ""


def _models(session: Session, ticket: Ticket) -> list[ProductModel]:
    """The models to choose from: the ticket's category's (all when it names none)."""
    category = assets.category_of(session, product=ticket.product)
    stmt = select(ProductModel).join(Product, ProductModel.product_id == Product.id)
    if category:
        narrowed = list(
            session.scalars(
                stmt.where(
                    (Product.category == category) | (Product.name == ticket.product)
                ).order_by(ProductModel.code)
            )
        )
        if narrowed:
            return narrowed
    return list(session.scalars(stmt.order_by(ProductModel.code)))


def context(
    request: Request,
    session: Session,
    ticket: Ticket,
    record: WorkRecord | None,
    kept_unit: Any,
) -> dict[str, Any]:
    """What the job page's unit and quick-measure parts show."""
    on_site = ticket.status == "arrived"
    refused: Ticked | None = getattr(request.state, TICKED_KEY, None)
    unit_needed = on_site and ticket.asset_id is None
    kept = kept_unit if isinstance(kept_unit, dict) else {}
    return {
        "quick": quick.quick_list(session, ticket=ticket) if on_site else None,
        "quick_measures": refused.measures if refused else (record.measures if record else []),
        "quick_parts": refused.parts
        if refused
        else [
            str(p.get("part_code") or p.get("name")) for p in (record.parts_used if record else [])
        ],
        "unit_needed": unit_needed,
        "unit_models": _models(session, ticket) if unit_needed else [],
        "unit_kept": {
            "model": kept.get("model") or ticket.model_code,
            "serial": kept.get("serial") or ticket.serial_number,
            "purchase": kept.get("purchase", ""),
            "install": kept.get("install", ""),
        },
        "unit_error": kept.get("error_en" if request_lang(request) == "en" else "error_zh", ""),
    }
