"""Agent teams of the live-chat desk: a team names the product lines and languages its
members take and how many chats each holds at once.

Routing reads each agent's own profile (portal.conversations: skills, limit, team), so a
team is applied by writing its members' profiles through the conversations service: saving
a team rewrites every member's profile, joining a team takes its skills and limit, leaving
one keeps them but drops the team. An agent's profile can still be changed one by one
afterwards (the console's `PUT /api/v1/console/agents/{id}`); the team page shows who
differs from their team.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.conversations import service as conversations
from portal.conversations.service import AgentInfo
from portal.errors import Conflict, Invalid, NotFound
from portal.staff.models import AgentTeam

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
LANGUAGES = ("zh", "en")
MAX_CHATS = 20


@dataclass(frozen=True, slots=True)
class TeamView:
    """A team with its members (each flagged where their profile differs from the team)."""

    team: AgentTeam
    members: list[tuple[AgentInfo, bool]]


def list_teams(session: Session) -> list[AgentTeam]:
    """Every team, by code."""
    return list(session.scalars(select(AgentTeam).order_by(AgentTeam.code)).all())


def get_team(session: Session, *, team_id: int) -> AgentTeam:
    """One team, or 404."""
    team = session.get(AgentTeam, team_id)
    if team is None:
        raise NotFound("object.team")
    return team


def _differs(team: AgentTeam, agent: AgentInfo) -> bool:
    return (
        agent.max_chats != team.max_chats
        or sorted(agent.product_lines) != sorted(team.product_lines)
        or sorted(agent.languages) != sorted(team.languages)
    )


def members(session: Session, *, team: AgentTeam, default_max: int) -> list[tuple[AgentInfo, bool]]:
    """The team's members, each with whether their own profile differs from the team's."""
    return [
        (agent, _differs(team, agent))
        for agent in conversations.list_agents(session, default_max=default_max)
        if agent.team == team.code
    ]


def overview(session: Session, *, default_max: int) -> list[TeamView]:
    """Every team with its members."""
    return [
        TeamView(team=t, members=members(session, team=t, default_max=default_max))
        for t in list_teams(session)
    ]


def _clean_list(values: Iterable[str], *, limit: int = 20) -> list[str]:
    seen: list[str] = []
    for value in values:
        value = value.strip()
        if value and value not in seen:
            if len(value) > 32:
                raise Invalid("staff.team_skill_long", field="product_lines", value=value[:32])
            seen.append(value)
    if len(seen) > limit:
        raise Invalid("staff.team_skills_many", field="product_lines", n=limit)
    return seen


def save_team(
    session: Session,
    *,
    team: AgentTeam | None,
    code: str,
    name: str,
    product_lines: Sequence[str],
    languages: Sequence[str],
    max_chats: int,
    default_max: int,
) -> AgentTeam:
    """Create a team or change one (its code stays: conversations and profiles name it),
    and give every member the team's skills and limit."""
    name = name.strip()
    if not name or len(name) > 100:
        raise Invalid("staff.team_name", field="name")
    if not 1 <= max_chats <= MAX_CHATS:
        raise Invalid("staff.team_max_chats", field="max_chats", n=MAX_CHATS)
    langs = _clean_list(languages)
    if not langs or any(lang not in LANGUAGES for lang in langs):
        raise Invalid("staff.team_languages", field="languages")
    lines = _clean_list(product_lines)
    if team is None:
        code = code.strip().lower()
        if not CODE.match(code):
            raise Invalid("staff.team_code", field="code")
        if session.scalar(select(AgentTeam.id).where(AgentTeam.code == code)) is not None:
            raise Conflict("staff.team_exists", code=code)
        team = AgentTeam(code=code)
        session.add(team)
    team.name = name
    team.product_lines = lines
    team.languages = langs
    team.max_chats = max_chats
    session.flush()
    for agent, _ in members(session, team=team, default_max=default_max):
        _apply(session, team=team, agent=agent)
    return team


def _apply(session: Session, *, team: AgentTeam, agent: AgentInfo) -> None:
    conversations.save_profile(
        session,
        user_id=agent.user_id,
        max_chats=team.max_chats,
        product_lines=list(team.product_lines),
        languages=list(team.languages),
        team=team.code,
        is_supervisor=agent.is_supervisor,
    )


def set_members(
    session: Session, *, team: AgentTeam, user_ids: Iterable[int], default_max: int
) -> list[AgentInfo]:
    """Make exactly these agents the team's members: newcomers take the team's skills and
    limit (leaving any other team), those left out keep theirs but drop the team."""
    wanted = set(user_ids)
    agents = {a.user_id: a for a in conversations.list_agents(session, default_max=default_max)}
    unknown = wanted - set(agents)
    if unknown:
        raise Invalid("staff.team_member_unknown", field="members", id=min(unknown))
    for agent in agents.values():
        if agent.user_id in wanted:
            _apply(session, team=team, agent=agent)
        elif agent.team == team.code:
            conversations.save_profile(
                session,
                user_id=agent.user_id,
                max_chats=agent.max_chats,
                product_lines=list(agent.product_lines),
                languages=list(agent.languages),
                team="",
                is_supervisor=agent.is_supervisor,
            )
    return [a for a, _ in members(session, team=team, default_max=default_max)]
