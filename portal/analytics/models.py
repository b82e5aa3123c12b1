"""Analytics' own tables: one fact row per ticket, the refresh watermark and its work list.

`ticket_stage_facts` is derived data: every column can be recomputed from `tickets`,
`ticket_events`, `sla_timers` and `assets`, so a refresh may delete and rewrite any row.
Times are stored as epoch seconds (float), which makes the dashboards' arithmetic the same
SQL on SQLite and PostgreSQL; the local (Asia/Shanghai) day, week and month are strings.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import Base, UTCDateTime


class TicketStageFact(Base):
    """One ticket as the dashboards see it: dimensions, t1–t9, SLA deadlines, outcomes."""

    __tablename__ = "ticket_stage_facts"
    __table_args__ = (
        Index("ix_tsf_created", "created_ts"),
        Index("ix_tsf_network_created", "network_id", "created_ts"),
        Index("ix_tsf_engineer_visit", "engineer_id", "visit_day"),
        Index("ix_tsf_asset_created", "asset_id", "created_ts"),
        Index("ix_tsf_status", "status"),
    )

    # No foreign key: the row is a cache of the ticket's, rewritten in bulk (a full build
    # drops rows of tickets that no longer exist), and the check would slow every write.
    ticket_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    number: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    product: Mapped[str] = mapped_column(String(64))
    model_code: Mapped[str] = mapped_column(String(32))
    city: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    network_id: Mapped[int | None] = mapped_column(Integer)
    engineer_id: Mapped[int | None] = mapped_column(Integer)
    asset_id: Mapped[int | None] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(Integer)
    escalated: Mapped[bool] = mapped_column(Boolean)
    reopen_count: Mapped[int] = mapped_column(Integer)
    fault_code: Mapped[str] = mapped_column(String(16))
    created_ts: Mapped[float] = mapped_column(Float)
    day: Mapped[str] = mapped_column(String(10))  # local calendar day, YYYY-MM-DD
    week: Mapped[str] = mapped_column(String(10))  # the Monday of the local week
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    # EIE stage durations in seconds (lifecycle.STAGES); NULL: not finished or skipped.
    t1: Mapped[float | None] = mapped_column(Float)
    t2: Mapped[float | None] = mapped_column(Float)
    t3: Mapped[float | None] = mapped_column(Float)
    t4: Mapped[float | None] = mapped_column(Float)
    t5: Mapped[float | None] = mapped_column(Float)
    t6: Mapped[float | None] = mapped_column(Float)
    t7: Mapped[float | None] = mapped_column(Float)
    t8: Mapped[float | None] = mapped_column(Float)
    t9: Mapped[float | None] = mapped_column(Float)
    # Milestones (epoch seconds): the first response (accept or remote resolution), the
    # first arrival, the first completion (complete or remote resolution), the last one.
    responded_ts: Mapped[float | None] = mapped_column(Float)
    arrived_ts: Mapped[float | None] = mapped_column(Float)
    completed_ts: Mapped[float | None] = mapped_column(Float)
    resolved_ts: Mapped[float | None] = mapped_column(Float)
    settled_ts: Mapped[float | None] = mapped_column(Float)
    waiting_parts_ts: Mapped[float | None] = mapped_column(Float)  # the last wait_parts
    visit_day: Mapped[str | None] = mapped_column(String(10))  # local day of first arrival
    # Deadlines: the ticket's SLA timers when it has any, else the settings' defaults.
    response_due_ts: Mapped[float | None] = mapped_column(Float)
    arrival_due_ts: Mapped[float | None] = mapped_column(Float)
    resolution_due_ts: Mapped[float | None] = mapped_column(Float)
    remote: Mapped[bool] = mapped_column(Boolean)  # resolved without a visit
    bot_intake: Mapped[bool] = mapped_column(Boolean)  # accepted / resolved by the bot
    dispatches: Mapped[int] = mapped_column(Integer)  # dispatch + reassign events
    rejects: Mapped[int] = mapped_column(Integer)
    eval_requested: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[int | None] = mapped_column(Integer)  # the last evaluation's score
    parts_needed: Mapped[bool] = mapped_column(Boolean)  # parts used or waited for
    parts_waited: Mapped[bool] = mapped_column(Boolean)
    age_days: Mapped[int | None] = mapped_column(Integer)  # since the unit's installation
    warranty_days_left: Mapped[int | None] = mapped_column(Integer)  # <0: out of warranty
    is_repeat: Mapped[bool] = mapped_column(Boolean, default=False)  # repair ≤30 d after one
    repeated: Mapped[bool] = mapped_column(Boolean, default=False)  # a repair followed ≤30 d
    last_event_id: Mapped[int] = mapped_column(Integer)


class AnalyticsState(Base):
    """The refresh watermark: the last event folded in and when the last refresh began."""

    __tablename__ = "analytics_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(Integer, default=0)
    ticket_mark: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rebuilt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AnalyticsDirty(Base):
    """Tickets a running refresh recomputes (emptied at the start of each refresh)."""

    __tablename__ = "analytics_dirty"

    ticket_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
