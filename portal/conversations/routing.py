"""Which agent a waiting conversation is offered to: pure functions, no database.

Agents are taken round-robin among those who are online, below their concurrent-chat
limit (chats owned plus chats offered to them, so an agent is never offered more than they
could accept) and have the skills the conversation needs: its product line (an agent with no
product lines takes every product), its language and, after a transfer to a team, that team.

An offer is only a suggestion: taking a chat counts the chats an agent owns, never the
offers they hold (`refusal` with the owned count). When taking one leaves an agent holding
more offers than room (`excess_offers`), the newest of them are withdrawn for others. An
agent who let an offer time out is not offered that conversation again (`missed`); one who
declined it gets it again only when nobody else can (`passed`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Candidate:
    """An online agent as routing sees them."""

    user_id: int
    max_chats: int
    product_lines: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("zh",)
    team: str = ""


@dataclass(frozen=True, slots=True)
class Need:
    """What a waiting conversation asks of the agent who takes it."""

    conversation_id: int
    product_line: str | None = None
    language: str = "zh"
    team: str | None = None


def refusal(agent: Candidate, need: Need, *, load: int) -> str | None:
    """Why this agent cannot take this conversation now ("limit", "skill", "language",
    "team"), or None when they can. `load`: chats and offers when planning an offer, chats
    only when the agent takes one."""
    if load >= agent.max_chats:
        return "limit"
    if need.team and agent.team != need.team:
        return "team"
    if need.product_line and agent.product_lines and need.product_line not in agent.product_lines:
        return "skill"
    if agent.languages and need.language not in agent.languages:
        return "language"
    return None


def next_in_turn(user_ids: Sequence[int], last: int | None) -> int:
    """The first id after `last` in ascending order, wrapping around (round-robin)."""
    ordered = sorted(user_ids)
    if last is not None:
        for user_id in ordered:
            if user_id > last:
                return user_id
    return ordered[0]


def plan_offers(
    needs: Iterable[Need],
    agents: Sequence[Candidate],
    *,
    loads: Mapping[int, int],
    last: int | None,
    passed: Mapping[int, frozenset[int]] | None = None,
    missed: Mapping[int, frozenset[int]] | None = None,
) -> tuple[list[tuple[int, int]], int | None]:
    """Offers (conversation id, agent id) for `needs`, taken in queue order.

    `loads` counts each agent's chats and open offers; `passed` names, per conversation,
    agents who declined an offer of it, who get it again only if nobody else can; `missed`
    those who let one time out, who do not get it again (it waits in the queue, where they
    may still take it). Returns the offers and the agent the round-robin turn ended at.
    """
    load = dict(loads)
    offers: list[tuple[int, int]] = []
    for need in needs:
        gone = (missed or {}).get(need.conversation_id, frozenset())
        able = [
            a
            for a in agents
            if a.user_id not in gone and refusal(a, need, load=load.get(a.user_id, 0)) is None
        ]
        if not able:
            continue
        skipped = (passed or {}).get(need.conversation_id, frozenset())
        fresh = [a for a in able if a.user_id not in skipped] or able
        chosen = next_in_turn([a.user_id for a in fresh], last)
        offers.append((need.conversation_id, chosen))
        load[chosen] = load.get(chosen, 0) + 1
        last = chosen
    return offers, last


def excess_offers(
    offers: Iterable[tuple[int, int]], *, owned: Mapping[int, int], limits: Mapping[int, int]
) -> list[int]:
    """The offers (conversation ids) to withdraw because their agent has no room for them.

    `offers` are (conversation id, agent id) in queue order; an agent keeps the first
    `limit - owned` of theirs, the rest go back to the queue for others.
    """
    room = {agent: max(limits.get(agent, 0) - owned.get(agent, 0), 0) for agent in limits}
    withdrawn: list[int] = []
    for conversation_id, agent_id in offers:
        if room.get(agent_id, 0) > 0:
            room[agent_id] -= 1
        else:
            withdrawn.append(conversation_id)
    return withdrawn
