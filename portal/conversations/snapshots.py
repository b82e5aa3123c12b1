"""What the console shows, read from the database plus the hub's in-memory offers and
presence: the queue, an agent's chats, live bot conversations, agents' load, one chat.

Staff never read a customer's one-time code: a customer message that answers the bot's
question for it shows the code as dots here (transcripts, previews); the customer's own
history (the channels read `service.to_channel_message`) keeps what they typed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from sqlalchemy.orm import Session

from knowledge_base.render import to_html
from portal.accounts.service import display_names
from portal.conversations import drafts, service
from portal.conversations.models import Conversation, ConversationNote, Message
from portal.conversations.phrases import asks_for_code, codes_in, mask_check_codes, mask_codes
from portal.conversations.schemas import (
    AgentStatus,
    ChatItem,
    ConversationDetail,
    EventRead,
    LiveItem,
    MessageRead,
    NoteRead,
    QueueItem,
)
from portal.customers.models import Customer
from portal.privacy.masking import mask_phone, mask_phones_in

PREVIEW = 80
# Whose messages can ask a customer for a one-time code (an agent who asks wants to see it).
CODE_ASKERS = frozenset({"bot", "system"})


# Whose messages are Markdown (FAQ answers, the bot's and the hub's own texts).
RENDERED_AUTHORS = frozenset({"bot", "system"})


def rendered(direction: str, author: str, text: str) -> str | None:
    """A message's safe HTML for staff screens, or None for what a person typed."""
    if direction != "out" or author not in RENDERED_AUTHORS or not text:
        return None
    return to_html(text)


def message_read(message: Message, *, text: str | None = None) -> MessageRead:
    """A stored message as the API and the console frames carry it (`text` as staff see it,
    when it differs)."""
    return MessageRead(
        id=message.id,
        direction=message.direction,
        author=message.author,
        text=mask_check_codes(message.text if text is None else text),
        html=rendered(message.direction, message.author, mask_check_codes(message.text)),
        buttons=[{"title": b["title"], "payload": b["payload"]} for b in message.buttons],
        image_url=message.image_url,
        agent_id=message.agent_id,
        created_at=message.created_at,
    )


def code_answers(messages: Iterable[Message]) -> set[int]:
    """The customer messages (ids) that answer a question for a one-time code: those after a
    run of bot or system messages one of which asks for it (验证码已发送…请把 6 位数字发给我)."""
    answers: set[int] = set()
    asking = False
    after_customer = True
    for message in messages:
        if message.direction == "out":
            if after_customer:
                asking = False  # a new run of replies: only it counts
            after_customer = False
            if message.author in CODE_ASKERS and asks_for_code(message.text):
                asking = True
        else:
            after_customer = True
            if asking:
                answers.add(message.id)
    return answers


def transcript(messages: Sequence[Message]) -> list[MessageRead]:
    """A conversation's messages as staff read them, one-time codes masked."""
    answers = code_answers(messages)
    return [message_read(m, text=mask_codes(m.text) if m.id in answers else None) for m in messages]


def staff_text(session: Session, message: Message) -> str:
    """One message's text as staff read it, looking back for a question for a code."""
    if message.direction != "in" or not codes_in(message.text):
        return mask_check_codes(message.text)
    before = service.messages_before(
        session, conversation_id=message.conversation_id, before_id=message.id
    )
    if any(m.author in CODE_ASKERS and asks_for_code(m.text) for m in _last_run(before)):
        return mask_codes(message.text)
    return message.text


def typed_codes(session: Session, *, conversation_id: int) -> list[str]:
    """The one-time codes the customer typed in the conversation, as typed."""
    messages = service.list_messages(session, conversation_id=conversation_id)
    answers = code_answers(messages)
    return [code for m in messages if m.id in answers for code in codes_in(m.text)]


def _last_run(newest_first: Iterable[Message]) -> list[Message]:
    """The last run of outbound messages before a customer's message (newest first in)."""
    run: list[Message] = []
    for message in newest_first:
        if message.direction == "in":
            if run:
                break
            continue
        run.append(message)
    return run


def note_read(note: ConversationNote, names: Mapping[int, str]) -> NoteRead:
    """A note with its author's name."""
    return NoteRead(
        id=note.id,
        kind=note.kind,
        body=note.body,
        author_id=note.author_id,
        author_name=names.get(note.author_id, "") if note.author_id else "",
        created_at=note.created_at,
    )


def _customers(session: Session, conversations: Iterable[Conversation]) -> dict[int, Customer]:
    ids = {c.customer_id for c in conversations if c.customer_id is not None}
    return {i: c for i in ids if (c := session.get(Customer, i)) is not None}


def _name(conversation: Conversation, customers: Mapping[int, Customer]) -> str:
    customer = customers.get(conversation.customer_id or 0)
    if customer is not None:
        return customer.name or mask_phone(customer.phone)
    return ""


def _vip(conversation: Conversation, customers: Mapping[int, Customer]) -> bool:
    customer = customers.get(conversation.customer_id or 0)
    return customer is not None and customer.tier == "vip"


def _previews(
    session: Session, conversations: list[Conversation], *, held: bool = False
) -> dict[int, str]:
    # The hub's own notices (queued, agent joined, the acknowledgement) say nothing an agent
    # choosing a chat needs: the preview is the last thing the customer or a responder said.
    # Every agent sees the queue's and the bot's chats: typed phone numbers masked there;
    # `held` (an agent's own chats) shows them as typed.
    last = service.last_messages(
        session, conversation_ids=[c.id for c in conversations], skip_authors=("system",)
    )
    shown = (lambda text: text) if held else mask_phones_in
    return {cid: shown(staff_text(session, m))[:PREVIEW] for cid, m in last.items()}


