"""Tables of the knowledge base: the search log, unanswered questions, feedback, edit history.

The FAQ entries themselves live in YAML files (knowledge_base/faq), not here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import Base, UTCDateTime, utcnow

QUERY_MAX = 200  # normalised query text kept in the log tables
ENTRY_ID_MAX = 128  # knowledge_base.loader.ID_RE allows 128 characters


class KbSearchLog(Base):
    """One customer-facing search: where it came from, what was asked, how sure we were."""

    __tablename__ = "kb_search_log"
    __table_args__ = (
        Index("ix_kb_search_log_created", "created_at"),
        Index("ix_kb_search_log_band_created", "band", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(16))  # bot | customer | help
    query: Mapped[str] = mapped_column(String(QUERY_MAX))  # normalised
    band: Mapped[str] = mapped_column(String(8))  # answer | suggest | none
    top_entry_id: Mapped[str] = mapped_column(String(ENTRY_ID_MAX), default="")
    top_score: Mapped[float | None] = mapped_column(Float)


class KbUnanswered(Base):
    """A question nothing in the FAQ answered, counted each time it is asked again."""

    __tablename__ = "kb_unanswered"
    __table_args__ = (Index("ix_kb_unanswered_status_count", "status", "count"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(QUERY_MAX), unique=True)  # normalised
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # open -> resolved (an entry or alternate now covers it) | dismissed (not for the FAQ).
    status: Mapped[str] = mapped_column(String(16), default="open")
    entry_id: Mapped[str] = mapped_column(String(ENTRY_ID_MAX), default="")
    closed_by: Mapped[str] = mapped_column(String(64), default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KbFeedback(Base):
    """Whether an answer helped, as the customer said in the chat or the help centre."""

    __tablename__ = "kb_feedback"
    __table_args__ = (Index("ix_kb_feedback_entry", "entry_id", "helpful"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entry_id: Mapped[str] = mapped_column(String(ENTRY_ID_MAX))
    helpful: Mapped[bool] = mapped_column(Boolean)
    query: Mapped[str] = mapped_column(String(QUERY_MAX), default="")
    conversation_id: Mapped[str] = mapped_column(String(64), default="")
    source: Mapped[str] = mapped_column(String(16))


class KbRevision(Base):
    """One saved change to an FAQ entry: who, when, which file, the entry before and after."""

    __tablename__ = "kb_revisions"
    __table_args__ = (Index("ix_kb_revisions_entry", "entry_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entry_id: Mapped[str] = mapped_column(String(ENTRY_ID_MAX))
    action: Mapped[str] = mapped_column(String(16))  # create | edit | alternate
    path: Mapped[str] = mapped_column(String(255))  # the YAML file, relative to the FAQ folder
    actor: Mapped[str] = mapped_column(String(64))  # user:<id>
    actor_name: Mapped[str] = mapped_column(String(64))
    before: Mapped[str] = mapped_column(Text, default="")  # the entry as YAML; "" when created
    after: Mapped[str] = mapped_column(Text)


class KbEntryReads(Base):
    """How often customers opened an FAQ entry in the help centre (the most-read list)."""

    __tablename__ = "kb_entry_reads"

    entry_id: Mapped[str] = mapped_column(String(ENTRY_ID_MAX), primary_key=True)
    reads: Mapped[int] = mapped_column(Integer, default=0)
    last_read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
