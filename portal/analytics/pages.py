"""Dashboard pages per audience, the drill-down list and CSV export. Thin: the measures live
in `analytics.service`, the charts' options in `analytics.charts`.

Readers: admin, dispatcher, network manager (held to their own network) and finance.
Each page view first folds new ticket events into the facts (at most once a minute).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from portal.analytics import charts, exports, service, targets
from portal.analytics.attendance import attendance_rows, attended_utilisation
from portal.analytics.complaints import complaint_figures
from portal.analytics.consults import consult_figures
from portal.analytics.filters import Filters
from portal.analytics.policies import ReaderPage
from portal.analytics.refresh import deadlines_from_settings, refresh
from portal.complaints import policies as complaint_policies
from portal.database import SessionDep, utcnow
from portal.i18n import CHANNEL_LABELS, MESSAGES, TICKET_TYPE_LABELS, Lang, label, t
from portal.knowledge import policies as kb_policies
from portal.templating import PAGE_ROUTER_OPTIONS, duration, render, request_lang

router = APIRouter(**PAGE_ROUTER_OPTIONS)

PAGE_SIZE = 50
TABS = ("executive", "operations", "people", "quality", "eie", "map", "service", "rnd", "targets")
PATHS = {
    "executive": "/analytics",
    "operations": "/analytics/operations",
    "people": "/analytics/people",
    "quality": "/analytics/quality",
    "eie": "/analytics/eie",
    # The boards of analytics.boards_pages.
    "map": "/analytics/map",
    "service": "/analytics/service",
    "rnd": "/analytics/rnd",
    "targets": "/analytics/targets",
}
# How stale the facts may be when a page is read (tests set the app state to 0).
DEFAULT_MAX_AGE_S = 60


def fresh(request: Request, session: Session, now: datetime) -> None:
    """Fold new events into the facts unless that was done a moment ago (or is under way)."""
    max_age = getattr(request.app.state, "analytics_max_age_s", DEFAULT_MAX_AGE_S)
    refresh(
        session,
        deadlines=deadlines_from_settings(request.app.state.settings),
        now=now,
        max_age=timedelta(seconds=max_age),
        wait=False,
    )


def prepare(request: Request, session: Session, user: Any) -> tuple[Filters, datetime]:
    """The reader's filters (403 for other roles) over facts brought up to date."""
    now = utcnow()
    f = Filters.parse(request.query_params, now=now).scoped(user)
    fresh(request, session, now)
    return f, now


def pct(rate: service.Rate | None) -> str:
    """A share for people: 95.6%, or — when there is nothing to count."""
    if rate is None or rate.pct is None:
        return "—"
    return f"{rate.pct:.1f}%"


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _minutes(seconds: float | None) -> float | None:
    """Minutes for the log-scale stage charts (at least 1, the axis' floor)."""
    return None if seconds is None else max(round(seconds / 60, 1), 1.0)


def dim_label(by: str, key: Any, lang: Lang, fallback: str) -> str:
    """How a dimension value is shown (channels and ticket types by name)."""
    if by == "channel" and isinstance(key, str):
        return label(CHANNEL_LABELS, key, lang)
    if by == "type" and isinstance(key, str):
        return label(TICKET_TYPE_LABELS, key, lang)
    return fallback


# What a dimension value adds to the filters when one drills into it.
DRILL_PARAM = {
    "network": "network",
    "engineer": "engineer",
    "product": "product",
    "model": "model",
    "city": "city",
    "channel": "channel",
    "type": "type",
    "period": "bucket",
}


