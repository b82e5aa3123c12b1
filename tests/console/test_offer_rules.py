"""The pure offer rules: who let an offer lapse is not offered it again, and an agent keeps
only the offers they have room for."""

from __future__ import annotations

from portal.conversations.routing import Candidate, Need, excess_offers, plan_offers


def test_who_missed_an_offer_does_not_get_it_again() -> None:
    agents = [Candidate(1, 2), Candidate(2, 2)]
    offers, _ = plan_offers([Need(10)], agents, loads={}, last=None, missed={10: frozenset({1})})
    assert offers == [(10, 2)]
    # Alone (or everyone missed it): nobody is offered it; it waits in the queue.
    offers, _ = plan_offers(
        [Need(10)], agents[:1], loads={}, last=None, missed={10: frozenset({1})}
    )
    assert offers == []
    offers, _ = plan_offers(
        [Need(10), Need(11)], agents, loads={}, last=None, missed={10: frozenset({1, 2})}
    )
    assert offers == [(11, 1)]
    # A decline is weaker: the decliner gets it again when nobody else can.
    offers, _ = plan_offers(
        [Need(10)], agents[:1], loads={}, last=None, passed={10: frozenset({1})}
    )
    assert offers == [(10, 1)]


def test_offers_beyond_an_agents_room_are_withdrawn_from_the_back_of_the_queue() -> None:
    held = [(10, 1), (11, 2), (12, 1), (13, 1)]
    # Agent 1 (limit 3) took two chats: room for one offer, the first in the queue.
    assert excess_offers(held, owned={1: 2}, limits={1: 3, 2: 3}) == [12, 13]
    assert excess_offers(held, owned={}, limits={1: 3, 2: 3}) == []
    # At (or past) the limit every offer goes; an agent with no profile any more too.
    assert excess_offers(held, owned={1: 4, 2: 3}, limits={1: 3, 2: 3}) == [10, 11, 12, 13]
    assert excess_offers(held, owned={}, limits={1: 3}) == [11]
