"""What agents do with a conversation: accept or pick it up, decline an offer, write to the
customer, show they are typing, add internal notes, transfer, end the chat, file a ticket."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from portal.conversations import drafts, service, snapshots
from portal.conversations.broker import Event
from portal.conversations.core import Effects, HubCore, Notice, candidate_of, need_of
from portal.conversations.models import Conversation
from portal.conversations.routing import refusal
from portal.conversations.schemas import MessageRead, NoteRead
from portal.errors import Conflict, Forbidden, Invalid
from portal.i18n import t
from portal.security import Principal
from portal.tickets import service as tickets
from portal.tickets.schemas import TicketCreate

log = logging.getLogger(__name__)

TICKET_CHANNELS = frozenset({"web", "wechat", "rest", "portal", "phone"})


class AgentDesk(HubCore):
    """The agents' side of the hub: each `do_*` commits, then tells the customer and consoles."""

    # ------------------------------------------------------------ agents take chats

    def _agent(self, session: Session, user_id: int) -> service.AgentInfo:
        return service.get_agent(
            session, user_id=user_id, default_max=self.settings.handoff_default_max_chats
        )

    def _owned_count(self, session: Session, agent_id: int) -> int:
        """The chats an agent has accepted: what their concurrent-chat limit counts. Offers
        they hold do not count (an offer never stops them taking a chat; the router
        withdraws the offers they no longer have room for)."""
        return service.active_counts(session).get(agent_id, 0)

    async def do_accept(self, *, public_id: str, agent_id: int, pickup: bool = False) -> None:
        """The agent takes a waiting conversation (or, `pickup`, one still with the bot)."""
        lock = await self._conversation_lock(public_id)
        async with lock, self._route_lock:
            effects, conversation_id = await run_in_threadpool(
                self._accept, public_id, agent_id, pickup
            )
            self._offers.pop(conversation_id, None)
            self._passed.pop(conversation_id, None)
            self._missed.pop(conversation_id, None)
        await self._apply(effects)

    def _accept(self, public_id: str, agent_id: int, pickup: bool) -> tuple[Effects, int]:
        with self.db.session() as session:
            conversation = service.get_by_public_id(session, public_id=public_id)
            agent = self._agent(session, agent_id)
            kind = "pickup" if pickup else "accept"
            if conversation.state == "agent" and conversation.agent_id == agent_id:
                # A second click on 接入 (or 接管) for a chat this agent already holds.
                return Effects(), conversation.id
            if conversation.state not in service.TRANSITIONS[kind][0]:
                raise service.state_conflict(conversation.state)
            if not agent.supervisor:
                self._check_can_take(session, agent, conversation)
            was_bot = conversation.state == "bot"
            if was_bot:
                service.resolve_customer(session, conversation=conversation)
                conversation.handoff_reason = "agent"
                # No summary from the bot when an agent takes over: the customer's own words.
                conversation.handoff_summary = drafts.summary(
                    service.list_messages(session, conversation_id=conversation.id)
                )
            service.change_state(
                session,
                conversation=conversation,
                kind=kind,
                actor=f"user:{agent_id}",
                agent_id=agent_id,
            )
            joined = self._say(
                session, conversation, Notice("hub.agent_joined", {"agent": agent.display_name})
            )
            effects = Effects(
                deliver=[joined],
                chats_of={agent_id},
                queue=not was_bot,
                agents=True,
                route=True,
                tracker={public_id: True},
            )
            effects.publish += self._message_events(conversation, joined)
            return effects, conversation.id

    def _check_can_take(
        self, session: Session, agent: service.AgentInfo, conversation: Conversation
    ) -> None:
        if self.presence.status(agent.user_id) == "offline":
            raise Conflict("error.agent_offline")
        candidate = candidate_of(agent)
        need = need_of(conversation)
        why = refusal(candidate, need, load=self._owned_count(session, agent.user_id))
        if why == "limit":
            raise Conflict("error.chat_limit", limit=agent.max_chats)
        if why is not None and conversation.state == "waiting":
            raise Conflict(f"error.chat_{why}")

    async def do_decline(self, *, public_id: str, agent_id: int) -> None:
        """The agent lets an offer go; it goes to the next agent."""
        async with self._route_lock:
            conversation_id = await run_in_threadpool(self._id_of, public_id)
            # On a worker that is not the router this only updates its copy of the offers
            # (so the agent's own console shows the offer gone at once).
            self._let_go(conversation_id, agent_id)
        if self._routing():
            await self._route(force_publish=True)
        else:
            # The router decides the next offer: it applies the decline and re-routes.
            ask = {"kind": "decline", "conversation": conversation_id, "agent": agent_id}
            await self._defer(ask, force_publish=True)

    def _id_of(self, public_id: str) -> int:
        with self.db.session() as session:
            return service.get_by_public_id(session, public_id=public_id).id

    def _owned(
        self, session: Session, public_id: str, agent_id: int
    ) -> tuple[Conversation, service.AgentInfo]:
        conversation = service.get_by_public_id(session, public_id=public_id)
        agent = self._agent(session, agent_id)
        if conversation.state != "agent":
            raise service.state_conflict(conversation.state)
        if conversation.agent_id != agent_id and not agent.supervisor:
            raise Forbidden("error.not_your_chat")
        return conversation, agent

    async def do_send(self, *, public_id: str, agent_id: int, text: str) -> MessageRead:
        """The agent's message: stored, delivered through the customer's channel."""
        lock = await self._conversation_lock(public_id)
        async with lock:
            message, effects = await run_in_threadpool(self._send, public_id, agent_id, text)
            await self._apply(effects)
        return message

    def _send(self, public_id: str, agent_id: int, text: str) -> tuple[MessageRead, Effects]:
        with self.db.session() as session:
            conversation, _agent = self._owned(session, public_id, agent_id)
            stored = service.add_message(
                session,
                conversation=conversation,
                direction="out",
                author="agent",
                text=text,
                agent_id=agent_id,
            )
            assert stored is not None
            effects = Effects(deliver=[service.to_channel_message(stored, conversation)])
            effects.publish += self._message_events(conversation, stored)
            effects.chats_of.add(conversation.agent_id or 0)
            return snapshots.message_read(stored), effects

    async def do_agent_typing(self, *, public_id: str, agent_id: int, on: bool) -> None:
        """Show the customer that the agent is typing (where their channel can)."""
        conversation = await run_in_threadpool(self._owned_plain, public_id, agent_id)
        typing = self._typing.get(conversation[0])
        if typing is not None:
            try:
                await typing(conversation[1], on)
            except Exception:
                log.debug("typing indicator failed", exc_info=True)

    def _owned_plain(self, public_id: str, agent_id: int) -> tuple[str, str]:
        with self.db.session() as session:
            conversation, _agent = self._owned(session, public_id, agent_id)
            return conversation.channel, conversation.sender_id

    async def do_note(self, *, public_id: str, agent_id: int, body: str) -> NoteRead:
        """An internal note: staff see it, the customer never does."""
        note, effects = await run_in_threadpool(self._note, public_id, agent_id, body)
        await self._apply(effects)
        return note

    def _note(self, public_id: str, agent_id: int, body: str) -> tuple[NoteRead, Effects]:
        with self.db.session() as session:
            conversation = service.get_by_public_id(session, public_id=public_id)
            agent = self._agent(session, agent_id)
            note = service.add_note(
                session, conversation=conversation, author_id=agent_id, body=body, kind="note"
            )
            read = snapshots.note_read(note, {agent_id: agent.display_name})
            return read, Effects(publish=self._note_events(conversation, read))

    def _note_events(self, conversation: Conversation, note: NoteRead) -> list[tuple[str, Event]]:
        event = {
            "type": "note",
            "conversation": conversation.public_id,
            "note": note.model_dump(mode="json"),
        }
        topics = ["supervisors"] + (
            [f"agent:{conversation.agent_id}"] if conversation.agent_id else []
        )
        return [(topic, event) for topic in topics]

    async def do_transfer(
        self,
        *,
        public_id: str,
        agent_id: int,
        to_agent_id: int | None = None,
        to_team: str | None = None,
        note: str = "",
    ) -> None:
        """Hand the chat to another agent now, or back to the queue for a team."""
        lock = await self._conversation_lock(public_id)
        async with lock, self._route_lock:
            effects = await run_in_threadpool(
                self._transfer, public_id, agent_id, to_agent_id, to_team, note
            )
        await self._apply(effects)

    def _transfer(
        self,
        public_id: str,
        agent_id: int,
        to_agent_id: int | None,
        to_team: str | None,
        note: str,
    ) -> Effects:
        with self.db.session() as session:
            conversation, agent = self._owned(session, public_id, agent_id)
            previous = conversation.agent_id or 0
            closed = (f"agent:{previous}", self._closed_event(conversation, "transferred"))
            if to_agent_id is not None:
                target = self._agent(session, to_agent_id)
                if target.user_id == previous:
                    raise Conflict("error.transfer_same")
                if self.presence.status(target.user_id) == "offline" or (
                    self._owned_count(session, target.user_id) >= target.max_chats
                ):
                    raise Conflict("error.agent_unavailable", agent=target.display_name)
                service.change_state(
                    session,
                    conversation=conversation,
                    kind="transfer_agent",
                    actor=f"user:{agent_id}",
                    agent_id=target.user_id,
                    payload={"from": previous, "note": note},
                )
                told = self._say(
                    session, conversation, Notice("hub.transferred", {"agent": target.display_name})
                )
                effects = Effects(deliver=[told], chats_of={previous, target.user_id}, agents=True)
            else:
                assert to_team is not None
                teams = {a.team for a in service.list_agents(session, default_max=1) if a.team}
                if to_team not in teams:
                    raise Invalid("error.unknown_team", field="to_team", team=to_team)
                service.change_state(
                    session,
                    conversation=conversation,
                    kind="transfer_team",
                    actor=f"user:{agent_id}",
                    payload={"from": previous, "team": to_team, "note": note},
                )
                conversation.team = to_team
                conversation.queue_front = True
                told = self._say(session, conversation, Notice("hub.transferring"))
                effects = Effects(
                    deliver=[told], chats_of={previous}, queue=True, agents=True, route=True
                )
            effects.publish.append(closed)
            effects.publish += self._message_events(conversation, told)
            body = note or t("console.transfer_note_empty", "zh")
            stored = service.add_note(
                session,
                conversation=conversation,
                author_id=agent_id,
                body=body,
                kind="transfer",
            )
            effects.publish += self._note_events(
                conversation, snapshots.note_read(stored, {agent_id: agent.display_name})
            )
            return effects

    async def do_end(self, *, public_id: str, agent_id: int) -> None:
        """Hand the chat back to the bot (交回机器人): the bot answers again, where the
        conversation left off, and the customer is asked to rate the agent's service."""
        lock = await self._conversation_lock(public_id)
        async with lock:
            effects = await run_in_threadpool(self._finish, public_id, agent_id, "end")
        await self._apply(effects)

    async def do_close(self, *, public_id: str, agent_id: int) -> None:
        """End the service and close the conversation (结束并关闭): the customer is told it
        is over; what they write next opens a new conversation with the bot."""
        lock = await self._conversation_lock(public_id)
        async with lock:
            effects = await run_in_threadpool(self._finish, public_id, agent_id, "close")
        await self._apply(effects)

    def _finish(self, public_id: str, agent_id: int, kind: str) -> Effects:
        with self.db.session() as session:
            conversation = service.get_by_public_id(session, public_id=public_id)
            agent = self._agent(session, agent_id)
            if conversation.state == "waiting" and not agent.supervisor:
                raise Forbidden("error.not_your_chat")
            if conversation.state != "waiting":
                conversation, agent = self._owned(session, public_id, agent_id)
            previous = conversation.agent_id or 0
            reason = "ended" if kind == "end" else "closed"
            closed = self._closed_event(conversation, reason)
            was_waiting = conversation.state == "waiting"
            service.change_state(
                session, conversation=conversation, kind=kind, actor=f"user:{agent_id}"
            )
            conversation.team = None
            told = [self._say(session, conversation, Notice(f"hub.{reason}"))]
            if self.settings.handoff_csat:
                # Closed too: the customer's answer comes back to this conversation
                # (flows._store_inbound), while anything else they write opens the next one.
                conversation.csat_pending = True
                told.append(self._say(session, conversation, self._csat_question()))
            effects = Effects(
                deliver=told,
                chats_of={previous},
                agents=True,
                queue=was_waiting,
                route=True,
                # Back to the bot: Rasa's tracker resumes. Closed: it is never used again.
                tracker={conversation.public_id: False} if kind == "end" else {},
            )
            effects.publish += [(f"agent:{previous}", closed), ("supervisors", closed)]
            return effects

    @staticmethod
    def _csat_question() -> Notice:
        return Notice(
            "hub.csat.ask",
            buttons=tuple(
                (f"hub.csat.score.{n}", f'/csat{{"score":{n}}}') for n in range(5, 0, -1)
            ),
        )

    async def do_create_ticket(
        self, *, public_id: str, principal: Principal, data: TicketCreate
    ) -> tuple[int, str, str]:
        """File a ticket for the customer from the conversation (linked to it)."""
        (ticket_id, number, status), effects = await run_in_threadpool(
            self._create_ticket, public_id, principal, data
        )
        await self._apply(effects)
        return ticket_id, number, status

    def _create_ticket(
        self, public_id: str, principal: Principal, data: TicketCreate
    ) -> tuple[tuple[int, str, str], Effects]:
        with self.db.session() as session:
            conversation = service.get_by_public_id(session, public_id=public_id)
            channel = conversation.channel if conversation.channel in TICKET_CHANNELS else "portal"
            filed = data.model_copy(update={"conversation_id": public_id, "channel": channel})
            ticket, _created = tickets.create_ticket(session, data=filed, actor=principal.actor)
            if conversation.customer_id is None:
                conversation.customer_id = ticket.customer_id
            service.record_event(
                session,
                conversation=conversation,
                kind="ticket",
                actor=principal.actor,
                payload={"number": ticket.number},
            )
            note = service.add_note(
                session,
                conversation=conversation,
                author_id=principal.user_id,
                body=t("console.ticket_note", "zh", number=ticket.number),
                kind="ticket",
            )
            names = (
                {principal.user_id: principal.display_name or principal.name}
                if principal.user_id
                else {}
            )
            effects = Effects(
                publish=self._note_events(conversation, snapshots.note_read(note, names))
            )
            return (ticket.id, ticket.number, ticket.status), effects
