"""The regional map, the service-indicator board, the R&D quality board, the KPI targets and
the weekly / monthly xlsx summary. Thin: measures in `analytics.boards`, targets in
`analytics.targets`, the summary in `analytics.boards_summary`.

Readers as the other dashboards (a network manager held to their network); the R&D board
also factory quality; only admins change targets.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from portal.analytics import boards, boards_summary, charts, targets
from portal.analytics.filters import Filters
from portal.analytics.overview import kpis_by
from portal.analytics.pages import _page, fresh
from portal.analytics.policies import RND, TARGETS, ReaderPage, RndPage, TargetsPage
from portal.analytics.targets import KPIS
from portal.complaints.service import REASONS
from portal.database import SessionDep, utcnow
from portal.errors import Forbidden, PortalError
from portal.i18n import t
from portal.ids import IdPath
from portal.security import Principal
from portal.templating import PAGE_ROUTER_OPTIONS, flash, request_lang, see_other

router = APIRouter(**PAGE_ROUTER_OPTIONS)

MAP_URL = "/static/vendor/china-map/{code}.json"


def _prepare(
    request: Request, session: Session, user: Principal, *, rnd: bool = False
) -> tuple[Filters, datetime]:
    """The reader's filters over facts brought up to date (the R&D board's own readers)."""
    now = utcnow()
    f = Filters.parse(request.query_params, now=now)
    if rnd:
        scope = RND.scope(user)
        if not scope.everything:
            if scope.network_id is None:
                raise Forbidden("error.forbidden")
            f = replace(f, network_id=scope.network_id, locked_network=True)
    else:
        f = f.scoped(user)
    fresh(request, session, now)
    return f, now


def _tone_helpers(tg: targets.Targets, f: Filters) -> dict[str, Any]:
    def tone(kpi: str, value: float | None, network_id: int | None = None) -> str:
        net = network_id if network_id is not None else f.network_id
        found = tg.tone(kpi, value, net)
        return f"rag rag-{found}" if found else ""

    def target_of(kpi: str, network_id: int | None = None) -> targets.Target | None:
        return tg.get(kpi, network_id if network_id is not None else f.network_id)

    return {"tone": tone, "target_of": target_of, "kpis": KPIS}


# ---------------------------------------------------------------- the map


# Official province names → the map file of their cities (GB/T 2260 codes).
PROVINCE_CODES: dict[str, str] = {
    "北京市": "110000", "天津市": "120000", "河北省": "130000", "山西省": "140000",
    "内蒙古自治区": "150000", "辽宁省": "210000", "吉林省": "220000", "黑龙江省": "230000",
    "上海市": "310000", "江苏省": "320000", "浙江省": "330000", "安徽省": "340000",
    "福建省": "350000", "江西省": "360000", "山东省": "370000", "河南省": "410000",
    "湖北省": "420000", "湖南省": "430000", "广东省": "440000", "广西壮族自治区": "450000",
    "海南省": "460000", "重庆市": "500000", "四川省": "510000", "贵州省": "520000",
    "云南省": "530000", "西藏自治区": "540000", "陕西省": "610000", "甘肃省": "620000",
    "青海省": "630000", "宁夏回族自治区": "640000", "新疆维吾尔自治区": "650000",
    "台湾省": "710000", "香港特别行政区": "810000", "澳门特别行政区": "820000",
}  # fmt: skip


def region_measure(province: str | None, name: str) -> str:
    """The drill-down measure of a province, or of a city within one."""
    return f"region:{province}/{name}" if province else f"region:{name}"


@router.get("/analytics/map", response_class=Response)
def region_map(
    request: Request,
    session: SessionDep,
    user: ReaderPage,
    province: Annotated[str, Query(max_length=16)] = "",
    metric: Annotated[str, Query(max_length=8)] = "rate",
) -> Response:
    """Fault rate and ticket volume by province (or by city of one province) on a map."""
    f, now = _prepare(request, session, user)
    lang = request_lang(request)
    tg = targets.load(session)
    province = province if province in PROVINCE_CODES else ""
    metric = metric if metric in ("rate", "volume") else "rate"
    rows = boards.regions(session, f, province=province or None)
    known = [r for r in rows if r.name]
    top = boards.top_by_fault_rate(boards.regions(session, f) if province else rows)
    failures, units = sum(r.failures for r in rows), sum(r.units for r in rows)
    tickets = sum(r.tickets for r in rows)

    def point(r: boards.RegionRow) -> dict[str, Any]:
        value = r.fault_rate.pct if metric == "rate" else r.tickets
        out: dict[str, Any] = {
            "name": r.name,
            "value": value,
            "tickets": r.tickets,
            "failures": r.failures,
            "units": r.units,
            "rate": r.fault_rate.pct,
            "url": f.drill(region_measure(province or None, r.name)),
        }
        if not province and r.name in PROVINCE_CODES:
            out["open"] = f"/analytics/map?{f.query(province=r.name, metric=metric)}"
        return out

    values = [(r.fault_rate.pct or 0) if metric == "rate" else r.tickets for r in known] or [0]
    map_option = {
        "animation": False,
        "tooltip": {"trigger": "item", "confine": True},
        "visualMap": {
            "type": "continuous",
            "min": 0,
            "max": max(max(values), 1),
            "left": 8,
            "bottom": 8,
            "calculable": True,
            "text": [t(f"analytics.map.metric.{metric}", lang), ""],
            "inRange": {"color": ["#e6f4ff", "#69b1ff", "#f5a623", "#d03050"]},
        },
        "series": [
            {
                "type": "map",
                "map": province or "china",
                "roam": True,
                # The country with the South China Sea islands is tall: fill the box.
                "layoutCenter": ["50%", "50%"],
                "layoutSize": "100%",
                "cursor": "pointer",
                "name": t(f"analytics.map.metric.{metric}", lang),
                "label": {"show": bool(province), "fontSize": 10},
                "emphasis": {"label": {"show": True}},
                "data": [point(r) for r in known],
            }
        ],
        "labels": {
            "tickets": t("analytics.map.tickets", lang),
            "failures": t("analytics.quality.failures", lang),
            "units": t("analytics.quality.units", lang),
            "rate": t("analytics.quality.rate", lang),
        },
    }
    top_chart = charts.ranking(
        [r.name for r in top],
        [r.fault_rate.pct for r in top],
        [f.drill(region_measure(None, r.name)) for r in top],
        name=t("analytics.quality.rate", lang),
        percent=True,
    )
    top_chart["grid"]["right"] = 64  # room for the percentages at the bars' ends
    return _page(
        request,
        session,
        "map",
        f,
        now,
        {
            "rows": rows,
            "top": top,
            "province": province,
            "metric": metric,
            "tickets": tickets,
            "failures": failures,
            "units": units,
            "rate": boards.Rate(failures, units),
            "region_url": lambda name: f.drill(region_measure(province or None, name)),
            "map_file": MAP_URL.format(code=PROVINCE_CODES.get(province, "china")),
            "map_name": province or "china",
            "map_option": map_option,
            "charts": {"top": top_chart},
            **_tone_helpers(tg, f),
        },
        keep={"province": province, "metric": metric} if province else {"metric": metric},
    )


# ---------------------------------------------------------------- service indicators


@router.get("/analytics/service", response_class=Response)
def service_board(request: Request, session: SessionDep, user: ReaderPage) -> Response:
    """KPIs against their targets; complaints, parts, quotes and repeat repairs."""
    f, now = _prepare(request, session, user)
    lang = request_lang(request)
    tg = targets.load(session)
    cards = boards_summary.cards(session, f, now=now)
    networks = kpis_by(session, f, by="network", now=now)
    cx_net = boards.complaints_by(session, f, by="network")
    cx_prod = boards.complaints_by(session, f, by="product")
    part_rows = boards.parts(session, f)
    fill, wait, open_short = boards.parts_totals(part_rows)
    quote_rows = boards.quotes(session, f)
    reps = boards.repeats(session, f)
    shown = [r for r in cx_net if r.cases][:8]
    reasons_chart = charts.stacked(
        [r.label or t("analytics.unassigned", lang) for r in shown],
        [
            (
                t(f"complaints.reason.{reason}", lang),
                [r.reasons.get(reason, 0) for r in shown],
                [f.drill("complaint_case", network=r.key) for r in shown],
            )
            for reason in REASONS
            if any(r.reasons.get(reason) for r in shown)
        ],
        horizontal=True,
        axis_name=t("analytics.board.cases", lang),
    )
    return _page(
        request,
        session,
        "service",
        f,
        now,
        {
            "cards": cards,
            "networks": networks,
            "cx_net": cx_net,
            "cx_prod": cx_prod,
            "parts": part_rows[:40],
            "parts_total": len(part_rows),
            "fill": fill,
            "wait": wait,
            "open_short": open_short,
            "quotes": quote_rows,
            "quote_total": boards.quote_totals(quote_rows),
            "repeats": reps[:30],
            "reasons": REASONS,
            "charts": {"reasons": reasons_chart},
            "xlsx": {g: f"/analytics/summary.xlsx?{f.query(grain=g)}" for g in ("week", "month")},
            **_tone_helpers(tg, f),
        },
    )


@router.get("/analytics/summary.xlsx", response_class=Response)
def summary_xlsx(
    request: Request,
    session: SessionDep,
    user: ReaderPage,
    grain: Annotated[str, Query(max_length=8)] = "week",
) -> Response:
    """The period's KPIs against their targets, per week or month and per network (xlsx)."""
    f, now = _prepare(request, session, user)
    grain = grain if grain in ("week", "month") else "week"
    body = boards_summary.workbook(
        session, f, now=now, grain=grain, targets=targets.load(session), lang=request_lang(request)
    )
    name = f"service-summary-{grain}-{f.start}-{f.end}.xlsx"
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---------------------------------------------------------------- R&D quality


