"""Reads and writes of complaint cases and revisit calls: opening a case, its actions, the
lists, and which completed tickets are waiting for a revisit call. Keyword-only; flush,
never commit. Deadlines and messages to the customer are the flows' business."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from portal.complaints.models import Complaint, ComplaintEvent, RevisitCall
from portal.complaints.policies import visible_to
from portal.customers.models import Customer
from portal.errors import Conflict, Invalid, NotFound
from portal.i18n import Term, both
from portal.security import Scope
from portal.tickets.models import Ticket, TicketEvent

# How a complaint reached us.
SOURCES = ("chat", "wechat", "phone", "revisit")
# What it is about (a fixed list, so the dashboards can count them).
REASONS = (
    "attitude",
    "no_show",
    "late",
    "not_fixed",
    "repeat_repair",
    "charges",
    "parts",
    "product",
    "communication",
    "other",
)
STATUSES = ("open", "in_progress", "resolved", "closed")
ACTIVE = ("open", "in_progress")
# The customer's answer to the last outcome (models.Complaint.confirmation).
CONFIRMATIONS = ("", "awaiting", "accepted", "rejected", "phone", "no_reply")
# The reasons a case may be reclassified as a repeat repair by itself: the ones that say
# nothing more precise (a reason the desk picked on purpose stays theirs).
GENERIC_REASONS = frozenset({"other", "not_fixed"})
# A repair completed on the same unit this many days before a ticket makes it a repeat.
REPEAT_DAYS = 30
# A rating at or below this opens a complaint by itself.
LOW_SCORE = 2
# action -> (the statuses it may start from, where it leads; None: the status stays)
ACTIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "take": (frozenset({"open", "in_progress"}), "in_progress"),
    "note": (frozenset({"open", "in_progress", "resolved"}), None),
    "classify": (frozenset({"open", "in_progress"}), None),
    "resolve": (frozenset({"in_progress"}), "resolved"),
    "reopen": (frozenset({"resolved"}), "in_progress"),
    # Only once the customer accepted the outcome (`answer`); while they have not answered,
    # the desk may call them and note what they said, which closes the case.
    "close": (frozenset({"resolved"}), "closed"),
    "confirm_phone": (frozenset({"resolved"}), "closed"),
}
# What each action needs of the customer's answer, besides the status.
NEEDS_CONFIRMATION: dict[str, frozenset[str]] = {
    "close": frozenset({"accepted"}),
    "confirm_phone": frozenset({"awaiting", ""}),
}
NOTE_MAX = 2000
# Words in a low rating's comment that say what the complaint is about (else "other").
# Words that say the fault came back (a repeat repair, 重复维修): `classify_repeat`.
REPEAT_WORDS = (
    "再次",
    "又坏",
    "又出现",
    "又出问题",
    "又不行",
    "还是不行",
    "还是老样子",
    "老毛病",
    "同样的问题",
    "一样的问题",
    "same problem",
    "broke again",
    "broken again",
    "happened again",
    "not working again",
    "came back",
)
REASON_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("no_show", ("没来", "没上门", "爽约", "放鸽子", "no show", "never came")),
    ("late", ("迟到", "晚到", "等了", "太久", "很久", "太慢", "late")),
    ("attitude", ("态度", "不礼貌", "不耐烦", "rude", "attitude")),
    ("not_fixed", ("没修好", "没有修好", "还是坏", "未修好", "not fixed", "still broken")),
    ("charges", ("收费", "太贵", "乱收", "价格", "费用", "charge", "price", "expensive")),
    ("parts", ("配件", "备件", "零件", "part")),
    ("communication", ("没人联系", "联系不上", "不通知", "沟通", "no one called")),
)


def guess_reason(text: str) -> str:
    """The reason a customer's comment points at, or "other"."""
    said = text.lower()
    for reason, words in REASON_WORDS:
        if any(w in said for w in words):
            return reason
    return "other"


def repeat_words(text: str) -> str | None:
    """The words of `text` that say the fault came back, if any."""
    said = text.lower()
    return next((w for w in REPEAT_WORDS if w in said), None)


