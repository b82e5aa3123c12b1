"""Reads and writes of the knowledge base's tables: searches, unanswered questions, feedback,
edit history; and the figures the analytics pages take from them.

The FAQ entries are files, read through `knowledge_base.KnowledgeBase` (see flows.py).
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString
from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from knowledge_base import Entry, Hit, Issue, render
from knowledge_base.bands import decide
from portal.database import utcnow
from portal.errors import Invalid, NotFound, PortalError
from portal.i18n import Term, both
from portal.knowledge.models import (
    QUERY_MAX,
    KbEntryReads,
    KbFeedback,
    KbRevision,
    KbSearchLog,
    KbUnanswered,
)

BANDS = ("answer", "suggest", "none")
# Who searched: the bot (service token), a signed-in customer (API), the help centre page.
SOURCES = ("bot", "customer", "help")
UNANSWERED_STATES = ("open", "resolved", "dismissed")

_LONG_DIGITS = re.compile(r"\d{7,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # PostgreSQL text cannot hold NUL
_CJK = "\u2e80-\u9fff\uf900-\ufaff"
_SPACE_BY_CJK = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_TRAILING = re.compile(r"[\s?!.,;:~。？！，、；：…～]+$")


class KbUnavailable(PortalError):
    """No knowledge base is loaded (switched off, or its model could not be loaded)."""

    status_code = 404

    def __init__(self) -> None:
        super().__init__("kb.error.unavailable")


class EntryInvalid(Invalid):
    """An edit the FAQ folder refused; `messages` holds each problem in Chinese and English."""

    def __init__(self, messages: list[tuple[str, str]]) -> None:
        super().__init__("kb.error.invalid")
        self.messages = messages
        self.message_zh += "：" + "；".join(zh for zh, _ in messages)
        self.message_en += ": " + "; ".join(en for _, en in messages)


def answer_html(text: str) -> Markup:
    """An FAQ answer's Markdown as safe HTML (raw HTML escaped, unsafe links dropped)."""
    return Markup(render.to_html(text))


def answer_text(text: str) -> str:
    """An FAQ answer's Markdown as plain text, for a message an agent sends."""
    return render.to_text(text)


# ---------------------------------------------------------------- queries and bands


def normalize_query(text: str) -> str:
    """A question as it is logged and counted: NFKC, lower case, squeezed spaces (none next to
    Chinese), no trailing punctuation, long digit runs (phone, serial numbers) replaced by '#'."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text).lower())
    text = _SPACE_BY_CJK.sub("", " ".join(text.split()))
    text = _LONG_DIGITS.sub("#", text)
    return _TRAILING.sub("", text)[:QUERY_MAX]


def overall_band(hits: Sequence[Hit]) -> str:
    """The decision for a whole result (knowledge_base.bands.decide): the one rule that the
    editors' 试一试, the search API, the help centre and the bot all go by."""
    return str(decide(hits).band.value)


# ---------------------------------------------------------------- the search log


def log_search(
    session: Session, *, source: str, query: str, hits: Sequence[Hit], now: datetime | None = None
) -> str:
    """Record one customer-facing search; a question nothing answered is also counted as
    unanswered. Returns the overall band."""
    now = now or utcnow()
    band = overall_band(hits)
    normalized = normalize_query(query)
    session.add(
        KbSearchLog(
            created_at=now,
            source=source,
            query=normalized,
            band=band,
            top_entry_id=hits[0].id if hits else "",
            top_score=round(float(hits[0].score), 4) if hits else None,
        )
    )
    if band == "none" and normalized:
        count_unanswered(session, query=normalized, now=now)
    session.flush()
    return band


def count_unanswered(session: Session, *, query: str, now: datetime) -> None:
    """Add one to a question's unanswered count (a new row the first time); a question that
    was marked resolved but still finds nothing is opened again."""
    dialect = session.get_bind().dialect.name
    reopen = case((KbUnanswered.status == "resolved", "open"), else_=KbUnanswered.status)
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(KbUnanswered).values(
            query=query,
            count=1,
            first_seen=now,
            last_seen=now,
            status="open",
            entry_id="",
            closed_by="",
        )
        # One statement, so two workers counting the same new question never collide.
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["query"],
                set_={"count": KbUnanswered.count + 1, "last_seen": now, "status": reopen},
            )
        )
        return
    row = session.scalars(select(KbUnanswered).where(KbUnanswered.query == query)).first()
    if row is None:
        session.add(KbUnanswered(query=query, first_seen=now, last_seen=now))
    else:
        row.count += 1
        row.last_seen = now
        if row.status == "resolved":
            row.status = "open"


