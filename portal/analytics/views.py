"""JSON routes of the dashboards' measures (the same filters as the pages' query strings).

Readers: admin, dispatcher, network manager (their network only) and finance; an admin may
rebuild the facts from scratch.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from portal.analytics import service
from portal.analytics.filters import Filters
from portal.analytics.pages import fresh
from portal.analytics.policies import Reader, Refresher
from portal.analytics.refresh import deadlines_from_settings, refresh
from portal.database import SessionDep, utcnow
from portal.security import Principal

router = APIRouter(prefix="/analytics", tags=["analytics"])
Admin = Refresher


def plain(value: Any) -> Any:
    """Dataclasses as dicts, with each share's value and percent spelled out."""
    if isinstance(value, service.Rate):
        return {"num": value.num, "den": value.den, "value": value.value}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in ("utilisation", "per_day", "mtbf_days", "rate", "repeat_rate"):
            if hasattr(type(value), name) and isinstance(getattr(type(value), name), property):
                out[name] = plain(getattr(value, name))
        return out
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _filters(request: Request, session: SessionDep, user: Principal) -> tuple[Filters, datetime]:
    now = utcnow()
    f = Filters.parse(request.query_params, now=now).scoped(user)
    fresh(request, session, now)
    return f, now


@router.get("/overview")
def get_overview(request: Request, session: SessionDep, user: Reader) -> dict[str, Any]:
    """Headline KPIs, first-response and resolution spread, backlog, parts fill, bot."""
    f, now = _filters(request, session, user)
    return {
        "period": {"from": f.start.isoformat(), "to": f.end.isoformat()},
        "overview": plain(service.overview(session, f, now=now)),
        "parts_fill": plain(service.parts_fill(session, f)),
        "bot": plain(service.bot(session, f)),
    }


@router.get("/eie")
def get_eie(
    request: Request,
    session: SessionDep,
    user: Reader,
    by: Annotated[str, Query(max_length=16)] = "",
) -> dict[str, Any]:
    """t1–t9 (seconds: n, mean, median, p90) overall or by a dimension, and the scorecard."""
    f, now = _filters(request, session, user)
    dimension = by if by in service.DIMENSIONS else None
    return {
        "by": dimension,
        "rows": plain(service.eie(session, f, by=dimension)),
        "scorecard": plain(service.scorecard(session, f, now=now)) if not dimension else None,
    }


@router.get("/kpis")
def get_kpis(
    request: Request,
    session: SessionDep,
    user: Reader,
    by: Annotated[str, Query(max_length=16)] = "network",
) -> dict[str, Any]:
    """Headline KPIs per value of a dimension ("period": the trend)."""
    f, now = _filters(request, session, user)
    dimension = by if by in service.DIMENSIONS else "network"
    rows = (
        service.trend(session, f, now=now)
        if dimension == "period"
        else service.kpis_by(session, f, by=dimension, now=now)
    )
    return {"by": dimension, "rows": plain(rows)}


@router.get("/backlog")
def get_backlog(request: Request, session: SessionDep, user: Reader) -> dict[str, Any]:
    """Open tickets by age bucket (hours) and network, and the exceptional ones."""
    f, now = _filters(request, session, user)
    age = service.backlog(session, f, now=now)
    odd = service.abnormal(session, f, now=now)
    return {
        "totals": age.totals,
        "by_network": [
            {"network_id": n, "network": age.labels.get(n), "buckets": row}
            for n, row in age.by_network.items()
        ],
        "abnormal": odd.counts,
    }


@router.get("/people")
def get_people(request: Request, session: SessionDep, user: Reader) -> dict[str, Any]:
    """Per engineer: visits, time use, utilisation, stage spread, FTF, CSAT."""
    f, _ = _filters(request, session, user)
    rows = service.people(session, f)
    return {"engineers": plain(rows), "networks": plain(service.staffing(session, f, rows))}


@router.get("/quality")
def get_quality(
    request: Request,
    session: SessionDep,
    user: Reader,
    early: Annotated[int, Query(ge=1, le=3650)] = service.EARLY_DAYS,
) -> dict[str, Any]:
    """Failures by product, model and region; fault codes; warranty classes over time."""
    f, _ = _filters(request, session, user)
    return {
        "products": plain(service.quality(session, f, by="product")),
        "models": plain(service.quality(session, f, by="model")),
        "regions": plain(service.quality(session, f, by="city")),
        "fault_codes": plain(service.fault_codes(session, f)),
        "warranty": service.warranty_trend(session, f, early_days=early),
    }


@router.get("/tickets")
def get_tickets(
    request: Request,
    session: SessionDep,
    user: Reader,
    measure: Annotated[str, Query(max_length=40)] = "all",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> dict[str, Any]:
    """The tickets behind a figure (50 a page)."""
    f, now = _filters(request, session, user)
    rows, total = service.ticket_rows(session, f, measure=measure, now=now, page=page)
    return {"total": total, "page": page, "rows": plain(rows)}


@router.post("/refresh")
def post_refresh(
    request: Request,
    session: SessionDep,
    user: Admin,
    full: Annotated[bool, Query()] = False,
) -> dict[str, Any]:
    """Fold new events into the facts now (all of them again with full=true)."""
    result = refresh(
        session, deadlines=deadlines_from_settings(request.app.state.settings), full=full
    )
    return dataclasses.asdict(result)