def repeat_of(session: Session, *, ticket: Ticket, days: int = REPEAT_DAYS) -> Ticket | None:
    """Another repair of the same unit (the registered unit, else the serial number)
    completed in the `days` before `ticket` was opened, the latest; None without a unit."""
    same_unit = []
    if ticket.asset_id is not None:
        same_unit.append(Ticket.asset_id == ticket.asset_id)
    if ticket.serial_number.strip():
        same_unit.append(Ticket.serial_number == ticket.serial_number)
    if not same_unit:
        return None
    since = ticket.created_at - timedelta(days=days)
    return session.scalars(
        select(Ticket)
        .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .where(
            Ticket.id != ticket.id,
            Ticket.type == "repair",
            or_(*same_unit),
            TicketEvent.action == "complete",
            TicketEvent.created_at >= since,
            TicketEvent.created_at <= ticket.created_at,
        )
        .order_by(TicketEvent.created_at.desc())
    ).first()


def classify_repeat(
    session: Session, *, complaint: Complaint, said: str, at: datetime, always: bool = False
) -> bool:
    """Make the case a repeat repair when the customer says the fault came back, or the unit
    was repaired within REPEAT_DAYS; the history says why (the words, or the earlier
    ticket's number). Only a generic reason is replaced, unless `always` (a case the
    customer's rating opened, whose reason was only guessed). Whether it did."""
    if complaint.reason == "repeat_repair" or not (always or complaint.reason in GENERIC_REASONS):
        return False
    words = repeat_words(said)
    earlier = None if words else repeat_of(session, ticket=complaint.ticket)
    if words is None and earlier is None:
        return False
    complaint.reason = "repeat_repair"
    note = words if words is not None else earlier.number if earlier is not None else ""
    _event(session, complaint=complaint, action="repeat", actor="system", note=note, at=at)
    return True


def _event(
    session: Session, *, complaint: Complaint, action: str, actor: str, note: str, at: datetime
) -> ComplaintEvent:
    # Through the relationship, so the case's loaded history has it too.
    event = ComplaintEvent(
        complaint=complaint, action=action, actor=actor, note=note, created_at=at
    )
    session.add(event)
    complaint.updated_at = at
    session.flush()
    return event


def record(
    session: Session, *, complaint: Complaint, action: str, actor: str, note: str, at: datetime
) -> ComplaintEvent:
    """A line in the case's history that changes nothing else (a follow-up ticket opened)."""
    return _event(session, complaint=complaint, action=action, actor=actor, note=note, at=at)


def check_choice(value: str, *, choices: Sequence[str], field: str) -> str:
    """The value when it is one of `choices`, else Invalid naming the field."""
    if value not in choices:
        raise Invalid("validation.invalid", field=field)
    return value


def open_case(
    session: Session,
    *,
    ticket: Ticket,
    source: str,
    reason: str,
    description: str,
    actor: str,
    at: datetime,
    deadline_at: datetime,
    score: int | None = None,
) -> Complaint:
    """A new open case about `ticket` (its customer and network), with its first event."""
    check_choice(source, choices=SOURCES, field="complaint_source")
    check_choice(reason, choices=REASONS, field="complaint_reason")
    complaint = Complaint(
        ticket_id=ticket.id,
        customer_id=ticket.customer_id,
        network_id=ticket.network_id,
        source=source,
        reason=reason,
        description=description.strip()[:NOTE_MAX],
        score=score,
        status="open",
        deadline_at=deadline_at,
        opened_by=actor,
        created_at=at,
        updated_at=at,
    )
    session.add(complaint)
    session.flush()
    _event(session, complaint=complaint, action="open", actor=actor, note="", at=at)
    return complaint


def active_for(session: Session, *, ticket_id: int) -> Complaint | None:
    """The ticket's case still being handled (open or in progress), if any."""
    return session.scalars(
        select(Complaint)
        .where(Complaint.ticket_id == ticket_id, Complaint.status.in_(ACTIVE))
        .order_by(Complaint.id.desc())
    ).first()


def add_note(
    session: Session, *, complaint: Complaint, actor: str, note: str, at: datetime
) -> None:
    """A line in the case's history, whatever its status (a repeated low rating, say)."""
    _event(session, complaint=complaint, action="note", actor=actor, note=note[:NOTE_MAX], at=at)


