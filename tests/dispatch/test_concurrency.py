"""Two dispatchers assign the same ticket at the same moment: exactly one wins, the other gets
a 409. Once through a running server with concurrent HTTP clients, once step by step to show
that the second really waits on the first one's lock."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from portal.config import Settings
from portal.database import Database
from portal.dispatch import flows
from portal.errors import Conflict
from portal.main import create_app
from portal.tickets.models import Ticket, TicketEvent
from tests.app_fixtures import FakeRasa
from tests.dispatch import helpers as h


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    """The whole app served by uvicorn in a thread; yields its base URL."""
    app = create_app(settings, http_transport=httpx.MockTransport(FakeRasa().handler))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


@dataclass
class Race:
    number: str
    engineers: list[int]
    headers: list[dict[str, str]]


@pytest.fixture
def race(db: Database, settings: Settings) -> Race:
    with db.session() as s:
        net = h.network(s)
        engineers = [h.engineer(s, net, at=spot).id for spot in (h.NEAR, h.MID)]
        dispatchers = [h.user(s, role="dispatcher") for _ in range(2)]
        number = h.ticket(s, h.customer(s)).number
        return Race(number, engineers, [h.bearer(settings, d) for d in dispatchers])


def _dispatch_events(db: Database) -> int:
    with db.session() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(TicketEvent)
                .where(TicketEvent.action.in_(("dispatch", "reassign")))
            )
            or 0
        )


@pytest.mark.parametrize("with_version", [True, False], ids=["expected_version", "implicit"])
def test_two_concurrent_assigns_one_wins_one_gets_409(
    server: str, race: Race, db: Database, with_version: bool
) -> None:
    barrier = threading.Barrier(2)
    results: list[tuple[int, int, dict[str, object]]] = []
    lock = threading.Lock()

    def go(k: int) -> None:
        body: dict[str, object] = {"engineer_id": race.engineers[k], "date": h.DAY.isoformat()}
        if with_version:
            body["expected_version"] = 2
        with httpx.Client(base_url=server, timeout=30) as http:
            barrier.wait()
            r = http.post(
                f"/api/v1/dispatch/tickets/{race.number}/assign", json=body, headers=race.headers[k]
            )
        with lock:
            results.append((k, r.status_code, r.json()))

    threads = [threading.Thread(target=go, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(code for _, code, _ in results)
    assert codes == [200, 409], results
    winner = next(k for k, code, _ in results if code == 200)
    loser_body = next(body for _, code, body in results if code == 409)
    assert loser_body["error"] in ("dispatch.stale_version", "dispatch.already_assigned")
    assert loser_body["message_zh"] and loser_body["message_en"]
    with db.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.number == race.number)).one()
        assert t.status == "dispatched" and t.engineer_id == race.engineers[winner]
    assert _dispatch_events(db) == 1


def test_the_second_assign_waits_for_the_first_lock_then_gets_409(db: Database, race: Race) -> None:
    with db.session() as s:
        ticket_id = s.scalars(select(Ticket.id).where(Ticket.number == race.number)).one()
    first = db.sessionmaker()
    flows.assign(
        first,
        ticket=first.get_one(Ticket, ticket_id),
        principal=h.DISPATCHER,
        engineer_id=race.engineers[0],
        expected_version=2,
        day=h.DAY,
        now=h.NOW,
        settings=h.SETTINGS,
    )
    outcome: dict[str, object] = {}

    def second() -> None:
        try:
            with db.session() as s:
                flows.assign(
                    s,
                    ticket=s.get_one(Ticket, ticket_id),
                    principal=h.DISPATCHER,
                    engineer_id=race.engineers[1],
                    expected_version=2,
                    day=h.DAY,
                    now=h.NOW,
                    settings=h.SETTINGS,
                )
            outcome["result"] = "assigned"
        except Conflict as exc:
            outcome["result"] = exc.key

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(1.0)
    # The first transaction still holds the ticket: the second is waiting on its lock.
    assert thread.is_alive() and not outcome
    first.commit()
    first.close()
    thread.join(30)
    assert outcome["result"] == "dispatch.stale_version"
    with db.session() as s:
        assert s.get_one(Ticket, ticket_id).engineer_id == race.engineers[0]
    assert _dispatch_events(db) == 1
