"""The bot, the FAQ and the parts: containment, handoffs, unanswered questions, parts fill.

Definitions: `portal.analytics.service`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import (
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from portal.analytics.filters import LOCAL, Filters
from portal.analytics.measures import (
    Rate,
    c,
    count_if,
)
from portal.conversations.models import Conversation, ConversationEvent
from portal.knowledge import service as knowledge
from portal.parts.models import PartReservation, ShortageOrder


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A customer question the FAQ had nothing good enough for, and how often it came."""

    query: str
    count: int


@dataclass(frozen=True, slots=True)
class BotFigures:
    """What the bot handled alone and what went to a person; what the FAQ could answer."""

    conversations: int
    with_agent: int
    # FAQ searches by customers and the bot in the period: answered directly / all of them.
    faq: Rate = field(default_factory=lambda: Rate(0, 0))
    faq_suggested: int = 0  # searches that got suggestions instead of one answer
    unanswered: tuple[Unanswered, ...] = ()

    @property
    def containment(self) -> Rate:
        """Conversations that never reached a person."""
        return Rate(self.conversations - self.with_agent, self.conversations)

    @property
    def handoff(self) -> Rate:
        """Conversations handed to (or queued for) a person."""
        return Rate(self.with_agent, self.conversations)

    @property
    def faq_available(self) -> bool:
        """Whether anybody searched the FAQ in the period."""
        return self.faq.den > 0


def bot(session: Session, f: Filters, *, unanswered: int = 10) -> BotFigures:
    """Conversations started in the period on the chosen channel: bot-only vs with an agent;
    the FAQ's answer rate and its most asked unanswered questions (all channels and places:
    the search log knows neither)."""
    conv = Conversation.__table__.c
    start = datetime.combine(f.start, time(0), tzinfo=LOCAL)
    end = datetime.combine(f.end + timedelta(days=1), time(0), tzinfo=LOCAL)
    human_event = exists(
        select(ConversationEvent.id).where(
            ConversationEvent.conversation_id == conv.id,
            ConversationEvent.to_state.in_(("waiting", "agent")),
        )
    )
    human = or_(
        conv.state.in_(("waiting", "agent")),
        conv.agent_id.is_not(None),
        conv.accepted_at.is_not(None),
        human_event,
    )
    stmt = select(func.count(), count_if(human)).where(
        conv.created_at >= start, conv.created_at < end
    )
    if f.channel:
        stmt = stmt.where(conv.channel == f.channel)
    total, agent = session.execute(stmt).one()
    faq = knowledge.answer_rate(session, since=start, until=end)
    top = knowledge.top_unanswered(session, since=start, until=end, limit=unanswered)
    return BotFigures(
        int(total or 0),
        int(agent or 0),
        faq=Rate(faq.answered, faq.searches),
        faq_suggested=faq.suggested,
        unanswered=tuple(Unanswered(a.query, a.count) for a in top),
    )


@dataclass(frozen=True, slots=True)
class PartsFill:
    """Parts needs met from stock without a shortage order; `source` says from what."""

    rate: Rate
    source: str  # "ledger" (reservations and shortage orders) | "events" | "none"


def parts_fill(session: Session, f: Filters) -> PartsFill:
    """Share of part needs met from stock: from the parts ledger when it has any in the
    period, else from the tickets (parts used on completion vs waiting for parts)."""
    start = datetime.combine(f.start, time(0), tzinfo=LOCAL)
    end = datetime.combine(f.end + timedelta(days=1), time(0), tzinfo=LOCAL)
    scope = select(c.ticket_id).where(*f.dims())
    needs = (
        select(PartReservation.ticket_id, PartReservation.part_id)
        .where(PartReservation.created_at >= start, PartReservation.created_at < end)
        .union(
            select(ShortageOrder.ticket_id, ShortageOrder.part_id).where(
                ShortageOrder.created_at >= start, ShortageOrder.created_at < end
            )
        )
        .subquery()
    )
    short = exists(
        select(ShortageOrder.id).where(
            ShortageOrder.ticket_id == needs.c.ticket_id,
            ShortageOrder.part_id == needs.c.part_id,
        )
    )
    total, shorts = session.execute(
        select(func.count(), count_if(short)).where(needs.c.ticket_id.in_(scope))
    ).one()
    if total:
        return PartsFill(Rate(int(total) - int(shorts or 0), int(total)), "ledger")
    total, waited = session.execute(
        select(count_if(c.parts_needed.is_(True)), count_if(c.parts_waited.is_(True))).where(
            *f.where()
        )
    ).one()
    if not total:
        return PartsFill(Rate(0, 0), "none")
    return PartsFill(Rate(int(total) - int(waited or 0), int(total)), "events")