def act(
    session: Session,
    *,
    complaint: Complaint,
    action: str,
    actor: str,
    user_id: int | None,
    note: str = "",
    reason: str = "",
    at: datetime,
    confirm_due_at: datetime | None = None,
) -> ComplaintEvent:
    """Take one action on a case, or raise Conflict (wrong status, or the customer has not
    accepted the outcome) / Invalid (input). A resolution asks the customer until
    `confirm_due_at`."""
    if action not in ACTIONS:
        raise Invalid("validation.invalid", field="action")
    sources, target = ACTIONS[action]
    if complaint.status not in sources:
        raise Conflict(
            "complaints.bad_action",
            current=Term.key(f"complaints.status.{complaint.status}"),
            action=Term.key(f"complaints.action.{action}"),
        )
    if action in NEEDS_CONFIRMATION and complaint.confirmation not in NEEDS_CONFIRMATION[action]:
        raise Conflict(
            f"complaints.cannot_{action}",
            answer=Term.key(f"complaints.confirmation.{complaint.confirmation or 'none'}"),
        )
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise Invalid("validation.too_long", field="complaint_note")
    if action == "resolve" and not note:
        raise Invalid("validation.missing", field="complaint_outcome")
    if action == "note" and not note:
        raise Invalid("validation.missing", field="complaint_note")
    if action == "confirm_phone" and not note:
        raise Invalid("validation.missing", field="complaint_phone_note")
    if action == "classify":
        check_choice(reason, choices=REASONS, field="complaint_reason")
        note = note or both(f"complaints.reason.{reason}")[0]
        complaint.reason = reason
    if action == "take":
        complaint.owner_id = user_id
    if action == "resolve":
        complaint.outcome = note
        complaint.resolved_at = at
        complaint.confirmation = "awaiting"
        complaint.confirm_due_at = confirm_due_at
    if action == "reopen":
        complaint.resolved_at = None
        complaint.confirmation = ""
        complaint.confirm_due_at = None
    if action == "confirm_phone":
        complaint.confirmation = "phone"
        complaint.confirm_due_at = None
    if action in ("close", "confirm_phone"):
        complaint.closed_at = at
    if target is not None:
        complaint.status = target
    return _event(session, complaint=complaint, action=action, actor=actor, note=note, at=at)


def available_actions(complaint: Complaint) -> list[str]:
    """The actions the case's status and the customer's answer allow now."""
    return [
        a
        for a, (sources, _target) in ACTIONS.items()
        if complaint.status in sources
        and (a not in NEEDS_CONFIRMATION or complaint.confirmation in NEEDS_CONFIRMATION[a])
    ]


def awaiting_answer(complaint: Complaint) -> bool:
    """Whether the customer is being asked to accept the outcome."""
    return complaint.status == "resolved" and complaint.confirmation == "awaiting"


def answer(
    session: Session,
    *,
    complaint: Complaint,
    accept: bool,
    words: str,
    actor: str,
    at: datetime,
) -> ComplaintEvent:
    """The customer's answer to the outcome: accepted (the desk may close the case), or not,
    in their words (the case is back at work). Conflict once answered or no longer asked."""
    if not awaiting_answer(complaint):
        raise Conflict(
            "complaints.answered",
            answer=Term.key(f"complaints.confirmation.{complaint.confirmation or 'none'}"),
        )
    words = words.strip()
    if len(words) > NOTE_MAX:
        raise Invalid("validation.too_long", field="complaint_words")
    complaint.confirm_due_at = None
    if accept:
        complaint.confirmation = "accepted"
        return _event(session, complaint=complaint, action="accept", actor=actor, note=words, at=at)
    if not words:
        raise Invalid("validation.missing", field="complaint_words")
    complaint.confirmation = "rejected"
    complaint.status = "in_progress"
    complaint.resolved_at = None
    return _event(session, complaint=complaint, action="reject", actor=actor, note=words, at=at)


# A customer's whole message answering the outcome in a chat (trailing punctuation dropped):
# yes in a word or two, or a no followed by anything (their reason).
_ACCEPT = re.compile(
    r"^(?:好的?|可以|嗯)?[，,\s]*(?:接受|同意|满意|认可|没问题|可以|好的|accept(?:ed)?|yes|ok(?:ay)?)$"
)
_REJECT = re.compile(r"^(?:不接受|不同意|不满意|不认可|不可以|不行|拒绝|no\b|not accept|reject)")
_TRAILING = re.compile(r"[\s.。!！~～]+$")


def chat_answer(text: str) -> bool | None:
    """Whether a chat message accepts (True) or turns down (False) the outcome it answers;
    None when it is no answer (a question, anything else: that goes to the bot)."""
    said = _TRAILING.sub("", text.strip().lower())
    if _REJECT.match(said):
        return False
    if _ACCEPT.match(said):
        return True
    return None


