"""The automatic revisit and the complaint a low rating opens, through `lifecycle.apply`:
a completed ticket gets its `request_evaluation` from the subscriber, the invitation goes to
the customer's chat (or by SMS with a link to /my), the rating is the lifecycle's `evaluate`
wherever it comes from, and 1-2 stars open a case due on the ticket's SLA clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.complaints import flows, service
from portal.complaints.models import Complaint
from portal.conversations.flows import NOTIFICATION_KEY, RATING_ACTIONS
from portal.database import Database
from portal.notifications.flows import render
from portal.sla.models import SlaPolicy
from portal.tickets import lifecycle
from tests.complaints.support import completed, events, outbox, rate
from tests.portal import factories as f
from tests.sla.support import act, make_crew

SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 3, 9, 10, 0, tzinfo=SH)


def test_completion_asks_for_the_revisit_and_sms_carries_the_link_to_my(db: Database) -> None:
    with db.session() as s:
        customer = f.customer(s)
        ticket = completed(s, customer=customer)
        [complete] = events(s, ticket, "complete")
        [revisit] = events(s, ticket, "request_evaluation")
        assert (revisit.actor, revisit.payload) == ("system", {"revisit": "auto"})
        assert revisit.created_at == complete.created_at and ticket.status == "completed"
        # t6 (completion -> revisit) is measured on every ticket now; t7 waits for the rating.
        stages = lifecycle.stage_durations(list(ticket.events))
        assert stages["t6"] == 0.0 and stages["t7"] is None

        sms = outbox(s, channel="sms", ticket_id=ticket.id)
        assert [n.template for n in sms][-2:] == ["completed", "revisit_invite_sms"]
        invite = sms[-1]
        assert invite.recipient == customer.phone
        assert invite.idempotency_key == f"ticket:{ticket.id}:event:{revisit.id}:sms"
        zh, en = render(invite.template, invite.payload)
        assert f"/my/tickets/{ticket.number}" in zh and "1-5" in zh
        assert f"/my/tickets/{ticket.number}" in en
        # The completion notice no longer asks for a rating: the invitation does, once.
        assert "评分" not in render("completed", sms[-2].payload)[0]

        rate(s, ticket, 4, "师傅很专业")
        assert lifecycle.stage_durations(list(ticket.events))["t7"] is not None


def test_a_customer_who_chats_is_asked_in_the_chat_not_by_sms(db: Database) -> None:
    with db.session() as s:
        customer = f.customer(s)
        chat = f.conversation(s, channel="web", sender_id="visitor-7")
        ticket = completed(s, customer=customer, conversation_id=chat.public_id)
        invites = [
            (n.channel, n.recipient)
            for n in outbox(s, ticket_id=ticket.id)
            if n.template.startswith("revisit_invite")
        ]
        assert invites == [("widget", "visitor-7")]
        # The chat takes a bare 1-5 answer to it as the ticket's rating.
        [n] = outbox(s, ticket_id=ticket.id, template="revisit_invite")
        found = NOTIFICATION_KEY.match(n.idempotency_key)
        assert found is not None and int(found.group(1)) == ticket.id
        assert "request_evaluation" in RATING_ACTIONS

        bound = f.customer(s, wechat_openid="oRevisit-1")
        wechat = completed(s, customer=bound)
        got = [
            (n.channel, n.recipient, n.template)
            for n in outbox(s, ticket_id=wechat.id)
            if n.template.startswith("revisit_invite")
        ]
        assert got == [("wechat", "oRevisit-1", "revisit_invite")]


def test_the_desk_button_sends_the_same_invitation_again(db: Database) -> None:
    with db.session() as s:
        ticket = completed(s)
        act(s, ticket, "request_evaluation")
        asked = events(s, ticket, "request_evaluation")
        assert len(asked) == 2
        keys = [n.idempotency_key for n in outbox(s, template="revisit_invite_sms")]
        assert keys == [f"ticket:{ticket.id}:event:{e.id}:sms" for e in asked]


def test_history_being_written_asks_for_no_revisit(db: Database) -> None:
    with db.session() as s:
        ticket = completed(s, at=MONDAY_10)
        assert events(s, ticket, "request_evaluation") == []
        assert outbox(s, template="revisit_invite_sms") == []


def test_a_good_rating_opens_no_complaint(db: Database) -> None:
    with db.session() as s:
        ticket = completed(s)
        rate(s, ticket, 3, "还行")
        assert s.scalars(select(Complaint)).all() == []


def test_one_or_two_stars_open_a_case_due_on_the_sla_clock(db: Database) -> None:
    with db.session() as s:
        crew = make_crew(s)
        ticket = completed(s, crew=crew, at=MONDAY_10)
        rate(s, ticket, 1, "师傅迟到了两个小时，态度也不好", at=MONDAY_10)
        [case] = s.scalars(select(Complaint)).all()
        assert (case.source, case.status, case.score) == ("revisit", "open", 1)
        assert case.reason == "late"  # the first reason the comment names
        assert (case.ticket_id, case.customer_id) == (ticket.id, ticket.customer_id)
        assert case.network_id == crew.network_id and case.owner_id is None
        assert "师傅迟到了两个小时" in case.description and case.opened_by.startswith("customer:")
        # 1,440 working minutes from Monday 10:00 on 09:00-18:00, Monday to Friday:
        # Monday 8 h, Tuesday 9 h, Wednesday 7 h -> Wednesday 16:00.
        assert case.deadline_at.astimezone(SH) == datetime(2026, 3, 11, 16, 0, tzinfo=SH)
        assert [e.action for e in case.events] == ["open"]


def test_a_policy_around_the_clock_makes_the_deadline_a_day(db: Database) -> None:
    with db.session() as s:
        s.add(
            SlaPolicy(
                name="VIP 24/7",
                response_minutes=10,
                arrival_minutes=240,
                resolution_minutes=1440,
                business_hours=False,
            )
        )
        ticket = completed(s, at=MONDAY_10)
        rate(s, ticket, 2, at=MONDAY_10)
        [case] = s.scalars(select(Complaint)).all()
        assert case.deadline_at.astimezone(SH) == datetime(2026, 3, 10, 10, 0, tzinfo=SH)
        assert case.reason == "other"


def test_a_fresh_case_tells_the_network_and_the_dispatchers(db: Database) -> None:
    with db.session() as s:
        crew = make_crew(s)
        ticket = completed(s, crew=crew)
        rate(s, ticket, 2, "收费太贵")
        [case] = s.scalars(select(Complaint)).all()
        assert case.reason == "charges"
        told = [n.recipient for n in outbox(s, template="complaint_opened")]
        assert told == [f"user:{crew.manager}", f"user:{crew.dispatcher}"]


def test_a_low_rating_while_a_case_is_open_adds_to_it(db: Database) -> None:
    with db.session() as s:
        ticket = completed(s)
        settings = lifecycle.consequences_of(s).context.settings
        case = flows.open_complaint(
            s,
            ticket=ticket,
            source="phone",
            reason="no_show",
            description="客户来电：约好的时间没人来",
            actor="user:1",
            settings=settings,
        )
        rate(s, ticket, 1, "还是没人来")
        assert s.scalars(select(Complaint)).all() == [case]
        assert [e.action for e in case.events] == ["open", "note"]
        assert "还是没人来" in case.events[-1].note
        assert service.active_for(s, ticket_id=ticket.id) is case