@router.get("/analytics/rnd", response_class=Response)
def rnd_board(request: Request, session: SessionDep, user: RndPage) -> Response:
    """For R&D: top fault codes and failed parts per model with the trend, first-failure
    age, and the units repaired again within 30 days."""
    f, now = _prepare(request, session, user, rnd=True)
    lang = request_lang(request)
    tg = targets.load(session)
    keys, models, model_count = boards.model_faults(session, f)
    parts = boards.failed_parts(session, f)
    ages = boards.first_failure_ages(session, f)
    units = boards.repeated_units(session, f)
    reps = boards.repeats(session, f)
    model_charts = {
        m.model: charts.bar_line(
            keys,
            lines=[
                (
                    code or t("analytics.rnd.no_code", lang),
                    counts,
                    [f.drill(f"fault:{code}" if code else "failures", model=m.model, bucket=b)
                     for b in keys],
                )
                for code, _total, counts in m.codes
            ],
            line_axis=t("analytics.unit.tickets", lang),
            line_max=None,
        )
        for m in models
    }  # fmt: skip
    for option in model_charts.values():
        option["yAxis"][0]["minInterval"] = 1  # counts of tickets
    age_names = [str(i) for i in range(boards.AGE_MONTHS)] + [f"{boards.AGE_MONTHS}+"]
    age_chart = charts.bar_line(
        age_names,
        bars=[(t("analytics.rnd.first_failures", lang), ages, [])],
        bar_axis=t("analytics.rnd.units", lang),
    )
    age_chart["xAxis"]["name"] = t("analytics.rnd.months", lang)
    part_chart = charts.ranking(
        [f"{p.part}（{p.model}）" if lang == "zh" else f"{p.part} ({p.model})" for p in parts[:12]],
        [p.quantity for p in parts[:12]],
        [f.drill("failures", model=p.model) for p in parts[:12]],
        name=t("analytics.rnd.fitted", lang),
    )
    return _page(
        request,
        session,
        "rnd",
        f,
        now,
        {
            "models": models,
            "model_count": model_count,
            "parts": parts,
            "ages": ages,
            "age_total": sum(ages),
            "units": units,
            "repeat_total": boards.Rate(sum(r.repeats for r in reps), sum(r.repairs for r in reps)),
            "when": lambda ts: datetime.fromtimestamp(ts, boards.LOCAL).strftime("%Y-%m-%d"),
            "charts": {
                "ages": age_chart,
                "parts": part_chart,
                **{f"m{i}": model_charts[m.model] for i, m in enumerate(models)},
            },
            **_tone_helpers(tg, f),
        },
    )