def _page(
    request: Request,
    session: Session,
    name: str,
    f: Filters,
    now: datetime,
    context: dict[str, Any],
    *,
    keep: dict[str, str] | None = None,
    csv: str = "",
) -> Response:
    lang = request_lang(request)
    opts = service.options(session, network_id=f.network_id if f.locked_network else None)
    keep = keep or {}
    if f.engineer_id is not None:
        context.setdefault(
            "engineer_name", service.labels(session, "engineer", [f.engineer_id]).get(f.engineer_id)
        )
    tabs = [(tab, f"{PATHS[tab]}?{f.query()}", t(f"analytics.tab.{tab}", lang)) for tab in TABS]
    goals = targets.load(session)

    def tone(kpi: str, value: float | None, network_id: int | None = None) -> str:
        """The tile's or cell's class against the KPI's target (analytics.targets)."""
        found = goals.tone(kpi, value, network_id if network_id is not None else f.network_id)
        return f"rag rag-{found}" if found else ""

    context.setdefault("tone", tone)
    return render(
        request,
        f"analytics/{name}.html",
        {
            "tab": name,
            "tabs": tabs,
            "f": f,
            "opts": opts,
            "keep": keep,
            "now": now,
            "periods": (7, 30, 90, 180, 365),
            "csv_url": f"/analytics/export.csv?{f.query(dataset=csv, **keep)}" if csv else "",
            "pct": pct,
            "hours": _hours,
            "dur": lambda s: "—" if s is None else duration(s, lang),
            "channel_name": lambda code: label(CHANNEL_LABELS, code, lang),
            **context,
        },
    )


# ---------------------------------------------------------------- executive


@router.get("/analytics", response_class=Response)
def executive(request: Request, session: SessionDep, user: ReaderPage) -> Response:
    """Executive overview: headline KPIs, their trend, the nine EIE stages, networks."""
    f, now = prepare(request, session, user)
    lang = request_lang(request)
    ov = service.overview(session, f, now=now)
    fill = service.parts_fill(session, f)
    bot = service.bot(session, f)
    trend = service.trend(session, f, now=now)
    networks = service.kpis_by(session, f, by="network", now=now)
    overall = ov.stages
    cats = [g.key for g in trend]
    trend_chart = charts.bar_line(
        cats,
        bars=[
            (
                t("analytics.kpi.tickets", lang),
                [g.kpis.tickets for g in trend],
                [f.drill("all", bucket=b) for b in cats],
            )
        ],
        lines=[
            (
                t(f"analytics.kpi.{k}", lang),
                [getattr(g.kpis, k).pct for g in trend],
                [f.drill(f"{k}:late", bucket=b) for b in cats],
            )
            for k in ("response", "arrival", "completion")
        ]
        + [
            (
                t("analytics.kpi.csat", lang),
                [g.kpis.csat.pct for g in trend],
                [f.drill("csat:low", bucket=b) for b in cats],
            )
        ],
        bar_axis=t("analytics.unit.tickets", lang),
    )
    stage_chart = _stage_chart(f, overall, lang)
    return _page(
        request,
        session,
        "executive",
        f,
        now,
        {
            "ov": ov,
            "fill": fill,
            "bot": bot,
            "networks": networks,
            "charts": {"trend": trend_chart, "stages": stage_chart},
        },
        csv="networks",
    )


def stage_names(lang: Lang) -> list[str]:
    """t1 … t9 with their short names, on two lines."""
    return [f"{s}\n{t(f'analytics.stage.{s}', lang)}" for s in service.STAGE_NAMES]


def _stage_chart(f: Filters, stages: dict[str, Any], lang: Lang) -> dict[str, Any]:
    names = stage_names(lang)
    urls = [f.drill(f"stage:{s}") for s in service.STAGE_NAMES]
    return charts.stage_bars(
        names,
        series=[
            (
                t("analytics.median", lang),
                [_minutes(stages[s].p50) if s in stages else None for s in service.STAGE_NAMES],
                urls,
            ),
            (
                "P90",
                [_minutes(stages[s].p90) if s in stages else None for s in service.STAGE_NAMES],
                urls,
            ),
        ],
        axis_name=t("analytics.unit.minutes", lang),
    )


# ---------------------------------------------------------------- operations


