"""The web self-service pages and the chat promise the same arrival time: the one ETA in
tickets/flows.py (before, the chat promised the arrival deadline of a ticket nobody had been
given yet, while the web page promised nothing). The ETA is the published route's, on the
booked day; never the SLA's arrival deadline (a tester read 预计到达 13:00 beside a morning
booking whose route said 08:12)."""

from __future__ import annotations

from datetime import timedelta

from portal.botapi.service import to_bot_ticket
from portal.database import Database, utcnow
from portal.dispatch import service as dispatch
from portal.intake.windows import now_local
from portal.selfservice.service import ticket_view
from portal.sla.service import timers_of
from portal.tickets import flows as ticket_flows
from portal.tickets.models import Ticket
from tests.portal import factories as f


def both_etas(db: Database, ticket_id: int) -> tuple[object, object, object]:
    with db.session() as s:
        ticket = s.get_one(Ticket, ticket_id)
        web = ticket_view(s, ticket).eta
        chat = to_bot_ticket(s, ticket, "check_code").eta
        return web, chat, ticket_flows.eta(s, ticket)


def test_web_and_chat_promise_the_same_time(db: Database) -> None:
    now = utcnow()
    with db.session() as s:
        engineer = f.engineer(s, network=f.network(s))
        accepted = f.ticket(s, customer=f.customer(s), at=now, actions=("accept",))
        dispatched = f.ticket(
            s, customer=f.customer(s), at=now, actions=("accept", "dispatch"), engineer=engineer
        )
        day = (now_local() + timedelta(days=1)).date()
        planned = f.ticket(
            s,
            customer=f.customer(s),
            at=now,
            actions=("accept", "dispatch"),
            engineer=engineer,
            preferred_time=f"{day} 08:00-12:00",
        )
        at_door = now_local().replace(hour=9, minute=12, second=0, microsecond=0) + timedelta(
            days=1
        )
        dispatch.set_visit(
            s,
            ticket_id=planned.id,
            engineer_id=engineer.id,
            day=day,
            source="plan",
            sequence=1,
            eta=at_door,
        )
        arrived = f.ticket(
            s,
            customer=f.customer(s),
            at=now,
            actions=("accept", "dispatch", "engineer_accept", "depart", "arrive"),
            engineer=engineer,
        )
        ids = accepted.id, dispatched.id, planned.id, arrived.id
        deadline = timers_of(s, ticket_id=dispatched.id, kinds=("arrival",), states=("pending",))
        assert deadline, "the arrival deadline runs"
    # Nobody has the job yet: no time is promised, on either channel.
    assert both_etas(db, ids[0]) == (None, None, None)
    # Dispatched without a published route: no ETA (the booked window is the promise), on
    # both, although the arrival deadline runs.
    assert both_etas(db, ids[1]) == (None, None, None)
    web, chat, one = both_etas(db, ids[2])
    assert web == chat == one == at_door
    assert both_etas(db, ids[3]) == (None, None, None)
