"""Demo conversations: the chats behind the bot-filed tickets, FAQ chats the bot settled
alone, and chats handed to a person, so the bot's containment and handoff rates mean
something on the dashboards.

They are written as history (rows with their real times), like the tickets' events; the
live hub never sees them. A generator of their own keeps the tickets' data unchanged when
the chats change."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.conversations.models import Conversation, ConversationEvent, Message
from portal.customers.models import Customer
from portal.demo.clock import minutes
from portal.i18n import t
from portal.knowledge import service as knowledge
from portal.knowledge.models import KbSearchLog
from portal.tickets.models import Ticket

SEED = 20261204
CHAT_CHANNELS = ("web", "wechat")
# Chats that did not file a ticket, per bot-filed ticket: mostly questions the FAQ answers.
FAQ_CHATS_PER_TICKET = 1.6
HANDOFF_SHARE = 0.16  # of the FAQ chats, handed to a person
UNANSWERED_SHARE = 0.08  # of the FAQ chats, a question the FAQ has nothing for
SUGGEST_SHARE = 0.15  # of the answered ones, answered from suggestions, not one answer
ABANDON_SHARE = 0.12  # of the handed-over chats, closed by the customer while waiting
BOT = "service:bot"

# Questions customers ask and the gist of the bot's answer (the FAQ has the full text).
FAQ_TALK: tuple[tuple[str, str], ...] = (
    ("洗衣机显示E21是什么意思", "E21 表示排水超时，请先检查排水管是否弯折、过滤器是否堵塞。"),
    ("空调不制冷怎么办", "请先确认模式为制冷、温度设得低于室温，并清洗过滤网。"),
    (
        "保修期多久",
        "空调整机保修 6 年，洗衣机、冰箱、热水器 3 年；空调和冰箱压缩机、洗衣机电机 10 年。",
    ),
    ("上门维修收费吗", "保修期内免费；保修期外收取上门费、工时费和配件费，上门前会先报价。"),
    ("热水器怎么清洗", "建议每半年到一年清洗一次内胆，可预约我们的保养服务。"),
    ("冰箱冷藏室结冰", "请把温度调高一至两档，并检查门封是否关严。"),
    ("油烟机声音很大", "多为风轮积油或固定螺丝松动，可预约清洗保养。"),
    ("安装要另外付钱吗", "新机标准安装免费，辅材（如加长管）按价目表收费。"),
    ("发票丢了还能保修吗", "可以凭购买记录或机身条码查询保修，无需纸质发票。"),
    ("师傅几点到", "工程师出发时会通过微信或短信告诉您预计到达时间。"),
)
# What customers ask that the demo FAQ does not cover yet (editors' to-do list).
UNANSWERED_QUESTIONS = (
    "你们有以旧换新活动吗",
    "你们有以旧换新活动吗",
    "你们有以旧换新活动吗",
    "洗碗机能装在水槽下面吗",
    "洗碗机能装在水槽下面吗",
    "空调能不能移到阳台外面装",
    "延保怎么买",
    "延保怎么买",
    "净水器滤芯多久换一次",
    "能开专票吗",
)
HANDOFF_OPENERS: tuple[tuple[str, str], ...] = (
    ("request", "转人工"),
    ("request", "我要找人工客服"),
    ("complaint", "我要投诉，师傅约好的时间没来"),
    ("complaint", "修了两次还是坏的，太不负责了"),
    ("failures", "我家那个机器老是嘀嘀响然后停了"),
)
AGENT_REPLIES = (
    "您好，我是客服小李，马上为您处理。",
    "非常抱歉给您带来不便，我已为您加急并通知网点主管。",
    "已帮您记录，工程师今天会主动联系您。",
)
NO_ANSWER = "抱歉，这个问题我暂时回答不了。可以为您转人工客服，或登记一张服务单。"
THANKS = ("好的谢谢", "解决了，谢谢", "明白了", "ok 谢谢")


@dataclass
class _Chat:
    """One conversation being written: its row, its messages and its events."""

    row: Conversation
    at: datetime
    rows: list[Message | ConversationEvent] = field(default_factory=list)

    def say(
        self,
        author: str,
        text: str,
        *,
        gap: tuple[float, float],
        rng: random.Random,
        agent_id: int | None = None,
    ) -> None:
        self.at = self.at + minutes(rng, *gap)
        direction = "in" if author == "customer" else "out"
        self.rows.append(
            Message(
                conversation_id=self.row.id,
                direction=direction,
                author=author,
                text=text,
                agent_id=agent_id,
                created_at=self.at,
            )
        )
        self.row.last_message_at = self.at

    def move(self, kind: str, src: str | None, dst: str, actor: str, **payload: object) -> None:
        self.rows.append(
            ConversationEvent(
                conversation_id=self.row.id,
                kind=kind,
                from_state=src,
                to_state=dst,
                actor=actor,
                payload=dict(payload),
                created_at=self.at,
            )
        )
        self.row.state = dst


def seed_chats(session: Session, *, now: datetime, agent: User) -> int:
    """Write the demo conversations; returns how many."""
    rng = random.Random(SEED)
    # The demo's bot files every ticket that comes in over a chat channel.
    tickets = session.scalars(
        select(Ticket).where(Ticket.channel.in_(CHAT_CHANNELS)).order_by(Ticket.id)
    ).all()
    customers = session.scalars(select(Customer).order_by(Customer.id)).all()
    chats = [_filing_chat(session, rng, t, now=now) for t in tickets]
    start = now - timedelta(days=90)
    searches: list[tuple[datetime, str, str]] = []
    for _ in range(round(len(tickets) * FAQ_CHATS_PER_TICKET)):
        at = start + timedelta(seconds=rng.uniform(0, (now - start).total_seconds() - 3600))
        customer = rng.choice(customers) if rng.random() < 0.6 else None
        chat = _open(session, rng, rng.choice(CHAT_CHANNELS), customer, at)
        roll = rng.random()
        if roll < HANDOFF_SHARE:
            _handoff(rng, chat, agent, now=now)
        elif roll < HANDOFF_SHARE + UNANSWERED_SHARE:
            question = rng.choice(UNANSWERED_QUESTIONS)
            chat.say("customer", question, gap=(0, 0.2), rng=rng)
            chat.say("bot", NO_ANSWER, gap=(0.02, 0.05), rng=rng)
            searches.append((chat.at, question, "none"))
            _close(chat, now=now)
        else:
            question, answer = rng.choice(FAQ_TALK)
            chat.say("customer", question, gap=(0, 0.2), rng=rng)
            chat.say("bot", answer + "\n是否解决了您的问题？", gap=(0.02, 0.05), rng=rng)
            band = "suggest" if rng.random() < SUGGEST_SHARE else "answer"
            searches.append((chat.at, question, band))
            chat.say("customer", rng.choice(THANKS), gap=(0.3, 3), rng=rng)
            _close(chat, now=now)
        chats.append(chat)
    for chat in chats:
        session.add_all(chat.rows)
    # The bot's FAQ searches, oldest first so each unanswered question's last_seen is right.
    for at, question, band in sorted(searches):
        query = knowledge.normalize_query(question)
        session.add(KbSearchLog(created_at=at, source="bot", query=query, band=band))
        if band == "none":
            knowledge.count_unanswered(session, query=query, now=at)
    session.flush()
    return len(chats)


def _open(
    session: Session, rng: random.Random, channel: str, customer: Customer | None, at: datetime
) -> _Chat:
    if channel == "wechat" and customer is not None and customer.wechat_openid:
        sender = customer.wechat_openid
    else:
        sender = f"demo-visitor-{rng.getrandbits(64):016x}"
    row = Conversation(
        public_id=uuid.uuid4().hex,
        channel=channel,
        sender_id=sender,
        state="bot",
        customer_id=customer.id if customer is not None else None,
        created_at=at,
        last_message_at=at,
    )
    session.add(row)
    session.flush()  # the messages need its id
    return _Chat(row=row, at=at)


def _filing_chat(session: Session, rng: random.Random, ticket: Ticket, *, now: datetime) -> _Chat:
    """The chat in which the bot took this ticket: fault, phone, summary, number."""
    opened = ticket.created_at - minutes(rng, 1.5, 6)
    customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    chat = _open(session, rng, ticket.channel, customer, opened)
    chat.say("customer", ticket.fault_description or "我要报修", gap=(0, 0.2), rng=rng)
    chat.say("bot", "请留下您的手机号，方便工程师联系您。", gap=(0.02, 0.05), rng=rng)
    chat.say("customer", customer.phone if customer else "138****0000", gap=(0.2, 1.5), rng=rng)
    chat.say(
        "bot",
        f"已为您登记工单 {ticket.number}，10 分钟内会有客服联系您。",
        gap=(0.02, 0.05),
        rng=rng,
    )
    # Linking the chat is not a change anybody made to the ticket: keep its updated_at.
    session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id)
        .values(conversation_id=chat.row.public_id, updated_at=Ticket.updated_at)
    )
    _close(chat, now=now)
    return chat


def _handoff(rng: random.Random, chat: _Chat, agent: User, *, now: datetime) -> None:
    reason, opener = rng.choice(HANDOFF_OPENERS)
    chat.say("customer", opener, gap=(0, 0.2), rng=rng)
    # The hub's own notice, as it words it for a queued chat.
    queued = t("hub.handoff.queued", "zh", position=rng.randint(1, 3))
    chat.say("system", queued, gap=(0.02, 0.05), rng=rng)
    chat.move("handoff", "bot", "waiting", BOT, reason=reason)
    chat.row.handoff_reason = reason
    chat.row.handoff_summary = f"客户说：{opener}"
    if rng.random() < ABANDON_SHARE:
        chat.at += minutes(rng, 2, 8)
        chat.move("close", "waiting", "closed", "customer")
        return
    chat.at += minutes(rng, 0.3, 4)
    chat.move("accept", "waiting", "agent", f"staff:{agent.id}")
    chat.row.agent_id = agent.id
    chat.row.accepted_at = chat.at
    for text in rng.sample(AGENT_REPLIES, 2):
        chat.say("agent", text, gap=(0.3, 2), rng=rng, agent_id=agent.id)
    chat.say("customer", rng.choice(THANKS), gap=(0.3, 2), rng=rng)
    chat.at += minutes(rng, 0.5, 2)
    chat.move("end", "agent", "bot", f"staff:{agent.id}")
    chat.row.agent_id = None
    chat.row.csat_score = rng.choices((5, 4, 3, 2, 1), weights=(55, 28, 9, 5, 3))[0]
    _close(chat, now=now)


def _close(chat: _Chat, *, now: datetime) -> None:
    # Chats idle for a day are closed by the session expiry; fresher ones stay open.
    if now - chat.at > timedelta(days=1):
        chat.at += timedelta(minutes=30)
        chat.move("close", chat.row.state, "closed", "system:session-expiry")