def bare_rejection(text: str) -> bool:
    """Whether a no says nothing more (不接受, the quick reply): the customer is asked why."""
    said = _TRAILING.sub("", text.strip().lower())
    found = _REJECT.match(said)
    return found is not None and not said[found.end() :].strip(" ，,。.!！")


def awaiting_of_wechat(session: Session, *, openid: str) -> Complaint | None:
    """The latest case waiting for the answer of the customer bound to this WeChat user."""
    return session.scalars(
        select(Complaint)
        .join(Customer, Customer.id == Complaint.customer_id)
        .where(
            Customer.wechat_openid == openid,
            Complaint.status == "resolved",
            Complaint.confirmation == "awaiting",
        )
        .order_by(Complaint.id.desc())
    ).first()


def due_unanswered(session: Session, *, now: datetime, limit: int = 500) -> list[Complaint]:
    """Resolved cases whose customer was asked and has not answered by `now`."""
    return list(
        session.scalars(
            select(Complaint)
            .where(
                Complaint.status == "resolved",
                Complaint.confirmation == "awaiting",
                Complaint.confirm_due_at <= now,
            )
            .order_by(Complaint.confirm_due_at, Complaint.id)
            .limit(limit)
        )
        .unique()
        .all()
    )


def lapse(session: Session, *, complaint: Complaint, at: datetime) -> ComplaintEvent:
    """Close a case whose customer never answered: closed, "客户未回复"."""
    complaint.confirmation = "no_reply"
    complaint.confirm_due_at = None
    complaint.status = "closed"
    complaint.closed_at = at
    return _event(session, complaint=complaint, action="lapse", actor="system", note="", at=at)


def follow_up_of(session: Session, *, ticket_id: int) -> Complaint | None:
    """The case whose outcome opened this ticket as its follow-up visit, if one did."""
    return session.scalars(
        select(Complaint).where(Complaint.follow_up_ticket_id == ticket_id)
    ).first()


def asked_of(session: Session, *, ticket_id: int) -> Complaint | None:
    """The ticket's latest case whose customer was asked to accept an outcome, if any."""
    return session.scalars(
        select(Complaint)
        .where(Complaint.ticket_id == ticket_id, Complaint.confirmation != "")
        .order_by(Complaint.id.desc())
    ).first()


def of_ticket(session: Session, *, ticket_id: int) -> list[Complaint]:
    """The cases about a ticket, oldest first."""
    return list(
        session.scalars(
            select(Complaint).where(Complaint.ticket_id == ticket_id).order_by(Complaint.id)
        )
        .unique()
        .all()
    )


# ---------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class CaseFilters:
    """The list's filters; empty strings mean "any"."""

    status: str = ""
    reason: str = ""
    source: str = ""
    number: str = ""  # the ticket's number
    overdue: bool = False
    mine: int | None = None  # the owner's user id


def _filtered(stmt: Select[Any], f: CaseFilters, *, now: datetime) -> Select[Any]:
    if f.status == "active":
        stmt = stmt.where(Complaint.status.in_(ACTIVE))
    elif f.status:
        stmt = stmt.where(Complaint.status == f.status)
    if f.reason:
        stmt = stmt.where(Complaint.reason == f.reason)
    if f.source:
        stmt = stmt.where(Complaint.source == f.source)
    if f.number:
        stmt = stmt.join(Ticket, Ticket.id == Complaint.ticket_id).where(
            Ticket.number == f.number.strip().upper()
        )
    if f.overdue:
        stmt = stmt.where(Complaint.status.in_(ACTIVE), Complaint.deadline_at < now)
    if f.mine is not None:
        stmt = stmt.where(Complaint.owner_id == f.mine)
    return stmt


def list_cases(
    session: Session,
    *,
    scope: Scope,
    filters: CaseFilters,
    now: datetime,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Complaint], int]:
    """The cases this scope sees that match, the due ones first; and how many match."""
    base = _filtered(visible_to(select(Complaint), scope), filters, now=now)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    order = (
        Complaint.status.in_(ACTIVE).desc(),
        Complaint.deadline_at,
        Complaint.id,
    )
    rows = session.scalars(base.order_by(*order).limit(limit).offset(offset)).unique().all()
    return list(rows), int(total)