@dataclass(frozen=True, slots=True)
class AnswerRate:
    """Customer searches in a period by band."""

    searches: int
    answered: int
    suggested: int
    unanswered: int

    @property
    def rate(self) -> float | None:
        """Share answered directly; None when nobody searched."""
        return self.answered / self.searches if self.searches else None

    @property
    def coverage(self) -> float | None:
        """Share answered or at least given suggestions; None when nobody searched."""
        return (self.answered + self.suggested) / self.searches if self.searches else None


def answer_rate(
    session: Session, *, since: datetime, until: datetime, source: str | None = None
) -> AnswerRate:
    """How many searches in [since, until) the FAQ answered, suggested for, or could not."""
    stmt = (
        select(KbSearchLog.band, func.count())
        .where(KbSearchLog.created_at >= since, KbSearchLog.created_at < until)
        .group_by(KbSearchLog.band)
    )
    if source:
        stmt = stmt.where(KbSearchLog.source == source)
    counts = {band: int(n) for band, n in session.execute(stmt)}
    return AnswerRate(
        searches=sum(counts.values()),
        answered=counts.get("answer", 0),
        suggested=counts.get("suggest", 0),
        unanswered=counts.get("none", 0),
    )


@dataclass(frozen=True, slots=True)
class AskedCount:
    """A normalised question and how often it was asked in a period."""

    query: str
    count: int
    last_seen: datetime


def top_unanswered(
    session: Session, *, since: datetime, until: datetime, limit: int = 20
) -> list[AskedCount]:
    """The questions asked most often in [since, until) that found nothing."""
    last = func.max(KbSearchLog.created_at)
    stmt = (
        select(KbSearchLog.query, func.count(), last)
        .where(
            KbSearchLog.band == "none",
            KbSearchLog.created_at >= since,
            KbSearchLog.created_at < until,
        )
        .group_by(KbSearchLog.query)
        .order_by(func.count().desc(), last.desc(), KbSearchLog.query)
        .limit(limit)
    )
    out = []
    for query, count, seen in session.execute(stmt):
        seen_at = seen if isinstance(seen, datetime) else datetime.fromisoformat(str(seen))
        out.append(AskedCount(str(query), int(count), _aware(seen_at)))
    return out


def _aware(value: datetime) -> datetime:
    # max() over a UTCDateTime column comes back untyped on SQLite (naive, already UTC).
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ---------------------------------------------------------------- unanswered questions


