"""Two routers escalating the same long waits at once (a lease handover: the old router's
tick still runs while the new one starts its own) escalate each conversation once. The rows
are locked with FOR UPDATE SKIP LOCKED on PostgreSQL, the database several workers share."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from portal.config import Settings
from portal.conversations.flows import ConversationHub
from portal.conversations.models import Conversation, ConversationEvent
from portal.conversations.rasa import RasaClient
from portal.database import Database, utcnow
from portal.notifications.models import Notification
from tests.conversations.support import add_agent

WAITING = 150  # enough rows that the two transactions overlap


def _hub(db: Database, settings: Settings) -> ConversationHub:
    rasa = RasaClient(base_url="http://127.0.0.1:9", http=httpx.AsyncClient(), timeout_s=1.0)
    return ConversationHub(db=db, rasa=rasa, settings=settings)


def test_two_routers_escalate_each_long_wait_once(db: Database, settings: Settings) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("several routers share PostgreSQL; on SQLite one worker routes alone")
    supervisors = [add_agent(db, "boss", role="admin"), add_agent(db, "lead", supervisor=True)]
    long_ago = utcnow() - timedelta(hours=1)
    with db.session() as session:
        session.add_all(
            Conversation(
                public_id=f"race-{n}-{uuid.uuid4().hex[:8]}",
                channel="web",
                sender_id=f"visitor-{n}",
                state="waiting",
                waiting_since=long_ago,
            )
            for n in range(WAITING)
        )
    settings = settings.model_copy(update={"handoff_escalate_after_s": 60.0})
    routers = [_hub(db, settings), _hub(db, settings)]
    start = threading.Barrier(len(routers))
    escalated: list[list[tuple[str, float]]] = [[] for _ in routers]
    errors: list[BaseException] = []

    def escalate(n: int) -> None:
        start.wait()
        try:
            escalated[n] = routers[n]._escalate()
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=escalate, args=(n,)) for n in range(len(routers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    by_router = [{public_id for public_id, _ in done} for done in escalated]
    assert not (by_router[0] & by_router[1]), "a conversation escalated by both routers"
    with db.session() as session:
        waiting = set(session.scalars(select(Conversation.public_id)))
        assert by_router[0] | by_router[1] == waiting
        assert all(session.scalars(select(Conversation.escalated)))
        events = Counter(
            session.scalars(
                select(ConversationEvent.conversation_id).where(
                    ConversationEvent.kind == "escalate"
                )
            )
        )
        assert len(events) == WAITING and set(events.values()) == {1}
        notices = session.scalars(
            select(Notification.recipient).where(Notification.template == "handoff_escalated")
        ).all()
        assert len(notices) == WAITING * len(supervisors)