def status_counts(session: Session, *, scope: Scope, now: datetime) -> dict[str, int]:
    """How many cases this scope sees per status, plus the overdue active ones."""
    seen = visible_to(select(Complaint.id), scope)
    stmt = (
        select(Complaint.status, func.count())
        .where(Complaint.id.in_(seen.scalar_subquery()))
        .group_by(Complaint.status)
    )
    counts = {s: 0 for s in STATUSES}
    counts.update({str(s): int(n) for s, n in session.execute(stmt).all()})
    overdue = visible_to(select(func.count()).select_from(Complaint), scope).where(
        Complaint.status.in_(ACTIVE), Complaint.deadline_at < now
    )
    counts["overdue"] = int(session.scalar(overdue) or 0)
    return counts


def get_case(session: Session, *, complaint_id: int, scope: Scope) -> Complaint:
    """One case this scope sees, else NotFound (a case outside it is not there)."""
    found = session.scalars(
        visible_to(select(Complaint), scope).where(Complaint.id == complaint_id)
    ).first()
    if found is None:
        raise NotFound("object.complaint")
    return found


# ---------------------------------------------------------------- revisit calls


# A revisit the desk makes by phone: the lifecycle's `request_evaluation` with this payload.
# It sends no invitation, and it is what lets the agent who makes it see the number.
BY_PHONE = {"via": "phone"}
# Completed tickets looked at for the queue at most (the oldest first).
QUEUE_SCAN = 1000


@dataclass(frozen=True, slots=True)
class DueRevisit:
    """A completed ticket whose customer has not rated it since they were asked."""

    ticket: Ticket
    completed_at: datetime
    asked_at: datetime  # the last invitation (or the completion, if none went out)
    calls: int  # unreachable calls so far
    caller: str | None  # who opened a phone revisit since the last invitation


def is_phone_revisit(event: TicketEvent) -> bool:
    """Whether a `request_evaluation` is the desk calling (not an invitation)."""
    return event.action == "request_evaluation" and event.payload.get("via") == "phone"


def revisit_of(ticket: Ticket) -> tuple[datetime, datetime, str | None] | None:
    """(completed, last asked, who is calling) of a completed ticket; None if never asked."""
    done = [e.created_at for e in ticket.events if e.action == "complete"]
    if not done:
        return None
    asked = [
        e.created_at
        for e in ticket.events
        if e.action in ("complete", "request_evaluation") and not is_phone_revisit(e)
    ]
    last = max(asked)
    callers = [e.actor for e in ticket.events if is_phone_revisit(e) and e.created_at >= last]
    return max(done), last, (callers[-1] if callers else None)


def due_revisits(
    session: Session, *, asked_before: datetime, limit: int = 200
) -> tuple[list[DueRevisit], int]:
    """Completed, unrated tickets last asked to rate before `asked_before` (and not declined
    on a call), the least called and longest waiting first; and how many there are."""
    done = (
        select(TicketEvent.ticket_id, func.max(TicketEvent.created_at).label("done_at"))
        .where(TicketEvent.action == "complete")
        .group_by(TicketEvent.ticket_id)
        .subquery()
    )
    declined = select(RevisitCall.ticket_id).where(RevisitCall.outcome == "declined")
    candidates = session.scalars(
        select(Ticket)
        .join(done, done.c.ticket_id == Ticket.id)
        .where(
            Ticket.status == "completed",
            done.c.done_at < asked_before,
            Ticket.id.not_in(declined),
        )
        .order_by(done.c.done_at, Ticket.id)
        .limit(QUEUE_SCAN)
    ).unique()
    calls = dict(
        session.execute(
            select(RevisitCall.ticket_id, func.count())
            .where(RevisitCall.outcome == "unreachable")
            .group_by(RevisitCall.ticket_id)
        ).all()
    )
    due = []
    for ticket in candidates:
        found = revisit_of(ticket)
        if found is None or found[1] >= asked_before:
            continue
        completed_at, asked_at, caller = found
        due.append(
            DueRevisit(
                ticket=ticket,
                completed_at=completed_at,
                asked_at=asked_at,
                calls=int(calls.get(ticket.id, 0)),
                caller=caller,
            )
        )
    due.sort(key=lambda d: (d.calls, d.asked_at, d.ticket.id))
    return due[:limit], len(due)


def record_call(
    session: Session,
    *,
    ticket: Ticket,
    outcome: str,
    score: int | None,
    comment: str,
    actor: str,
    at: datetime,
) -> RevisitCall:
    """Write down one revisit call."""
    call = RevisitCall(
        ticket_id=ticket.id,
        outcome=outcome,
        score=score,
        comment=comment[:NOTE_MAX],
        actor=actor,
        created_at=at,
    )
    session.add(call)
    session.flush()
    return call