def queue_items(session: Session, *, offers: Mapping[int, int]) -> list[QueueItem]:
    """The waiting conversations in service order, with whom each is offered to."""
    entries = service.queue(session)
    conversations = [e.conversation for e in entries]
    customers = _customers(session, conversations)
    previews = _previews(session, conversations)
    return [
        QueueItem(
            public_id=c.public_id,
            channel=c.channel,
            customer_name=_name(c, customers),
            vip=e.vip,
            reason=c.handoff_reason,
            summary=c.handoff_summary,
            product_line=c.product_line,
            language=c.language,
            team=c.team,
            waiting_since=c.waiting_since,
            escalated=c.escalated,
            queue_front=c.queue_front,
            offered_to=offers.get(c.id),
            preview=previews.get(c.id, ""),
        )
        for e in entries
        for c in (e.conversation,)
    ]


def chat_items(session: Session, conversations: list[Conversation]) -> list[ChatItem]:
    """Owned conversations as a chat list shows them."""
    customers = _customers(session, conversations)
    previews = _previews(session, conversations, held=True)
    return [
        ChatItem(
            public_id=c.public_id,
            channel=c.channel,
            customer_name=_name(c, customers),
            vip=_vip(c, customers),
            reason=c.handoff_reason,
            agent_id=c.agent_id,
            accepted_at=c.accepted_at,
            preview=previews.get(c.id, ""),
            last_message_at=c.last_message_at,
        )
        for c in conversations
    ]


def live_item(conversation: Conversation, preview: str, customer_name: str = "") -> LiveItem:
    """One bot conversation for the pick-up list."""
    return LiveItem(
        public_id=conversation.public_id,
        channel=conversation.channel,
        customer_name=customer_name,
        preview=mask_phones_in(preview)[:PREVIEW],
        last_message_at=conversation.last_message_at,
    )


def live_items(session: Session, conversations: list[Conversation]) -> list[LiveItem]:
    """Bot conversations an agent may pick up."""
    customers = _customers(session, conversations)
    previews = _previews(session, conversations)
    return [live_item(c, previews.get(c.id, ""), _name(c, customers)) for c in conversations]


def agent_statuses(
    session: Session,
    *,
    default_max: int,
    status_of: Callable[[int], str],
    offers: Mapping[int, int],
) -> list[AgentStatus]:
    """Every agent's status, load (chats plus open offers), live conversations and the
    waiting conversations offered to them."""
    chats: dict[int, list[str]] = {}
    for conversation in service.agent_chats(session):
        if conversation.agent_id is not None:
            chats.setdefault(conversation.agent_id, []).append(conversation.public_id)
    offered: dict[int, list[str]] = {}
    waiting = {e.conversation.id: e.conversation.public_id for e in service.queue(session)}
    for conversation_id, agent_id in offers.items():
        if conversation_id in waiting:
            offered.setdefault(agent_id, []).append(waiting[conversation_id])
    return [
        AgentStatus(
            user_id=a.user_id,
            name=a.display_name,
            role=a.role,
            status=status_of(a.user_id),  # type: ignore[arg-type]
            load=len(chats.get(a.user_id, [])) + len(offered.get(a.user_id, [])),
            max_chats=a.max_chats,
            team=a.team,
            product_lines=list(a.product_lines),
            languages=list(a.languages),
            supervisor=a.supervisor,
            chats=chats.get(a.user_id, []),
            offers=offered.get(a.user_id, []),
        )
        for a in service.list_agents(session, default_max=default_max)
    ]


def detail(session: Session, *, conversation: Conversation) -> ConversationDetail:
    """The whole conversation: state, the bot's summary, transcript, notes and events."""
    customer = service.resolve_customer(session, conversation=conversation)
    notes = service.list_notes(session, conversation_id=conversation.id)
    messages = service.list_messages(session, conversation_id=conversation.id)
    names = display_names(
        session,
        user_ids={n.author_id for n in notes if n.author_id}
        | ({conversation.agent_id} if conversation.agent_id else set()),
    )
    return ConversationDetail(
        public_id=conversation.public_id,
        channel=conversation.channel,
        state=conversation.state,
        customer_name=(customer.name or mask_phone(customer.phone)) if customer else "",
        vip=customer is not None and customer.tier == "vip",
        customer_id=customer.id if customer else None,
        agent_id=conversation.agent_id,
        agent_name=names.get(conversation.agent_id, "") if conversation.agent_id else "",
        handoff_reason=conversation.handoff_reason,
        handoff_summary=conversation.handoff_summary,
        product_line=conversation.product_line,
        language=conversation.language,
        team=conversation.team,
        waiting_since=conversation.waiting_since,
        escalated=conversation.escalated,
        csat_score=conversation.csat_score,
        messages=transcript(messages),
        notes=[note_read(n, names) for n in notes],
        events=[
            EventRead(
                kind=e.kind,
                from_state=e.from_state,
                to_state=e.to_state,
                actor=e.actor,
                payload=e.payload,
                created_at=e.created_at,
            )
            for e in service.list_events(session, conversation_id=conversation.id)
        ],
        ticket_draft=drafts.ticket_draft(
            session, messages=messages, product_line=conversation.product_line
        ),
    )
