"""The measures behind the dashboards, each one aggregate query over `ticket_stage_facts`.

They live in one module per kind (`measures`, `rules`, `overview`, `eie`, `backlog`,
`people`, `quality`, `usage`, `drill`); this module names them all for the views, the pages
and the exports.

Definitions (all over tickets created in the period unless said otherwise):

- t1–t9: `tickets.lifecycle.STAGES`, per ticket; groups show count, mean, median, p90.
  Mean, median and p90 of t1–t9, first response and resolution come from a DDSketch
  (`rollups.ALPHA`: within 0.5 % of the exact figure); so do the people board's t3–t5
  medians and p90, while its means, sums and utilisation are exact.
  Where they are read from: `portal.analytics.rollups`.
- First response time: report → first accept or remote resolution.
- Time to resolve: report → last completion (on site or remote), so reopened work counts.
- On-time rates: response, arrival and completion against the ticket's SLA timers (their
  deadlines), or the default 10 min / 4 h / 24 h when a ticket has none. A ticket counts
  once its deadline was met or has passed; tickets cancelled first, and arrival for tickets
  resolved remotely, are left out.
- First-time fix: repairs completed without a reopen and without another repair of the
  same unit within 30 days of the completion.
- CSAT: share of 4–5 scores among the evaluated (last score), and the mean score.
- Complaint rate: complaint tickets over all tickets.
- Utilisation: (travel t4 + on site t5) over on-duty time, where on-duty time is the
  engineer's shift length times the days they visited customers in the period (there is no
  attendance log); tickets per engineer count those visits.
- Backlog ageing: tickets not yet completed, by age now (24/48/72/96/120 h).
- Product quality: failures are repair tickets; failure rate = failures / units installed
  by the end of the period; MTBF = unit-days in service during the period / failures;
  MTTR = mean report → resolution of those repairs; warranty classes by the unit's age
  (early failure within `early_days` of installation) and warranty end.
"""

from __future__ import annotations

from portal.analytics.backlog import (
    Abnormal,
    Backlog,
    abnormal,
    age_bucket,
    backlog,
)
from portal.analytics.drill import (
    MEASURES,
    NOW_MEASURES,
    Drill,
    drill,
    ticket_rows,
)
from portal.analytics.eie import (
    EieRow,
    Indicator,
    ScoreRow,
    eie,
    scorecard,
)
from portal.analytics.measures import (
    ABNORMAL_KINDS,
    AGE_EDGES_H,
    BEFORE_ARRIVAL,
    DIMENSIONS,
    EARLY_DAYS,
    NOT_ARRIVED,
    OPEN,
    REPEAT_DAYS,
    STAGE_NAMES,
    WARN_LINES,
    WARRANTY_CLASSES,
    Options,
    Rate,
    buckets,
    count_if,
    dimension_column,
    epoch,
    hours,
    labels,
    minutes,
    options,
    plain,
    to_csv,
)
from portal.analytics.overview import (
    GroupKpis,
    Overview,
    kpis,
    kpis_by,
    overview,
    trend,
)
from portal.analytics.people import (
    EngineerRow,
    NetworkStaff,
    people,
    staffing,
    utilisation,
    visit_where,
)
from portal.analytics.quality import (
    FAILURE,
    FaultCode,
    QualityRow,
    fault_codes,
    quality,
    warranty_class,
    warranty_trend,
)
from portal.analytics.rules import (
    FTF_COUNTS,
    FTF_OK,
    Kpis,
    abnormal_condition,
    as_float,
    kpi_columns,
    sla_rules,
)
from portal.analytics.usage import (
    BotFigures,
    PartsFill,
    Unanswered,
    bot,
    parts_fill,
)

__all__ = [
    "ABNORMAL_KINDS",
    "AGE_EDGES_H",
    "Abnormal",
    "BEFORE_ARRIVAL",
    "Backlog",
    "BotFigures",
    "DIMENSIONS",
    "Drill",
    "EARLY_DAYS",
    "EieRow",
    "EngineerRow",
    "FAILURE",
    "FTF_COUNTS",
    "FTF_OK",
    "FaultCode",
    "GroupKpis",
    "Indicator",
    "Kpis",
    "MEASURES",
    "NOT_ARRIVED",
    "NOW_MEASURES",
    "NetworkStaff",
    "OPEN",
    "Options",
    "Overview",
    "PartsFill",
    "QualityRow",
    "REPEAT_DAYS",
    "Rate",
    "STAGE_NAMES",
    "ScoreRow",
    "Unanswered",
    "WARN_LINES",
    "WARRANTY_CLASSES",
    "abnormal",
    "abnormal_condition",
    "age_bucket",
    "as_float",
    "backlog",
    "bot",
    "buckets",
    "count_if",
    "dimension_column",
    "drill",
    "eie",
    "epoch",
    "fault_codes",
    "hours",
    "kpi_columns",
    "kpis",
    "kpis_by",
    "labels",
    "minutes",
    "options",
    "overview",
    "parts_fill",
    "people",
    "plain",
    "quality",
    "scorecard",
    "sla_rules",
    "staffing",
    "ticket_rows",
    "to_csv",
    "trend",
    "utilisation",
    "visit_where",
    "warranty_class",
    "warranty_trend",
]
