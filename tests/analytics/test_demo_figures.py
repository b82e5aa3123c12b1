"""The demo data gives the dashboards believable figures: repeat repairs only as often as
planned, parts mostly from stock, and chats in which the bot settles most questions."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from portal.analytics import service
from portal.analytics.filters import Filters
from portal.analytics.refresh import refresh
from portal.conversations.models import Conversation, Message
from portal.database import Database
from portal.demo import chats
from portal.tickets.models import Ticket
from tests.demo_fixtures import DEMO_NOW

NOW = DEMO_NOW
PERIOD = Filters(start=date(2025, 12, 1), end=date(2026, 3, 2), period=None, grain="week")


def test_demo_dashboard_figures(demo_db: Database) -> None:
    db = demo_db  # the demo seeded with DEMO_TICKETS at DEMO_NOW (== NOW)
    with db.session() as s:
        refresh(s, full=True, now=NOW)
    with db.session() as s:
        kpis = service.kpis(s, PERIOD, now=NOW)
        # Real first-time-fix rates sit around 85–95 %; the demo plans 7 % repeats.
        assert kpis.ftf.den > 200
        assert 0.80 <= kpis.ftf.value <= 0.97
        fill = service.parts_fill(s, PERIOD)
        assert fill.rate.den > 20
        assert 0.6 <= fill.rate.value <= 0.95
        bot = service.bot(s, PERIOD)
        assert bot.conversations > 500
        assert 0.75 <= bot.containment.value <= 0.97
        assert bot.with_agent > 20
        # The bot's FAQ searches: most answered, a few questions the FAQ lacks, ranked.
        assert bot.faq.den > 300 and 0.6 <= bot.faq.value <= 0.9
        asked = [(u.query, u.count) for u in bot.unanswered]
        assert {q for q, _ in asked} <= set(chats.UNANSWERED_QUESTIONS), asked
        assert [n for _, n in asked] == sorted((n for _, n in asked), reverse=True)
        assert asked[0][1] > asked[-1][1]

        # Every ticket that came in over a chat channel links to the chat that filed it,
        # and that chat told the customer its number.
        chat_tickets = s.scalars(select(Ticket).where(Ticket.channel.in_(("web", "wechat")))).all()
        assert chat_tickets
        for ticket in chat_tickets[:50]:
            assert ticket.conversation_id
            conv = s.scalars(
                select(Conversation).where(Conversation.public_id == ticket.conversation_id)
            ).one()
            texts = s.scalars(select(Message.text).where(Message.conversation_id == conv.id))
            assert any(ticket.number in t for t in texts)
            assert conv.created_at < ticket.created_at
        handed = s.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.author == "agent", Message.agent_id.is_not(None))
        )
        assert handed and handed > 0
