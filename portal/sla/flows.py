"""SLA work that spans domains: timers following the ticket lifecycle, the customer's urging,
and the scheduler that warns, escalates up the ladder and asks for reassignment.

`on_ticket_event` is a lifecycle subscriber (wired in `portal.wiring`): it hears of every
event, in the event's transaction, and keeps the timers in step with it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from portal.database import Database, utcnow
from portal.dispatch import flows as dispatch
from portal.i18n import Term
from portal.notifications import flows as notify
from portal.notifications import service as outbox
from portal.security import Role
from portal.sla import service
from portal.sla.models import SlaTimer
from portal.tickets import lifecycle
from portal.tickets.models import Ticket, TicketEvent

log = logging.getLogger(__name__)

ACTOR = "system:sla"
# Who hears of a missed deadline, one step at a time (level 1 … 4).
LADDER = ("engineer", "network_manager", "dispatcher", "platform")
URGENCIES = ("low", "normal", "high", "urgent")
# The lifecycle actions that meet (or make pointless) each kind of deadline.
MEETS = {
    "response": frozenset({"accept", "resolve_remotely"}),
    "arrival": frozenset({"arrive"}),
    "resolution": frozenset({"complete", "resolve_remotely"}),
}
CANCELS = {"arrival": frozenset({"resolve_remotely"})}
# A failed timer is looked at again after this, instead of on every poll.
RETRY_AFTER = timedelta(minutes=1)


def on_ticket_event(
    session: Session, *, ticket: Ticket, event: TicketEvent, ctx: lifecycle.Context
) -> Sequence[lifecycle.FollowUp]:
    """Keep the ticket's SLA timers in step with a lifecycle event (deadlines from the app's
    settings, unless a policy says otherwise). Asks for no follow-up."""
    defaults = service.SlaDefaults.from_settings(ctx.settings)
    action, at = event.action, event.created_at
    if action == "create":
        service.start_timers(session, ticket=ticket, kinds=service.KINDS, at=at, defaults=defaults)
    elif action == "accept" and not service.timers_of(session, ticket_id=ticket.id):
        # A ticket from before SLAs (or an import): its clock started when it was reported.
        service.start_timers(
            session, ticket=ticket, kinds=service.KINDS, at=ticket.created_at, defaults=defaults
        )
    met = [kind for kind, actions in MEETS.items() if action in actions]
    if met:
        service.settle(session, ticket_id=ticket.id, kinds=met, state="met", at=at)
    cancelled = [kind for kind, actions in CANCELS.items() if action in actions]
    if action == "cancel":
        cancelled = list(service.KINDS)
    if cancelled:
        service.settle(session, ticket_id=ticket.id, kinds=cancelled, state="cancelled", at=at)
    if action == "reopen":
        again = ("arrival", "resolution")
        service.settle(session, ticket_id=ticket.id, kinds=again, state="cancelled", at=at)
        service.start_timers(session, ticket=ticket, kinds=again, at=at, defaults=defaults)
    elif action == "wait_parts":
        service.pause(
            session, ticket=ticket, kinds=("arrival", "resolution"), at=at, defaults=defaults
        )
    elif action == "resume":
        service.resume(session, ticket=ticket, at=at, defaults=defaults)
    elif action in ("dispatch", "reassign"):
        # The ticket now has a network: count on that network's calendar.
        service.replan(session, ticket=ticket, defaults=defaults, tighten_only=False)
    elif action == "urge":
        urge(session, ticket=ticket, event=event, defaults=defaults)
    return ()


def urge(
    session: Session, *, ticket: Ticket, event: TicketEvent, defaults: service.SlaDefaults
) -> None:
    """A customer's urging (催单): one step more urgent, deadlines tightened to match, and the
    assignee and the dispatchers told."""
    before = ticket.urgency
    step = URGENCIES.index(before) + 1 if before in URGENCIES else len(URGENCIES) - 1
    ticket.urgency = URGENCIES[min(step, len(URGENCIES) - 1)]
    if ticket.urgency != before:
        service.replan(session, ticket=ticket, defaults=defaults, tighten_only=True)
    count = sum(1 for e in ticket.events if e.action == "urge")
    params = notify.ticket_params(session, ticket)
    params.update(count=max(count, 1), urgency=Term.key(f"ui.urgency.{ticket.urgency}"))
    engineer = outbox.engineer_user(session, engineer_id=ticket.engineer_id)
    users = ([engineer] if engineer else []) + outbox.users_with_role(session, role=Role.DISPATCHER)
    notify.notify_staff(
        session,
        user_ids=users,
        template="urged",
        key=f"ticket:{ticket.id}:event:{event.id}:urged",
        params=params,
        ticket_id=ticket.id,
        at=utcnow(),
    )


# ---------------------------------------------------------------- the scheduler


def ladder_staff(session: Session, *, ticket: Ticket, level: int) -> list[int]:
    """The staff at one ladder level for this ticket (1 engineer … 4 service platform)."""
    name = LADDER[level - 1]
    if name == "engineer":
        user = outbox.engineer_user(session, engineer_id=ticket.engineer_id)
        return [user] if user is not None else []
    if name == "network_manager":
        if ticket.network_id is None:
            return []
        return outbox.users_with_role(
            session, role=Role.NETWORK_MANAGER, network_id=ticket.network_id
        )
    if name == "dispatcher":
        return outbox.users_with_role(session, role=Role.DISPATCHER)
    return outbox.users_with_role(session, role=Role.ADMIN)


def _next_level(session: Session, *, ticket: Ticket, after: int) -> tuple[int, list[int]] | None:
    """The next ladder level above `after` that has someone to tell."""
    for level in range(after + 1, len(LADDER) + 1):
        staff = ladder_staff(session, ticket=ticket, level=level)
        if staff:
            return level, staff
    return None


def _timer_params(session: Session, ticket: Ticket, timer: SlaTimer) -> dict[str, Any]:
    params = notify.ticket_params(session, ticket)
    params.update(kind=Term.key(f"sla.kind.{timer.kind}"), due=notify.shown_time(timer.due_at))
    return params


def _reconcile(timer: SlaTimer, ticket: Ticket) -> str | None:
    """Close a timer whose goal the ticket already reached (by a path that skipped the hook)."""
    if ticket.status in lifecycle.TERMINAL:
        timer.state, timer.next_check_at = "cancelled", None
        return "cancelled"
    since = [e for e in ticket.events if e.created_at >= timer.started_at]
    done = next((e for e in since if e.action in MEETS[timer.kind]), None)
    if done is not None:
        timer.state, timer.met_at, timer.next_check_at = "met", done.created_at, None
        return "met"
    if any(e.action in CANCELS.get(timer.kind, ()) or e.action == "cancel" for e in since):
        timer.state, timer.next_check_at = "cancelled", None
        return "cancelled"
    return None


def _warn(session: Session, *, timer: SlaTimer, ticket: Ticket, now: datetime) -> None:
    """Tell whoever the ticket is with now that its deadline is near."""
    found = _next_level(session, ticket=ticket, after=0)
    staff = found[1] if found else []
    notify.notify_staff(
        session,
        user_ids=staff,
        template="sla_warning",
        key=f"sla:{timer.id}:warn",
        params=_timer_params(session, ticket, timer),
        ticket_id=ticket.id,
        at=now,
    )
    timer.warned_at = now


def _request_reassign(
    session: Session, *, ticket: Ticket, timer: SlaTimer, now: datetime
) -> dict[str, Any]:
    """Have dispatch give the ticket to another engineer (改派) — the reassignment's parts
    are then held at the new engineer's network by the lifecycle's parts subscriber, with the
    app's planner; when it cannot (nobody else is free, or dispatch refused), ask the
    dispatchers to do it. What happened, for the escalate event."""
    previous = ticket.engineer_id
    try:
        with session.begin_nested():
            done = dispatch.auto_reassign(
                session, ticket=ticket, reason=f"sla:{timer.kind}", now=now
            )
        if done is not None:
            return {
                "reassign": "done",
                "reassigned_from": previous,
                "reassigned_to": done.engineer_id,
            }
        log.info("ticket %s: no other engineer can take it; asking dispatch", ticket.number)
    except Exception:  # dispatch refused: a person takes over
        log.exception("auto reassignment of ticket %s failed", ticket.number)
    notify.notify_staff(
        session,
        user_ids=outbox.users_with_role(session, role=Role.DISPATCHER),
        template="sla_reassign_requested",
        key=f"sla:{timer.id}:reassign",
        params=_timer_params(session, ticket, timer),
        ticket_id=ticket.id,
        at=now,
    )
    return {"reassign": "requested"}


def _auto_reassigns(session: Session, *, ticket: Ticket, defaults: service.SlaDefaults) -> bool:
    """Whether the ticket's policy (else the settings) wants a late engineer replaced."""
    terms = service.terms_for(session, ticket=ticket, defaults=defaults)
    return terms.auto_reassign if terms.auto_reassign is not None else defaults.auto_reassign