def list_unanswered(
    session: Session, *, status: str = "open", limit: int = 100, offset: int = 0
) -> tuple[list[KbUnanswered], int]:
    """Unanswered questions in one state, most asked first, and how many there are."""
    where = KbUnanswered.status == status
    total = session.scalar(select(func.count()).select_from(KbUnanswered).where(where)) or 0
    rows = session.scalars(
        select(KbUnanswered)
        .where(where)
        .order_by(KbUnanswered.count.desc(), KbUnanswered.last_seen.desc(), KbUnanswered.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def get_unanswered(session: Session, *, unanswered_id: int) -> KbUnanswered:
    """One unanswered question, or NotFound."""
    row = session.get(KbUnanswered, unanswered_id)
    if row is None:
        raise NotFound("object.kb_question")
    return row


def close_unanswered(
    session: Session, *, row: KbUnanswered, status: str, actor: str, entry_id: str = ""
) -> None:
    """Mark a question resolved (by an entry) or dismissed (not something the FAQ answers)."""
    if status not in ("resolved", "dismissed"):
        raise ValueError(f"cannot close a question as {status!r}")
    row.status = status
    row.entry_id = entry_id
    row.closed_by = actor[:64]
    row.closed_at = utcnow()
    session.flush()


# ---------------------------------------------------------------- feedback


@dataclass(frozen=True, slots=True)
class FeedbackCount:
    """How often an entry's answer helped and how often it did not."""

    helpful: int = 0
    not_helpful: int = 0


def record_feedback(
    session: Session,
    *,
    entry_id: str,
    helpful: bool,
    source: str,
    query: str = "",
    conversation_id: str = "",
) -> FeedbackCount:
    """Store one verdict on an entry; returns the entry's counts including it."""
    session.add(
        KbFeedback(
            entry_id=entry_id,
            helpful=helpful,
            query=normalize_query(query),
            conversation_id=_CONTROL.sub("", conversation_id)[:64],
            source=source,
        )
    )
    session.flush()
    return feedback_counts(session, entry_ids=[entry_id]).get(entry_id, FeedbackCount())


def feedback_counts(
    session: Session, *, entry_ids: Iterable[str] | None = None
) -> dict[str, FeedbackCount]:
    """Helpful / not helpful counts per entry id (only entries with any feedback)."""
    stmt = select(KbFeedback.entry_id, KbFeedback.helpful, func.count()).group_by(
        KbFeedback.entry_id, KbFeedback.helpful
    )
    if entry_ids is not None:
        stmt = stmt.where(KbFeedback.entry_id.in_(list(entry_ids)))
    raw: dict[str, dict[bool, int]] = {}
    for entry_id, helpful, n in session.execute(stmt):
        raw.setdefault(str(entry_id), {})[bool(helpful)] = int(n)
    return {k: FeedbackCount(v.get(True, 0), v.get(False, 0)) for k, v in raw.items()}


# ---------------------------------------------------------------- edit history


def entry_yaml(fields: Mapping[str, Any] | None) -> str:
    """An entry's fields as the YAML an editor would read, for history and diffs."""
    if not fields:
        return ""
    data = {}
    for key, value in fields.items():
        if isinstance(value, (list, tuple)):
            data[key] = [str(v) for v in value]
        elif isinstance(value, str) and "\n" in value.strip():
            data[key] = LiteralScalarString(value.strip("\n") + "\n")
        else:
            data[key] = value
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.allow_unicode = True
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def entry_version(entry: Entry) -> str:
    """A short fingerprint of an entry's content, so a save can tell it was changed meanwhile."""
    raw = json.dumps(entry.to_dict(), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def record_revision(
    session: Session,
    *,
    entry_id: str,
    action: str,
    path: str,
    actor: str,
    actor_name: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
) -> KbRevision:
    """Write down one saved change to an entry."""
    row = KbRevision(
        entry_id=entry_id,
        action=action,
        path=path[:255],
        actor=actor[:64],
        actor_name=actor_name[:64],
        before=entry_yaml(before),
        after=entry_yaml(after),
    )
    session.add(row)
    session.flush()
    return row


def list_revisions(
    session: Session, *, entry_id: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[KbRevision], int]:
    """Saved changes, newest first (of one entry, or all) and how many there are."""
    where = [KbRevision.entry_id == entry_id] if entry_id else []
    total = session.scalar(select(func.count()).select_from(KbRevision).where(*where)) or 0
    rows = session.scalars(
        select(KbRevision)
        .where(*where)
        .order_by(KbRevision.created_at.desc(), KbRevision.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def revision_diff(revision: KbRevision) -> list[tuple[str, str]]:
    """The change as (kind, line) pairs: kind is "+", "-", " " or "@" (a hunk header)."""
    lines = difflib.unified_diff(
        revision.before.splitlines(), revision.after.splitlines(), lineterm="", n=2
    )
    out = []
    for line in list(lines)[2:]:  # skip the ---/+++ file headers
        kind = line[:1] if line[:1] in "+- @" else " "
        out.append(("@" if kind == "@" else kind, line[1:] if kind != "@" else line))
    return out


# ---------------------------------------------------------------- the library's problems


_ISSUE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^missing required field '(?P<field>\w+)'"), "kb.issue.missing"),
    (re.compile(r"^field '(?P<field>\w+)' is empty"), "kb.issue.empty"),
    (re.compile(r"^field '(?P<field>\w+)' must be a string"), "kb.issue.not_text"),
    (re.compile(r"^field '(?P<field>\w+)' must be a list"), "kb.issue.not_list"),
    (re.compile(r"^unknown field '(?P<field>[^']*)'"), "kb.issue.unknown_field"),
    (re.compile(r"^id '(?P<value>[^']*)' may only use"), "kb.issue.id_chars"),
    (
        re.compile(r"^id '(?P<value>[^']*)' already (used at|lives in) (?P<where>\S+)"),
        "kb.issue.id_taken",
    ),
    (re.compile(r"^product code '(?P<value>[^']*)' looks wrong"), "kb.issue.product"),
    (re.compile(r"^lang '(?P<value>[^']*)' must be"), "kb.issue.lang"),
    (
        re.compile(r"^duplicate id '(?P<value>[^']*)' \(first defined at (?P<where>[^)]+)\)"),
        "kb.issue.duplicate",
    ),
    (re.compile(r"^YAML syntax error: (?P<detail>.*)"), "kb.issue.yaml"),
    (re.compile(r"^a FAQ file must be a YAML list"), "kb.issue.not_a_list"),
    (re.compile(r"^file must be a \.yaml file inside"), "kb.issue.path"),
    (re.compile(r"^entry '(?P<value>[^']*)' is no longer in this file"), "kb.issue.gone"),
    (re.compile(r"^a new entry needs the file"), "kb.issue.no_file"),
)

# The FAQ fields the library's checks name; each is labelled as the editors' table heads it.
_FIELDS = frozenset({"id", "question", "answer", "alternates", "tags", "products", "lang"})


def issue_messages(issue: Issue) -> tuple[str, str]:
    """One problem the FAQ library found, in Chinese and English, with its file and line."""
    where = f"{issue.path}:{issue.line}" if issue.line else issue.path
    for pattern, key in _ISSUE_PATTERNS:
        match = pattern.match(issue.message)
        if match is None:
            continue
        params = match.groupdict()
        field = params.pop("field", None)
        name = Term.key(f"kb.col.{field}") if field in _FIELDS else Term(field or "", field or "")
        zh, en = both(key, field_name=name, **params)
        break
    else:
        zh, en = both("kb.issue.other", detail=issue.message)
    if where:
        return f"{where}：{zh}", f"{where}: {en}"
    return zh, en


# ---------------------------------------------------------------- reads (the most-read list)


def record_read(session: Session, *, entry_id: str, now: datetime | None = None) -> None:
    """Count one customer's opening of an entry in the help centre."""
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(KbEntryReads).values(entry_id=entry_id, reads=1, last_read_at=now)
        # One statement, so two customers opening a new entry at once never collide.
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["entry_id"],
                set_={"reads": KbEntryReads.reads + 1, "last_read_at": now},
            )
        )
        return
    row = session.get(KbEntryReads, entry_id)
    if row is None:
        session.add(KbEntryReads(entry_id=entry_id, reads=1, last_read_at=now))
    else:
        row.reads += 1
        row.last_read_at = now
    session.flush()


def most_read(session: Session, *, limit: int = 50) -> list[tuple[str, int]]:
    """Entry ids with their read counts, most read first (ties: the latest read first)."""
    rows = session.execute(
        select(KbEntryReads.entry_id, KbEntryReads.reads)
        .where(KbEntryReads.reads > 0)
        .order_by(
            KbEntryReads.reads.desc(), KbEntryReads.last_read_at.desc(), KbEntryReads.entry_id
        )
        .limit(limit)
    ).all()
    return [(str(entry_id), int(reads)) for entry_id, reads in rows]


def newest(session: Session, *, limit: int = 50) -> list[tuple[str, datetime]]:
    """Entry ids by the editors' latest creation or change, newest first (an entry the FAQ
    files brought without an edit in the portal has no date and is not listed)."""
    latest = func.max(KbRevision.created_at)
    rows = session.execute(
        select(KbRevision.entry_id, latest.label("at"))
        .where(KbRevision.action.in_(("create", "edit")))
        .group_by(KbRevision.entry_id)
        .order_by(latest.desc(), KbRevision.entry_id)
        .limit(limit)
    ).all()
    return [(str(entry_id), at) for entry_id, at in rows]
