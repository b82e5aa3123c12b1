"""A location the follower shares, offered as the visit address: 是 / 不用, then filled into
their tickets that have none. Like binding, it never answers during a human takeover."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from channels.base import Button, ChannelMessage
from portal.conversations.models import Conversation
from portal.customers.models import Customer, CustomerAddress
from portal.database import utcnow
from portal.i18n import t
from portal.tickets import lifecycle
from portal.tickets.models import Ticket
from portal.wechat.chat import Chat
from portal.wechat.models import WeChatFollower

YES_WORDS = frozenset(
    {"是", "是的", "好", "好的", "对", "对的", "确认", "可以", "用这个地址", "yes"}
)
NO_WORDS = frozenset({"否", "不", "不是", "不用", "不要", "算了", "no"})
# How long an offered location waits for the customer's yes or no.
OFFER_TTL = timedelta(minutes=30)


def _decimal(value: str | None) -> Decimal | None:
    try:
        return Decimal(value).quantize(Decimal("0.000001")) if value else None
    except (InvalidOperation, ValueError):
        return None


def offer(chat: Chat) -> list[ChannelMessage]:
    """Offer the shared location (a location message's label, or the coordinates of the
    location event) as the visit address."""
    extra = chat.message.extra
    label = extra.get("label") or f"{extra.get('lat', '')},{extra.get('lng', '')}"
    follower = chat.follower
    follower.offered_address = label[:255]
    follower.offered_lat = _decimal(extra.get("lat"))
    follower.offered_lng = _decimal(extra.get("lng"))
    follower.offered_at = chat.now
    return chat.reply(
        t("wechat.location_offer", address=label),
        buttons=(
            Button(t("wechat.button.use_address"), "/affirm"),
            Button(t("wechat.button.skip_address"), "/deny"),
        ),
    )


def pending(chat: Chat) -> bool:
    """Whether an offer waits for the follower's answer (an old one lapses here)."""
    follower = chat.follower
    if not follower.offered_address or follower.offered_at is None:
        return False
    if chat.now - follower.offered_at > OFFER_TTL:
        follower.offered_address = ""
        return False
    return True


def is_answer(text: str, said: str) -> bool:
    """Whether a text answers an offer: 是 / 好的 / 用这个地址, or 不用 / 算了."""
    return (
        said in YES_WORDS
        or said in NO_WORDS
        or text in (t("wechat.button.use_address"), t("wechat.button.skip_address"))
    )


def answer(chat: Chat, text: str, said: str) -> list[ChannelMessage]:
    """Accept or decline the pending offer, as the text says."""
    if said in YES_WORDS or text == t("wechat.button.use_address"):
        return accept(chat)
    return decline(chat)


def accept(chat: Chat) -> list[ChannelMessage]:
    """The offered place becomes the visit address, here and on open tickets without one."""
    follower = chat.follower
    follower.visit_address = follower.offered_address
    follower.visit_lat, follower.visit_lng = follower.offered_lat, follower.offered_lng
    follower.offered_address = ""
    follower.offered_at = None
    if chat.customer is not None:
        save_address(chat, chat.customer)
    filled = fill_tickets(
        chat.session, follower=follower, conversation=chat.conversation, customer=chat.customer
    )
    texts = [t("wechat.location_saved", address=follower.visit_address)]
    if filled:
        texts.append(t("wechat.location_on_tickets", numbers="、".join(x.number for x in filled)))
    elif chat.customer is None:
        texts.append(t("wechat.location_bind_hint"))
    return chat.reply(*texts)


def decline(chat: Chat) -> list[ChannelMessage]:
    """Forget the offer."""
    chat.follower.offered_address = ""
    chat.follower.offered_at = None
    return chat.reply(t("wechat.location_declined"))


def save_address(chat: Chat, customer: Customer) -> bool:
    """Add the agreed visit address to the customer's addresses (once)."""
    follower = chat.follower
    detail = follower.visit_address[:255]
    if any(a.detail == detail for a in customer.addresses):
        return False
    chat.session.add(
        CustomerAddress(
            customer_id=customer.id,
            label=t("wechat.address_label")[:32],
            detail=detail,
            lat=follower.visit_lat,
            lng=follower.visit_lng,
            is_default=not customer.addresses,
        )
    )
    chat.session.flush()
    chat.session.refresh(customer)
    return True


def fill_tickets(
    session: Session,
    *,
    follower: WeChatFollower,
    conversation: Conversation | None,
    customer: Customer | None,
) -> list[Ticket]:
    """Tickets of this conversation or customer, not yet visited and without an address,
    get the follower's agreed visit address."""
    owners = []
    if conversation is not None:
        owners.append(Ticket.conversation_id == conversation.public_id)
    if customer is not None:
        owners.append(Ticket.customer_id == customer.id)
    if not owners or not follower.visit_address:
        return []
    tickets = list(
        session.scalars(
            select(Ticket).where(
                or_(*owners),
                Ticket.address == "",
                Ticket.status.in_(lifecycle.BEFORE_ARRIVAL),
            )
        )
    )
    for ticket in tickets:
        ticket.address = follower.visit_address
        ticket.updated_at = utcnow()
    session.flush()
    return tickets