def _escalate(
    session: Session,
    *,
    timer: SlaTimer,
    ticket: Ticket,
    now: datetime,
    defaults: service.SlaDefaults,
) -> str:
    """Take the next step up the ladder: an escalate event and the level's notifications."""
    found = _next_level(session, ticket=ticket, after=timer.level)
    if found is None and timer.level > 0:
        timer.next_check_at = None  # the top has been told; nothing more to climb
        return "exhausted"
    level, staff = found if found is not None else (len(LADDER), [])
    first = timer.state == "pending"
    if first:
        timer.state, timer.fired_at = "breached", now
    payload: dict[str, Any] = {
        "level": level,
        "level_name": LADDER[level - 1],
        "timer": timer.kind,
        "timer_id": timer.id,
        "due_at": timer.due_at.isoformat(),
    }
    reassign = (
        first
        and timer.kind == "arrival"
        and ticket.engineer_id is not None
        and ticket.status in lifecycle.TRANSITIONS["reassign"].sources
        and _auto_reassigns(session, ticket=ticket, defaults=defaults)
    )
    if reassign:
        payload.update(_request_reassign(session, ticket=ticket, timer=timer, now=now))
    if ticket.status in lifecycle.TRANSITIONS["escalate"].sources:
        lifecycle.apply(
            session, ticket=ticket, action="escalate", actor=ACTOR, payload=payload, at=now
        )
    params = _timer_params(session, ticket, timer)
    params.update(level=Term.key(f"sla.level.{LADDER[level - 1]}"))
    notify.notify_staff(
        session,
        user_ids=staff,
        template="sla_breached",
        key=f"sla:{timer.id}:L{level}",
        params=params,
        ticket_id=ticket.id,
        at=now,
    )
    timer.level = level
    timer.next_check_at = now + defaults.step if level < len(LADDER) else None
    return "escalated"


