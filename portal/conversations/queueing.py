"""The queue's clock: agents' presence, offering waiting conversations round-robin within
limits and skills, escalating long waits, and giving a gone agent's chats back to the queue.

With several workers (a router lease given) one worker at a time is the router: only it
plans offers, escalates and requeues. After each change it publishes its offers, passes,
misses and round-robin position; every other worker keeps that copy (the console's queue shows
`offered_to`, an agent's load counts offers) and sends what it learns (a decline, a change
that calls for re-routing) to the router instead of planning. The copy is what a worker
starts from when it takes the lease over.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from portal.accounts.models import User
from portal.conversations import policies, service
from portal.conversations.broker import Event, Subscription
from portal.conversations.core import (
    OFFERS_TOPIC,
    Effects,
    HubCore,
    Notice,
    Offer,
    candidate_of,
    need_of,
)
from portal.conversations.models import AgentProfile, Conversation
from portal.conversations.routing import excess_offers, plan_offers
from portal.database import utcnow
from portal.errors import Conflict
from portal.notifications import service as notifications

log = logging.getLogger(__name__)


class QueueClock(HubCore):
    """Presence, routing and the periodic checks of the hub."""

    # ------------------------------------------------------------ presence

    async def agent_connected(self, agent_id: int) -> None:
        """A console socket of this agent opened."""
        self.presence.connect(agent_id)
        await self._route(force_publish=True)

    async def agent_disconnected(self, agent_id: int) -> None:
        """A console socket closed; their chats go back to the queue after the grace period."""
        self.presence.disconnect(agent_id)
        async with self._route_lock:
            self._drop_offers_of(agent_id)
        await self._route(force_publish=True)

    async def set_status(self, agent_id: int, status: str) -> str:
        """The agent chose online, away or offline (also a heartbeat)."""
        self.presence.choose(agent_id, status)
        if status != "online":
            async with self._route_lock:
                self._drop_offers_of(agent_id)
        await self._route(force_publish=True)
        return self.presence.status(agent_id)

    def _drop_offers_of(self, agent_id: int) -> None:
        for cid in [cid for cid, o in self._offers.items() if o.agent_id == agent_id]:
            del self._offers[cid]

    # ------------------------------------------------------------ routing and the clock

    async def tick(self) -> None:
        """Escalate long waits, give back a gone agent's chats, re-offer expired offers."""
        took_over = False
        if self.router is not None:
            was = self.router.held
            if not await self.router.hold():
                return  # another worker routes; this one follows its offers
            took_over = not was
        # Both are safe on every worker, and run on the router only so that one worker
        # polls the database for them: escalation locks the rows it marks (FOR UPDATE SKIP
        # LOCKED, so two routers overlapping for a moment never escalate one wait twice), and
        # a requeue holds the conversation's turn lock (shared across workers) and re-checks
        # its state and agent before it writes.
        await self._escalate_long_waits()
        await self._requeue_gone_agents()
        # A new router tells everyone its (inherited) offers at once.
        await self._route(force_publish=took_over)

    async def _route(self, *, force_publish: bool = False) -> None:
        """Offer waiting conversations to online agents, round-robin within limits."""
        if not self._routing():
            await self._defer({"kind": "route"}, force_publish=force_publish)
            return
        shared: Event | None = None
        async with self._route_lock:
            now = self.clock()
            changed = False
            for cid, offer in list(self._offers.items()):
                if offer.expires <= now:
                    # Not answered in time: the agent is not at their desk. Withdrawn, and
                    # not offered to them again (it waits in the queue, where they may take it).
                    del self._offers[cid]
                    self._missed[cid].add(offer.agent_id)
                    changed = True
                elif self.presence.status(offer.agent_id) != "online":
                    del self._offers[cid]
                    self._passed[cid].add(offer.agent_id)
                    changed = True
            new, changed_by_db = await run_in_threadpool(self._plan)
            for cid, agent_id, _public_id in new:
                self._offers[cid] = Offer(agent_id, now + self.settings.handoff_offer_timeout_s)
            changed = changed or changed_by_db or bool(new)
            if self.router is not None and (changed or force_publish):
                shared = self._shared_offers()
        if shared is not None:
            await self.broker.publish(OFFERS_TOPIC, shared)
        if changed or force_publish:
            await self._publish_queue()
            await self._publish_agents()
        for _cid, agent_id, public_id in new:
            await self.broker.publish(
                f"agent:{agent_id}", {"type": "offer", "conversation": public_id}
            )

    # ------------------------------------------------------------ several workers

    def _shared_offers(self) -> Event:
        """The router's offer state, for the other workers' copies (times as seconds left)."""
        assert self.router is not None
        now = self.clock()
        self._shared_seq += 1
        return {
            "kind": "offers",
            "origin": self.router.origin,
            "seq": self._shared_seq,
            "offers": [
                [cid, o.agent_id, max(o.expires - now, 0.0)] for cid, o in self._offers.items()
            ],
            "passed": [[cid, sorted(ids)] for cid, ids in self._passed.items() if ids],
            "missed": [[cid, sorted(ids)] for cid, ids in self._missed.items() if ids],
            "last": self._turn_last,
        }

    async def _follow(self, subscription: Subscription) -> None:
        """For the app's life: keep the router's offers; as the router, apply the asks."""
        try:
            async for event in subscription:
                if self.router is None or event.get("origin") == self.router.origin:
                    continue
                try:
                    await self._heard(event)
                except (KeyError, TypeError, ValueError):
                    log.warning("dropped a malformed queue event: %r", event)
                except Exception:
                    log.exception("handling a queue event failed")
        finally:
            subscription.close()

    async def _heard(self, event: Event) -> None:
        kind = event.get("kind")
        if kind == "offers":
            if not self._routing():
                async with self._route_lock:
                    self._copy_offers(event)
        elif not self._routing():
            return  # an ask meant for the router (the router changed meanwhile)
        elif kind == "decline":
            async with self._route_lock:
                self._let_go(int(event["conversation"]), int(event["agent"]))
            self._spawn(self._reroute(force_publish=True))
        elif kind == "route" and not self._reroute_due:
            # Asks coming in while one re-plan waits are answered by that one.
            self._reroute_due = True
            self._spawn(self._reroute())

    async def _reroute(self, *, force_publish: bool = False) -> None:
        self._reroute_due = False
        try:
            await self._route(force_publish=force_publish)
        except Exception:
            log.exception("re-routing the queue failed")

    def _copy_offers(self, event: Event) -> None:
        """Replace this worker's copy with the router's (older publications are ignored)."""
        origin, seq = str(event["origin"]), int(event["seq"])
        if origin == self._copied[0] and seq <= self._copied[1]:
            return  # two publications overtook each other on their way through Redis
        now = self.clock()
        self._offers = {
            int(cid): Offer(int(agent), now + float(left)) for cid, agent, left in event["offers"]
        }
        self._passed = defaultdict(
            set, {int(cid): set(map(int, ids)) for cid, ids in event["passed"]}
        )
        # A router of an older release publishes no misses.
        self._missed = defaultdict(
            set, {int(cid): set(map(int, ids)) for cid, ids in event.get("missed", [])}
        )
        last = event["last"]
        self._turn_last = None if last is None else int(last)
        self._copied = (origin, seq)

    # ------------------------------------------------------------ planning

    def _plan(self) -> tuple[list[tuple[int, int, str]], bool]:
        with self.db.session() as session:
            entries = service.queue(session)
            waiting = {e.conversation.id for e in entries}
            stale = [cid for cid in self._offers if cid not in waiting]
            for cid in stale:
                del self._offers[cid]
            for seen in (self._passed, self._missed):
                for cid in [cid for cid in seen if cid not in waiting]:
                    del seen[cid]
            everyone = service.list_agents(
                session, default_max=self.settings.handoff_default_max_chats
            )
            owned = dict(service.active_counts(session))
            # An agent who took chats (from the queue, a pick-up, a transfer) may hold more
            # offers than they have room for now: those furthest back in the queue go back
            # for others.
            held = [(e.conversation.id, self._offers.get(e.conversation.id)) for e in entries]
            withdrawn = excess_offers(
                [(cid, offer.agent_id) for cid, offer in held if offer is not None],
                owned=owned,
                limits={a.user_id: a.max_chats for a in everyone},
            )
            for cid in withdrawn:
                del self._offers[cid]
            changed = bool(stale or withdrawn)
            agents = [a for a in everyone if self.presence.status(a.user_id) == "online"]
            if not agents:
                return [], changed
            loads = dict(owned)
            for offer in self._offers.values():
                loads[offer.agent_id] = loads.get(offer.agent_id, 0) + 1
            needs = [
                need_of(e.conversation) for e in entries if e.conversation.id not in self._offers
            ]
            offers, self._turn_last = plan_offers(
                needs,
                [candidate_of(a) for a in agents],
                loads=loads,
                last=self._turn_last,
                passed={cid: frozenset(s) for cid, s in self._passed.items()},
                missed={cid: frozenset(s) for cid, s in self._missed.items()},
            )
            public = {e.conversation.id: e.conversation.public_id for e in entries}
            return [(cid, aid, public[cid]) for cid, aid in offers], changed

    async def _escalate_long_waits(self) -> None:
        escalated = await run_in_threadpool(self._escalate)
        for public_id, waited in escalated:
            await self.broker.publish(
                "supervisors",
                {"type": "escalated", "conversation": public_id, "waited_s": round(waited)},
            )
        if escalated:
            await self._publish_queue()

    def _escalate(self) -> list[tuple[str, float]]:
        now = utcnow()
        limit = timedelta(seconds=self.settings.handoff_escalate_after_s)
        done: list[tuple[str, float]] = []
        with self.db.session() as session:
            due = session.scalars(
                select(Conversation)
                .where(
                    Conversation.state == "waiting",
                    Conversation.escalated.is_(False),
                    Conversation.waiting_since < now - limit,
                )
                # A row another worker is escalating is skipped; one it has escalated no
                # longer matches when its lock is taken (PostgreSQL re-checks the WHERE).
                .with_for_update(skip_locked=True)
            ).all()
            if not due:
                return []
            supervisors = self._supervisor_ids(session)
            for conversation in due:
                waited = (now - (conversation.waiting_since or now)).total_seconds()
                conversation.escalated = True
                service.record_event(
                    session,
                    conversation=conversation,
                    kind="escalate",
                    actor="system",
                    payload={"waited_s": round(waited)},
                )
                stamp = (conversation.waiting_since or now).isoformat()
                for user_id in supervisors:
                    notifications.enqueue(
                        session,
                        key=f"handoff-escalated:{conversation.id}:{stamp}:user:{user_id}",
                        channel=notifications.PORTAL,
                        recipient=notifications.staff_recipient(user_id),
                        template="handoff_escalated",
                        payload={
                            "conversation": conversation.public_id,
                            "channel": conversation.channel,
                            "minutes": max(1, round(waited / 60)),
                        },
                    )
                done.append((conversation.public_id, waited))
        return done

    def _supervisor_ids(self, session: Session) -> list[int]:
        admins = session.scalars(
            select(User.id).where(
                User.role.in_([role.value for role in policies.SUPERVISORS]),
                User.is_active.is_(True),
            )
        ).all()
        flagged = session.scalars(
            select(AgentProfile.user_id)
            .join(User, User.id == AgentProfile.user_id)
            .where(AgentProfile.is_supervisor.is_(True), User.is_active.is_(True))
        ).all()
        return sorted(set(admins) | set(flagged))

    async def _requeue_gone_agents(self) -> None:
        now = self.clock()
        grace = self.settings.handoff_grace_s
        owners = await run_in_threadpool(self._owners)
        for agent_id, public_ids in owners.items():
            gone = self.presence.gone_since(agent_id)
            if agent_id not in self.presence.known():
                gone = self._started
            if gone is None or now - gone < grace:
                continue
            for public_id in public_ids:
                await self._requeue(public_id, agent_id)

    def _owners(self) -> dict[int, list[str]]:
        with self.db.session() as session:
            owners: dict[int, list[str]] = {}
            for conversation in service.agent_chats(session):
                if conversation.agent_id is not None:
                    owners.setdefault(conversation.agent_id, []).append(conversation.public_id)
            return owners

    async def _requeue(self, public_id: str, agent_id: int) -> None:
        lock = await self._conversation_lock(public_id)
        async with lock:
            try:
                effects = await run_in_threadpool(self._requeue_db, public_id, agent_id)
            except Conflict:
                return  # ended or moved meanwhile
        await self._apply(effects)

    def _requeue_db(self, public_id: str, agent_id: int) -> Effects:
        with self.db.session() as session:
            conversation = service.get_by_public_id(session, public_id=public_id)
            if conversation.state != "agent" or conversation.agent_id != agent_id:
                raise service.state_conflict(conversation.state)
            closed = self._closed_event(conversation, "requeued")
            service.change_state(
                session,
                conversation=conversation,
                kind="requeue",
                actor="system",
                payload={"from": agent_id, "why": "agent_gone"},
            )
            conversation.queue_front = True
            told = self._say(session, conversation, Notice("hub.requeued"))
            effects = Effects(
                deliver=[told], chats_of={agent_id}, queue=True, agents=True, route=True
            )
            effects.publish += [(f"agent:{agent_id}", closed), ("supervisors", closed)]
            return effects
