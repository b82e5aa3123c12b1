"""The web self-service pages and the chat promise the same arrival time: the one ETA in
tickets/flows.py (before, the chat promised the arrival deadline of a ticket nobody had been
given yet, while the web page promised nothing)."""

from __future__ import annotations

from portal.botapi.service import to_bot_ticket
from portal.database import Database, utcnow
from portal.dispatch import service as dispatch
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
        planned = f.ticket(
            s, customer=f.customer(s), at=now, actions=("accept", "dispatch"), engineer=engineer
        )
        dispatch.set_visit(
            s, ticket_id=planned.id, engineer_id=engineer.id, day=now.date(), source="manual"
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
        due = deadline[-1].due_at
    # Nobody has the job yet: no time is promised, on either channel.
    assert both_etas(db, ids[0]) == (None, None, None)
    # Dispatched without a planned visit: the arrival deadline, on both.
    assert both_etas(db, ids[1]) == (due, due, due)
    web, chat, one = both_etas(db, ids[2])
    assert web == chat == one
    assert both_etas(db, ids[3]) == (None, None, None)
