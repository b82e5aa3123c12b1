"""The EIE stages t1–t9 by group, and the scorecard of networks and engineers.

Definitions: `portal.analytics.service`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    and_,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session

from portal.analytics import rollups
from portal.analytics.filters import Filters
from portal.analytics.measures import (
    DIMENSIONS,
    STAGE_NAMES,
    F,
    Rate,
    c,
    count_if,
    dimension_column,
    labels,
    plain,
)
from portal.analytics.overview import (
    kpis,
)
from portal.analytics.people import (
    team_utilisation,
)
from portal.analytics.rules import Kpis
from portal.analytics.sql import Spread, spreads


@dataclass(frozen=True, slots=True)
class EieRow:
    """The nine stages of one group."""

    key: Any
    label: str
    tickets: int
    stages: dict[str, Spread]


def eie(session: Session, f: Filters, *, by: str | None = None) -> list[EieRow]:
    """t1–t9 count, mean, median and p90 per value of a dimension (overall without one).

    From the per-day column arrays: the percentiles and means within `rollups.ALPHA`.
    """
    by = by if by in DIMENSIONS or not by else "network"
    found, counts = rollups.spreads(session, f, measures=STAGE_NAMES, by=by)
    if not by:
        counts.setdefault(None, 0)  # the overall row, even when nothing matches
    keys = set(counts)
    names = labels(session, by, list(keys)) if by else {}
    empty = Spread(0, None, None, None)
    rows = [
        EieRow(
            key=g,
            label=names.get(g, plain(g)),
            tickets=counts.get(g, 0),
            stages={s: found.get((g, s), empty) for s in STAGE_NAMES},
        )
        for g in keys
    ]
    if by == "period":
        return sorted(rows, key=lambda r: str(r.key))
    return sorted(rows, key=lambda r: (-r.tickets, str(r.label)))


def eie_exact(session: Session, f: Filters, *, by: str | None = None) -> list[EieRow]:
    """`eie` from the fact rows, with exact percentiles (what the tests compare against)."""
    col = dimension_column(f, by) if by else None
    measures = {name: c[name] for name in STAGE_NAMES}
    found = spreads(session, table=F, measures=measures, where=f.where(), group=col)
    counts_stmt = select((col if col is not None else literal(None)).label("g"), func.count())
    counts_stmt = counts_stmt.where(*f.where())
    if col is not None:
        counts_stmt = counts_stmt.group_by(col)
    counts = {g: int(n) for g, n in session.execute(counts_stmt)}
    keys = set(counts) | {g for g, _ in found}
    names = labels(session, by, list(keys)) if by else {}
    empty = Spread(0, None, None, None)
    rows = [
        EieRow(
            key=g,
            label=names.get(g, plain(g)),
            tickets=counts.get(g, 0),
            stages={s: found.get((g, s), empty) for s in STAGE_NAMES},
        )
        for g in keys
    ]
    if by == "period":
        return sorted(rows, key=lambda r: str(r.key))
    return sorted(rows, key=lambda r: (-r.tickets, str(r.label)))


@dataclass(frozen=True, slots=True)
class Indicator:
    """One EIE indicator of a stage: which one, its share, and the drill-down measure."""

    key: str
    rate: Rate
    measure: str = ""


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One stage of the EIE scorecard: efficiency (duration), intelligence, experience."""

    stage: str
    spread: Spread
    intelligence: Indicator | None
    experience: Indicator | None


def scorecard(session: Session, f: Filters, *, now: datetime) -> list[ScoreRow]:
    """The EIE model: per stage, its duration and the indicators the model pairs with it."""
    overall = eie(session, f)
    stages = overall[0].stages if overall else {}
    found = rollups.totals(session, f, by=None, now=now)
    k = (
        Kpis.of(rollups.kpi_row(found.get(None, {})))
        if found is not None
        else kpis(session, f, now=now)
    )
    extra: Any = (
        rollups.kpi_row(found.get(None, {}))
        if found is not None
        else session.execute(
            select(
                count_if(c.dispatches > 0).label("dispatched"),
                count_if(and_(c.dispatches == 1, c.rejects == 0)).label("dispatched_once"),
                count_if(c.rejects > 0).label("rejected"),
                count_if(c.completed_ts.is_not(None) & c.remote.is_(False)).label("done"),
                count_if(c.eval_requested.is_(True)).label("eval_requested"),
                count_if(c.t8.is_not(None)).label("settle_requested"),
                count_if(c.settled_ts.is_not(None)).label("settled"),
            ).where(*f.where())
        )
        .mappings()
        .one()
    )
    dispatched = int(extra["dispatched"] or 0)
    done = int(extra["done"] or 0)
    evaluated = k.csat.den
    ind = Indicator
    pairs: dict[str, tuple[Indicator | None, Indicator | None]] = {
        "t1": (ind("remote", k.remote, "remote"), ind("response", k.response, "response:late")),
        "t2": (
            ind("dispatch_once", Rate(int(extra["dispatched_once"] or 0), dispatched), ""),
            ind("rejects", Rate(int(extra["rejected"] or 0), dispatched), "rejected"),
        ),
        "t3": (
            ind("utilisation", team_utilisation(session, f), "visits"),
            None,
        ),
        "t4": (None, ind("arrival", k.arrival, "arrival:late")),
        "t5": (ind("ftf", k.ftf, "ftf:fail"), ind("completion", k.completion, "completion:late")),
        "t6": (ind("eval_requested", Rate(int(extra["eval_requested"] or 0), done), ""), None),
        "t7": (ind("evaluated", Rate(evaluated, done), ""), ind("csat", k.csat, "csat:low")),
        "t8": (
            ind("settle_requested", Rate(int(extra["settle_requested"] or 0), evaluated), ""),
            None,
        ),
        "t9": (
            ind("settled", Rate(int(extra["settled"] or 0), int(extra["settle_requested"] or 0))),
            None,
        ),
    }
    empty = Spread(0, None, None, None)
    return [ScoreRow(s, stages.get(s, empty), pairs[s][0], pairs[s][1]) for s in STAGE_NAMES]
