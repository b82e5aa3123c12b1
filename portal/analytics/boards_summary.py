"""Every KPI that may have a target, for one set of filters: what the service board's cards
show and the weekly / monthly xlsx summary writes, so both carry the same figures."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from sqlalchemy.orm import Session

from portal.analytics import boards
from portal.analytics.complaints import complaint_figures
from portal.analytics.filters import Filters
from portal.analytics.measures import Rate, options
from portal.analytics.overview import kpis
from portal.analytics.targets import KPIS, Targets
from portal.i18n import Lang, t

ORDER = tuple(KPIS)
FILLS = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE"}


@dataclass(frozen=True, slots=True)
class Card:
    """One KPI's figure (None: nothing to count), with what it was computed from."""

    kpi: str
    value: float | None
    num: float | None = None  # the counted part, where there is one
    den: float | None = None  # what it was counted against


def _rate(kpi: str, r: Rate) -> Card:
    return Card(kpi, r.pct, r.num, r.den)


def cards(session: Session, f: Filters, *, now: datetime) -> dict[str, Card]:
    """Every KPI of `targets.KPIS` over the filtered tickets."""
    k = kpis(session, f, now=now)
    cx = complaint_figures(session, f, now=now)
    regions = boards.regions(session, f)
    failures, units = sum(r.failures for r in regions), sum(r.units for r in regions)
    reps = boards.repeats(session, f)
    fill, wait, _open = boards.parts_totals(boards.parts(session, f))
    quotes = boards.quote_totals(boards.quotes(session, f))
    out = [
        _rate("response", k.response),
        _rate("arrival", k.arrival),
        _rate("completion", k.completion),
        _rate("ftf", k.ftf),
        _rate("csat", k.csat),
        Card("complaint_rate", cx.per_100, cx.cases, cx.completed),
        _rate("fault_rate", Rate(failures, units)),
        _rate("repeat_rate", Rate(sum(r.repeats for r in reps), sum(r.repairs for r in reps))),
        _rate("parts_fill", fill),
        Card("parts_wait_h", wait, None, None),
        Card("quote_turnaround_h", quotes.median_h, None, len(quotes.hours)),
    ]
    return {card.kpi: card for card in out}


def periods(f: Filters, grain: str) -> list[tuple[str, Filters]]:
    """The weeks (Monday to Sunday) or calendar months the filters' period touches, each
    cut to the period, as filters of their own."""
    out: list[tuple[str, Filters]] = []
    day = f.start
    while day <= f.end:
        if grain == "week":
            first = day - timedelta(days=day.weekday())
            last = first + timedelta(days=6)
            name = first.isoformat()
        else:
            first = day.replace(day=1)
            last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            name = first.strftime("%Y-%m")
        start, end = max(first, f.start), min(last, f.end)
        out.append((name, replace(f, start=start, end=end, period=None, bucket=None)))
        day = last + timedelta(days=1)
    return out


def _unit(kpi: str, lang: Lang) -> str:
    return t(f"analytics.target.unit.{KPIS[kpi].unit}", lang)


def workbook(
    session: Session,
    f: Filters,
    *,
    now: datetime,
    grain: str,
    targets: Targets,
    lang: Lang,
) -> bytes:
    """The summary as an xlsx: the period's KPIs against their targets, then one row per
    week or month, then one row per network; each figure coloured like the board."""
    wb = Workbook()
    bold = Font(bold=True)
    names = [t(f"analytics.target.kpi.{k}", lang) for k in ORDER]

    def paint(cell: Any, tone: str) -> None:
        if tone:
            cell.fill = PatternFill("solid", start_color=FILLS[tone], end_color=FILLS[tone])

    ws = wb.active
    ws.title = t("analytics.xlsx.sheet.summary", lang)
    ws.append([t("analytics.xlsx.title", lang)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([t("analytics.xlsx.period", lang), f.start.isoformat(), f.end.isoformat()])
    ws.append([t("analytics.xlsx.generated", lang), now.isoformat(timespec="seconds")])
    ws.append([])
    head = ["kpi", "value", "unit", "target", "amber", "tone"]
    ws.append([t(f"analytics.xlsx.col.{h}", lang) for h in head])
    for cell in ws[ws.max_row]:
        cell.font = bold
    total = cards(session, f, now=now)
    for kpi, name in zip(ORDER, names, strict=True):
        target = targets.get(kpi, f.network_id)
        tone = targets.tone(kpi, total[kpi].value, f.network_id)
        ws.append(
            [
                name,
                total[kpi].value,
                _unit(kpi, lang),
                target.target if target else None,
                target.amber if target else None,
                t(f"analytics.tone.{tone}", lang) if tone else "",
            ]
        )
        paint(ws.cell(ws.max_row, 2), tone)
    ws.column_dimensions["A"].width = 26
    ws.append([])
    ws.append([t("analytics.target.rule", lang)])
    ws.cell(ws.max_row, 1).alignment = Alignment(wrap_text=False)

    by_time = wb.create_sheet(t(f"analytics.xlsx.sheet.{grain}", lang))
    by_time.append([t(f"analytics.xlsx.col.{grain}", lang), *names])
    for cell in by_time[1]:
        cell.font = bold
    for name, sub in periods(f, grain):
        row = cards(session, sub, now=now)
        by_time.append([name, *[row[k].value for k in ORDER]])
        for i, kpi in enumerate(ORDER, start=2):
            paint(by_time.cell(by_time.max_row, i), targets.tone(kpi, row[kpi].value, f.network_id))
    by_time.append([t("analytics.xlsx.total", lang), *[total[k].value for k in ORDER]])
    for cell in by_time[by_time.max_row]:
        cell.font = bold
    by_time.column_dimensions["A"].width = 14

    nets = wb.create_sheet(t("analytics.xlsx.sheet.networks", lang))
    nets.append([t("analytics.col.network", lang), *names])
    for cell in nets[1]:
        cell.font = bold
    chosen = options(session, network_id=f.network_id).networks
    if f.network_id is not None:
        chosen = [(i, n) for i, n in chosen if i == f.network_id]
    for net_id, net_name in chosen:
        row = cards(session, replace(f, network_id=net_id), now=now)
        nets.append([net_name, *[row[k].value for k in ORDER]])
        for i, kpi in enumerate(ORDER, start=2):
            paint(nets.cell(nets.max_row, i), targets.tone(kpi, row[kpi].value, net_id))
    nets.column_dimensions["A"].width = 20
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
