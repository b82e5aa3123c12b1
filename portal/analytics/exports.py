"""The dashboards' tables as rows for CSV export: a header and plain values per dataset."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.analytics import service
from portal.analytics.filters import Filters
from portal.i18n import CHANNEL_LABELS, STATUS_LABELS, TICKET_TYPE_LABELS, Lang, label, t

Rows = tuple[list[str], list[list[Any]]]
MAX_ROWS = 100_000


def _h(keys: list[str], lang: Lang) -> list[str]:
    return [t(f"analytics.col.{k}", lang) for k in keys]


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name, "")
    return int(raw) if raw.isdigit() and int(raw) <= 3650 else default


def tickets(
    session: Session, f: Filters, *, now: datetime, lang: Lang, params: Mapping[str, str]
) -> Rows:
    """The tickets behind a figure (`measure`), all of them up to MAX_ROWS."""
    measure = params.get("measure", "all")[:40]
    rows, _ = service.ticket_rows(
        session,
        f,
        measure=measure,
        now=now,
        page=1,
        page_size=MAX_ROWS,
        early_days=_int(params, "early", service.EARLY_DAYS),
    )
    header = _h(
        [
            "number",
            "type",
            "status",
            "product",
            "model",
            "city",
            "channel",
            "network",
            "engineer",
            "created",
            "score",
            "fault_code",
            "value",
            "unit",
        ],
        lang,
    )
    return header, [
        [
            r["number"],
            label(TICKET_TYPE_LABELS, r["type"], lang),
            label(STATUS_LABELS, r["status"], lang),
            r["product"],
            r["model_code"],
            r["city"],
            label(CHANNEL_LABELS, r["channel"], lang),
            r["network"],
            r["engineer"],
            r["created_at"].strftime("%Y-%m-%d %H:%M"),
            r["score"],
            r["fault_code"],
            None if r["value"] is None else round(float(r["value"]), 2),
            r["unit"],
        ]
        for r in rows
    ]


def _kpi_cells(k: service.Kpis) -> list[Any]:
    return [
        k.tickets,
        k.response.pct,
        k.arrival.pct,
        k.completion.pct,
        k.ftf.pct,
        k.csat.pct,
        None if k.csat_mean is None else round(k.csat_mean, 2),
        k.complaints.pct,
        service.minutes(k.frt_mean),
        service.hours(k.ttr_mean),
    ]


KPI_KEYS = [
    "tickets",
    "response",
    "arrival",
    "completion",
    "ftf",
    "csat",
    "csat_mean",
    "complaints",
    "frt_min",
    "ttr_h",
]


def networks(
    session: Session, f: Filters, *, now: datetime, lang: Lang, params: Mapping[str, str]
) -> Rows:
    """Headline KPIs per network."""
    rows = service.kpis_by(session, f, by="network", now=now)
    return _h(["network", *KPI_KEYS], lang), [[g.label, *_kpi_cells(g.kpis)] for g in rows]


def trend(
    session: Session, f: Filters, *, now: datetime, lang: Lang, params: Mapping[str, str]
) -> Rows:
    """Headline KPIs per day / week / month."""
    rows = service.trend(session, f, now=now)
    return _h(["bucket", *KPI_KEYS], lang), [[g.key, *_kpi_cells(g.kpis)] for g in rows]


def eie(
    session: Session, f: Filters, *, now: datetime, lang: Lang, params: Mapping[str, str]
) -> Rows:
    """t1–t9 (n, mean, median, p90 in minutes) per value of a dimension."""
    by = params.get("by", "network")
    by = by if by in service.DIMENSIONS else "network"
    header = [t("analytics.col.group", lang), t("analytics.col.tickets", lang)]
    for s in service.STAGE_NAMES:
        header += [f"{s} n", f"{s} mean_min", f"{s} p50_min", f"{s} p90_min"]
    out = []
    for row in service.eie(session, f, by=by):
        cells: list[Any] = [row.label, row.tickets]
        for s in service.STAGE_NAMES:
            sp = row.stages[s]
            cells += [
                sp.n,
                service.minutes(sp.mean),
                service.minutes(sp.p50),
                service.minutes(sp.p90),
            ]
        out.append(cells)
    return header, out


def backlog(
    session: Session, f: Filters, *, now: datetime, lang: Lang, params: Mapping[str, str]
) -> Rows:
    """Open tickets per network by age bucket."""
    age = service.backlog(session, f, now=now)
    edges = (0, *service.AGE_EDGES_H)
    header = [t("analytics.col.network", lang), *[f">={e}h" for e in edges]]
    return header, [
        [age.labels.get(n, "—"), *[age.by_network[n][e] for e in edges]] for n in age.by_network
    ]


def abnormal(
    session: Session, f: Filters, *, now: datetime, lang: Lang, params: Mapping[str, str]
) -> Rows:
    """The exceptional open tickets of one kind (`abnormal`)."""
    kind = params.get("abnormal", "overdue")
    kind = kind if kind in service.ABNORMAL_KINDS else "overdue"
    return tickets(session, f, now=now, lang=lang, params={"measure": f"abnormal:{kind}"})


def engineers(
    session: Session, f: Filters, *, now: datetime, lang: Lang, params: Mapping[str, str]
) -> Rows:
    """Per engineer: visits, days, time use, utilisation, stage medians, FTF, CSAT."""
    header = _h(
        [
            "engineer",
            "network",
            "visits",
            "days",
            "per_day",
            "travel_h",
            "onsite_h",
            "utilisation",
            "t3_min",
            "t4_min",
            "t5_min",
            "ftf",
            "csat_mean",
        ],
        lang,
    )
    return header, [
        [
            r.name,
            r.network,
            r.visits,
            r.days,
            None if r.per_day is None else round(r.per_day, 2),
            service.hours(r.travel_s),
            service.hours(r.onsite_s),
            None if r.utilisation is None else round(r.utilisation * 100, 1),
            service.minutes(r.t3.p50),
            service.minutes(r.t4.p50),
            service.minutes(r.t5.p50),
            r.ftf.pct,
            None if r.csat_mean is None else round(r.csat_mean, 2),
        ]
        for r in service.people(session, f)
    ]


def _quality(by: str) -> Callable[..., Rows]:
    def make(
        session: Session, f: Filters, *, now: datetime, lang: Lang, params: Mapping[str, str]
    ) -> Rows:
        header = _h(
            [
                "group",
                "failures",
                "units",
                "failure_rate",
                "repeats",
                "repeat_rate",
                "mtbf_d",
                "mttr_h",
                "t5_h",
            ],
            lang,
        )
        return header, [
            [
                r.label,
                r.failures,
                r.units,
                r.rate.pct,
                r.repeats,
                r.repeat_rate.pct,
                None if r.mtbf_days is None else round(r.mtbf_days, 1),
                service.hours(r.ttr_mean),
                service.hours(r.t5_mean),
            ]
            for r in service.quality(session, f, by=by)
        ]

    make.__doc__ = f"Failures, failure rate, repeats, MTBF and MTTR per {by}."
    return make


def fault_codes(
    session: Session, f: Filters, *, now: datetime, lang: Lang, params: Mapping[str, str]
) -> Rows:
    """The fault-code ranking."""
    return _h(["fault_code", "count", "product"], lang), [
        [x.code, x.count, x.product] for x in service.fault_codes(session, f, limit=100)
    ]


def warranty(
    session: Session, f: Filters, *, now: datetime, lang: Lang, params: Mapping[str, str]
) -> Rows:
    """Failures per bucket by warranty class."""
    trend_ = service.warranty_trend(
        session, f, early_days=_int(params, "early", service.EARLY_DAYS)
    )
    keys = service.WARRANTY_CLASSES
    header = [t("analytics.col.bucket", lang), *[t(f"analytics.warranty.{k}", lang) for k in keys]]
    return header, [[b, *[trend_[k][i] for k in keys]] for i, b in enumerate(trend_["buckets"])]


DATASETS: dict[str, Callable[..., Rows]] = {
    "tickets": tickets,
    "networks": networks,
    "trend": trend,
    "eie": eie,
    "backlog": backlog,
    "abnormal": abnormal,
    "engineers": engineers,
    "products": _quality("product"),
    "models": _quality("model"),
    "cities": _quality("city"),
    "fault_codes": fault_codes,
    "warranty": warranty,
}
