"""The rollups that answer a year of dashboards without reading every fact row.

- `analytics_daily`: the additive figures (counts, sums) of the settled tickets per local
  day and network, once in total (dim '') and once per value of one more dimension
  (product, model, type, channel, city, engineer). Tickets still open (`PENDING`) are left
  out: whether they count against a deadline depends on the moment of reading, so the
  dashboards add them from the facts at query time (a partial index finds them).
- `analytics_monthly`: the same figures summed per local month (from `analytics_daily`), so
  the whole months of a long period read a twelfth of the rows; the days at its edges are
  read from `analytics_daily`.
- `analytics_columns`: per local day, the day's tickets column by column (numpy arrays in a
  blob): their dimensions and their durations as DDSketch bucket indices (basis "c", by the
  day the ticket was created) or in seconds (basis "v", the engineers' visits by the day of
  the first arrival). Percentiles of any filter and grouping merge these arrays.

Both are derived from `ticket_stage_facts` and rewritten day by day when a refresh touches
a ticket of that day (`portal.analytics.rollups`).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, LargeBinary, String, Table, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.analytics.models import TicketStageFact
from portal.database import Base
from portal.tickets import lifecycle

# The tickets whose figures still change with the clock: open, or never answered and not
# cancelled. Literal SQL, so both planners match it against the partial index below.
PENDING_SQL = "(status IN ({open}) OR (responded_ts IS NULL AND status <> 'cancelled'))".format(
    open=", ".join(f"'{s}'" for s in sorted(lifecycle.OPEN))
)

F = TicketStageFact.__table__.c
Index("ix_tsf_day", F.day)
Index("ix_tsf_visit_day", F.visit_day)
Index(
    "ix_tsf_pending",
    F.created_ts,
    postgresql_where=text(PENDING_SQL),
    sqlite_where=text(PENDING_SQL),
)

ROLLUP_MEASURES = (
    "tickets",
    "response_ok",
    "response_n",
    "arrival_ok",
    "arrival_n",
    "completion_ok",
    "completion_n",
    "ftf_ok",
    "ftf_n",
    "csat_good",
    "csat_n",
    "complaints",
    "escalated",
    "remote",
    "bot_intake",
    "resolved",
    "frt_n",
    "dispatched",
    "dispatched_once",
    "rejected",
    "done",
    "eval_requested",
    "settle_requested",
    "settled",
    "failures",
    "repeats",
    "fail_ttr_n",
    "fail_t5_n",
)
ROLLUP_SUMS = ("score_sum", "frt_sum", "ttr_sum", "fail_ttr_sum", "fail_t5_sum")


class AnalyticsDaily(Base):
    """Counts and sums of the settled tickets of one day, network and dimension value."""

    __tablename__ = "analytics_daily"
    __table_args__ = (Index("ix_analytics_daily_dim_day", "dim", "day"),)

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    network_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: none
    dim: Mapped[str] = mapped_column(String(16), primary_key=True)  # '': every ticket
    value: Mapped[str] = mapped_column(String(64), primary_key=True)  # '' with dim ''
    week: Mapped[str] = mapped_column(String(10))
    month: Mapped[str] = mapped_column(String(7))
    tickets: Mapped[int] = mapped_column(Integer)
    response_ok: Mapped[int] = mapped_column(Integer)
    response_n: Mapped[int] = mapped_column(Integer)
    arrival_ok: Mapped[int] = mapped_column(Integer)
    arrival_n: Mapped[int] = mapped_column(Integer)
    completion_ok: Mapped[int] = mapped_column(Integer)
    completion_n: Mapped[int] = mapped_column(Integer)
    ftf_ok: Mapped[int] = mapped_column(Integer)
    ftf_n: Mapped[int] = mapped_column(Integer)
    csat_good: Mapped[int] = mapped_column(Integer)
    csat_n: Mapped[int] = mapped_column(Integer)
    complaints: Mapped[int] = mapped_column(Integer)
    escalated: Mapped[int] = mapped_column(Integer)
    remote: Mapped[int] = mapped_column(Integer)
    bot_intake: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    frt_n: Mapped[int] = mapped_column(Integer)
    dispatched: Mapped[int] = mapped_column(Integer)
    dispatched_once: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer)
    eval_requested: Mapped[int] = mapped_column(Integer)
    settle_requested: Mapped[int] = mapped_column(Integer)
    settled: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    repeats: Mapped[int] = mapped_column(Integer)
    fail_ttr_n: Mapped[int] = mapped_column(Integer)
    fail_t5_n: Mapped[int] = mapped_column(Integer)
    score_sum: Mapped[float] = mapped_column(Float)
    frt_sum: Mapped[float] = mapped_column(Float)
    ttr_sum: Mapped[float] = mapped_column(Float)
    fail_ttr_sum: Mapped[float] = mapped_column(Float)
    fail_t5_sum: Mapped[float] = mapped_column(Float)


# `analytics_daily` summed over each local month (whole months of a period are read here).
AnalyticsMonthly = Table(
    "analytics_monthly",
    Base.metadata,
    Column("month", String(7), primary_key=True),
    Column("network_id", Integer, primary_key=True),
    Column("dim", String(16), primary_key=True),
    Column("value", String(64), primary_key=True),
    *[Column(name, Integer, nullable=False) for name in ROLLUP_MEASURES],
    *[Column(name, Float, nullable=False) for name in ROLLUP_SUMS],
    Index("ix_analytics_monthly_dim_month", "dim", "month"),
)


class AnalyticsColumn(Base):
    """One column of one day's tickets, as a numpy array (see `portal.analytics.rollups`)."""

    __tablename__ = "analytics_columns"

    basis: Mapped[str] = mapped_column(String(1), primary_key=True)  # "c" created, "v" visit
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