@router.get("/analytics/operations", response_class=Response)
def operations(
    request: Request,
    session: SessionDep,
    user: ReaderPage,
    abnormal: Annotated[str, Query(max_length=32)] = "overdue",
) -> Response:
    """Service operations: SLA on-time rates, backlog ageing, exceptional tickets, the bot,
    parts and complaints."""
    f, now = prepare(request, session, user)
    lang = request_lang(request)
    k = service.kpis(session, f, now=now)
    trend = service.trend(session, f, now=now)
    networks = service.kpis_by(session, f, by="network", now=now)
    age = service.backlog(session, f, now=now)
    odd = service.abnormal(session, f, now=now, kind=abnormal)
    fill = service.parts_fill(session, f)
    bot = service.bot(session, f)
    cats = [g.key for g in trend]
    sla_trend = charts.bar_line(
        cats,
        lines=[
            (
                t(f"analytics.kpi.{kind}", lang),
                [getattr(g.kpis, kind).pct for g in trend],
                [f.drill(f"{kind}:late", bucket=b) for b in cats],
            )
            for kind in ("response", "arrival", "completion")
        ],
    )
    net_names = [
        g.label if g.key is not None else t("analytics.unassigned", lang) for g in networks
    ]
    sla_networks = {
        **charts.bar_line(net_names, rotate=len(net_names) > 6),
        "yAxis": [{"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}}],
        "series": [
            {
                "type": "bar",
                "name": t(f"analytics.kpi.{kind}", lang),
                "barMaxWidth": 18,
                "cursor": "pointer",
                "data": [
                    {
                        "value": getattr(g.kpis, kind).pct,
                        "url": f.drill(f"{kind}:late", network=g.key),
                    }
                    for g in networks
                ],
            }
            for kind in ("response", "arrival", "completion")
        ],
    }
    edges = (0, *service.AGE_EDGES_H)
    backlog_nets = sorted(age.by_network, key=lambda n: -sum(age.by_network[n].values()))
    backlog_chart = charts.stacked(
        [age.labels.get(n, t("analytics.unassigned", lang)) for n in backlog_nets],
        [
            (
                _age_name(e, lang),
                [age.by_network[n][e] for n in backlog_nets],
                [f.drill(f"backlog:{_age_range(e)}", network=n) for n in backlog_nets],
            )
            for e in edges
        ],
        horizontal=True,
        colours=charts.AGE_COLOURS,
        axis_name=t("analytics.unit.tickets", lang),
    )
    return _page(
        request,
        session,
        "operations",
        f,
        now,
        {
            "k": k,
            "networks": networks,
            "age": age,
            "edges": edges,
            "age_name": lambda e: _age_name(e, lang),
            "age_range": _age_range,
            "odd": odd,
            "fill": fill,
            "bot": bot,
            "can_edit_kb": kb_policies.EDIT.allows(user),
            "cx": complaint_figures(session, f, now=now),
            "can_open_complaints": complaint_policies.READ.allows(user),
            "charts": {
                "sla_trend": sla_trend,
                "sla_networks": sla_networks,
                "backlog": backlog_chart,
            },
        },
        keep={"abnormal": odd.kind},
        csv="abnormal",
    )


def _age_range(edge: int) -> str:
    following = [e for e in service.AGE_EDGES_H if e > edge]
    return f"{edge}-{following[0]}" if following else f"{edge}"


def _age_name(edge: int, lang: Lang) -> str:
    following = [e for e in service.AGE_EDGES_H if e > edge]
    if not following:
        return t("analytics.age.over", lang, h=edge)
    return t("analytics.age.range", lang, low=edge, high=following[0])


# ---------------------------------------------------------------- people


@router.get("/analytics/people", response_class=Response)
def people(request: Request, session: SessionDep, user: ReaderPage) -> Response:
    """People: visits, time on the road and on site, utilisation, per engineer and network."""
    f, now = prepare(request, session, user)
    lang = request_lang(request)
    rows = service.people(session, f)
    present = attendance_rows(session, f, rows, now=now)
    staff = service.staffing(session, f, rows)
    top = rows[:20]
    busiest = sorted(
        (r for r in rows if r.utilisation is not None), key=lambda r: -(r.utilisation or 0)
    )[:20]
    util_chart = charts.ranking(
        [r.name for r in busiest],
        [round((r.utilisation or 0) * 100, 1) for r in busiest],
        [f.drill("visits", engineer=r.engineer_id) for r in busiest],
        name=t("analytics.people.utilisation", lang),
        percent=True,
    )
    time_chart = charts.stacked(
        [r.name for r in top],
        [
            (
                t("analytics.people.travel", lang),
                [_hours(r.travel_s) for r in top],
                [f.drill("stage:t4", engineer=r.engineer_id) for r in top],
            ),
            (
                t("analytics.people.onsite", lang),
                [_hours(r.onsite_s) for r in top],
                [f.drill("stage:t5", engineer=r.engineer_id) for r in top],
            ),
        ],
        horizontal=True,
        axis_name=t("analytics.unit.hours", lang),
    )
    visits = sum(r.visits for r in rows)
    return _page(
        request,
        session,
        "people",
        f,
        now,
        {
            "rows": rows,
            "staff": staff,
            "visits": visits,
            "utilisation": service.utilisation(rows),
            "consults": consult_figures(session, f),
            "attendance": present,
            "attended_utilisation": attended_utilisation(present),
            "charts": {"utilisation": util_chart, "time": time_chart},
        },
        csv="engineers",
    )


# ---------------------------------------------------------------- product quality


def _int_param(request: Request, name: str, default: int, high: int = 100_000) -> int:
    raw = request.query_params.get(name, "")
    return int(raw) if raw.isdigit() and 0 <= int(raw) <= high else default


@router.get("/analytics/quality", response_class=Response)
def quality(request: Request, session: SessionDep, user: ReaderPage) -> Response:
    """Product quality: failure rates by product, model and region; MTBF and MTTR per model;
    repeat faults; fault codes; early / in-warranty / out-of-warranty trends."""
    f, now = prepare(request, session, user)
    lang = request_lang(request)
    early = _int_param(request, "early", service.EARLY_DAYS, 3650)
    warn = {k: _int_param(request, f"warn_{k}", v) for k, v in service.WARN_LINES.items()}
    products = service.quality(session, f, by="product")
    models = service.quality(session, f, by="model")
    cities = service.quality(session, f, by="city")
    codes = service.fault_codes(session, f)
    trend = service.warranty_trend(session, f, early_days=early)
    failures = sum(r.failures for r in products)
    repeats = sum(r.repeats for r in products)
    units = sum(r.units for r in products)
    keep = {"early": str(early), **{f"warn_{k}": str(v) for k, v in warn.items()}}

    def rate_chart(rows: list[service.QualityRow], param: str) -> dict[str, Any]:
        return charts.bar_line(
            [r.label for r in rows],
            bars=[
                (
                    t("analytics.quality.failures", lang),
                    [r.failures for r in rows],
                    [f.drill("failures", **{param: r.key}) for r in rows],
                )
            ],
            lines=[
                (
                    t("analytics.quality.rate", lang),
                    [r.rate.pct for r in rows],
                    [f.drill("failures", **{param: r.key}) for r in rows],
                )
            ],
            bar_axis=t("analytics.unit.tickets", lang),
            line_max=None,
            rotate=len(rows) > 6,
        )

    buckets = trend["buckets"]
    warranty_chart = charts.lines_with_warnings(
        buckets,
        [
            (
                t(f"analytics.warranty.{k}", lang),
                trend[k],
                [f.drill(f"warranty:{k}", bucket=b, early=early) for b in buckets],
            )
            for k in ("early", "in", "out")
        ],
        [warn["early"], warn["in"], warn["out"]],
        warning_name=t("analytics.quality.warn_line", lang),
    )
    code_chart = charts.ranking(
        [f"{x.code}（{x.product}）" if lang == "zh" else f"{x.code} ({x.product})" for x in codes],
        [x.count for x in codes],
        [f.drill(f"fault:{x.code}") for x in codes],
        name=t("analytics.quality.reports", lang),
    )
    return _page(
        request,
        session,
        "quality",
        f,
        now,
        {
            "products": products,
            "models": models,
            "cities": cities,
            "codes": codes,
            "failures": failures,
            "repeat_rate": service.Rate(repeats, failures),
            "failure_rate": service.Rate(failures, units),
            "early": early,
            "warn": warn,
            "warranty_totals": {k: sum(trend[k]) for k in service.WARRANTY_CLASSES},
            "charts": {
                "products": rate_chart(products, "product"),
                "cities": rate_chart(cities, "city"),
                "codes": code_chart,
                "warranty": warranty_chart,
            },
        },
        keep=keep,
        csv="models",
    )


# ---------------------------------------------------------------- EIE


@router.get("/analytics/eie", response_class=Response)
def eie(
    request: Request,
    session: SessionDep,
    user: ReaderPage,
    by: Annotated[str, Query(max_length=16)] = "network",
) -> Response:
    """The EIE model: t1–t9 with efficiency, intelligence and experience, by a dimension."""
    f, now = prepare(request, session, user)
    lang = request_lang(request)
    by = by if by in service.DIMENSIONS else "network"
    card = service.scorecard(session, f, now=now)
    rows = service.eie(session, f, by=by)
    for i, row in enumerate(rows):
        rows[i] = service.EieRow(
            row.key, dim_label(by, row.key, lang, row.label), row.tickets, row.stages
        )
    overall = {r.stage: r.spread for r in card}
    top = [r for r in rows if r.key is not None][:6]
    names = stage_names(lang)
    group_chart = charts.stage_bars(
        names,
        series=[
            (
                r.label,
                [_minutes(r.stages[s].p50) for s in service.STAGE_NAMES],
                [f.drill(f"stage:{s}", **{DRILL_PARAM[by]: r.key}) for s in service.STAGE_NAMES],
            )
            for r in top
        ],
        axis_name=t("analytics.unit.minutes", lang),
    )
    return _page(
        request,
        session,
        "eie",
        f,
        now,
        {
            "card": card,
            "rows": rows,
            "by": by,
            "dimensions": service.DIMENSIONS,
            "drill_param": DRILL_PARAM[by],
            "stages": service.STAGE_NAMES,
            "charts": {"overall": _stage_chart(f, overall, lang), "groups": group_chart},
        },
        keep={"by": by},
        csv="eie",
    )


# ---------------------------------------------------------------- drill-down and export


@router.get("/analytics/tickets", response_class=Response)
def tickets(
    request: Request,
    session: SessionDep,
    user: ReaderPage,
    measure: Annotated[str, Query(max_length=40)] = "all",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The tickets behind a figure, with the filters it was drawn with."""
    f, now = prepare(request, session, user)
    early = _int_param(request, "early", service.EARLY_DAYS, 3650)
    rows, total = service.ticket_rows(
        session, f, measure=measure, now=now, page=page, page_size=PAGE_SIZE, early_days=early
    )
    return _page(
        request,
        session,
        "tickets",
        f,
        now,
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
            "measure": measure,
            "measure_name": _measure_name(measure, request_lang(request)),
            "uses_period": not measure.startswith(service.NOW_MEASURES),
        },
        keep={"measure": measure, "early": str(early)},
        csv="tickets",
    )


def _measure_name(measure: str, lang: Lang) -> str:
    head, _, arg = measure.partition(":")
    key = f"analytics.measure.{measure.replace(':', '.')}"
    if key in MESSAGES:
        return t(key, lang)
    if head == "stage" and arg in service.STAGE_NAMES:
        return f"{arg} {t(f'analytics.stage.{arg}', lang)}"
    if head == "fault":
        return t("analytics.measure.fault", lang, code=arg)
    if head == "warranty" and arg in service.WARRANTY_CLASSES:
        return t(f"analytics.warranty.{arg}", lang)
    if head == "abnormal" and arg in service.ABNORMAL_KINDS:
        return t(f"analytics.abnormal.{arg}", lang)
    if head == "region" and arg:
        return t("analytics.measure.region", lang, place=arg.replace("/", " "))
    if head == "complaint_case":
        return t("analytics.measure.complaint_case", lang)
    if head == "unit" and arg:
        return t("analytics.measure.unit", lang, id=arg)
    if head == "backlog" and arg:
        low, _, high = arg.partition("-")
        if high:
            return t("analytics.age.range", lang, low=low, high=high)
        return t("analytics.age.over", lang, h=low)
    return t("analytics.measure.all", lang)


@router.get("/analytics/export.csv", response_class=Response)
def export(
    request: Request,
    session: SessionDep,
    user: ReaderPage,
    dataset: Annotated[str, Query(max_length=32)] = "tickets",
) -> Response:
    """One dashboard table as CSV (UTF-8 with BOM), with the page's filters."""
    f, now = prepare(request, session, user)
    lang = request_lang(request)
    make: Callable[..., tuple[list[str], list[list[Any]]]] = exports.DATASETS.get(
        dataset, exports.tickets
    )
    header, rows = make(session, f, now=now, lang=lang, params=request.query_params)
    body = service.to_csv(header, rows)
    name = f"analytics-{dataset if dataset in exports.DATASETS else 'tickets'}-{f.start}-{f.end}"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