def fire(session: Session, *, timer: SlaTimer, now: datetime, defaults: service.SlaDefaults) -> str:
    """Act on one claimed timer: close it, warn, or escalate one step. Returns which."""
    ticket = session.get_one(Ticket, timer.ticket_id)
    closed = _reconcile(timer, ticket)
    if closed is not None:
        return closed
    if timer.state == "pending" and now < timer.due_at:
        if timer.warned_at is None:
            _warn(session, timer=timer, ticket=ticket, now=now)
        timer.next_check_at = timer.due_at
        return "warned"
    return _escalate(session, timer=timer, ticket=ticket, now=now, defaults=defaults)


@dataclass
class Scheduler:
    """Claims due timers and fires them, one transaction per batch."""

    db: Database
    defaults: service.SlaDefaults
    worker: str
    batch: int = 50

    def run_once(self, now: datetime | None = None) -> Counter[str]:
        """One pass over everything due at `now`; returns how many timers had which outcome."""
        outcomes: Counter[str] = Counter()
        while True:
            done = self._batch(now or utcnow())
            outcomes.update(done)
            if sum(done.values()) < self.batch:
                return outcomes

    def _batch(self, now: datetime) -> Counter[str]:
        outcomes: Counter[str] = Counter()
        with self.db.session() as session:
            for timer in service.claim_due(session, now=now, worker=self.worker, limit=self.batch):
                try:
                    with session.begin_nested():
                        outcomes[fire(session, timer=timer, now=now, defaults=self.defaults)] += 1
                except Exception:  # one bad ticket must not hold up the others
                    log.exception("SLA timer %s failed; retrying later", timer.id)
                    timer.next_check_at = now + RETRY_AFTER
                    outcomes["error"] += 1
        return outcomes