# ---------------------------------------------------------------- targets


def _targets_page(
    request: Request,
    session: Session,
    user: Principal,
    *,
    values: dict[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    now = utcnow()
    f = Filters.parse(request.query_params, now=now).scoped(user)
    resp = _page(
        request,
        session,
        "targets",
        f,
        now,
        {
            "stored": targets.rows(session),
            "kpis": KPIS,
            "kpi_options": {k: targets.option_label(k, request_lang(request)) for k in KPIS},
            "can_edit": TARGETS.allows(user),
            "values": values or {"kpi": "response", "network": "", "target": "", "amber": ""},
            "error": error,
            "net_names": dict(boards_summary.options(session).networks),
        },
    )
    resp.status_code = status_code
    return resp


@router.get("/analytics/targets", response_class=Response)
def targets_page(request: Request, session: SessionDep, user: ReaderPage) -> Response:
    """The KPI targets in force (admins change them here)."""
    return _targets_page(request, session, user)


@router.post("/analytics/targets", response_class=Response)
def set_target(
    request: Request,
    session: SessionDep,
    user: TargetsPage,
    kpi: Annotated[str, Form(max_length=32)] = "",
    network: Annotated[str, Form(max_length=12)] = "",
    target: Annotated[str, Form(max_length=20)] = "",
    amber: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Set one target; a refused form comes back with what was typed and why."""
    values = {"kpi": kpi, "network": network, "target": target, "amber": amber}
    try:
        with session.begin_nested():
            k, net, value, band = targets.parse(values)
            targets.put(session, kpi=k, network_id=net, target=value, amber=band, actor=user.name)
    except PortalError as exc:
        message = exc.message_zh if request_lang(request) == "zh" else exc.message_en
        return _targets_page(request, session, user, values=values, error=message, status_code=422)
    flash(request, "ok", t("analytics.target.saved", "zh"), t("analytics.target.saved", "en"))
    return see_other("/analytics/targets")


@router.post("/analytics/targets/{target_id}/delete", response_class=Response)
def delete_target(
    request: Request, session: SessionDep, user: TargetsPage, target_id: IdPath
) -> Response:
    """Remove one target."""
    targets.remove(session, target_id=target_id)
    flash(request, "ok", t("analytics.target.removed", "zh"), t("analytics.target.removed", "en"))
    return see_other("/analytics/targets")
