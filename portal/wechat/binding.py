"""Binding a follower's openid to a customer: 绑定 -> the phone -> the one-time code.

A short dialogue of the portal's own, kept on the follower row (`bind_state`), because the
binding must hold before the bot or an agent can tell who they are talking to. It never
runs during a human takeover: then every message goes to the agent (`desk`).
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic_core import PydanticCustomError
from sqlalchemy import update

from channels.base import ChannelMessage
from channels.wechat.wire import CHANNEL
from portal.customers import service as customers
from portal.customers.models import Customer
from portal.errors import PortalError
from portal.i18n import t
from portal.tickets.schemas import normalize_phone
from portal.wechat import places
from portal.wechat.chat import Chat, mask

PURPOSE = "bind_wechat"
START_WORDS = frozenset({"绑定", "绑定手机", "绑定手机号", "换绑", "bind"})
CANCEL_WORDS = frozenset({"取消", "cancel"})
CODE = re.compile(r"\d{6}")


def wants_to_start(chat: Chat, text: str, said: str) -> bool:
    """Whether the follower asks to bind (a word, or the button)."""
    return said in START_WORDS or text == t("wechat.button.bind")


def expire(chat: Chat) -> None:
    """Forget a binding left unfinished for longer than a code lives."""
    follower = chat.follower
    ttl = timedelta(seconds=chat.settings.otp_ttl_s)
    if follower.bind_state and (
        follower.bind_started_at is None or chat.now - follower.bind_started_at > ttl
    ):
        follower.bind_state = ""


def start(chat: Chat) -> list[ChannelMessage]:
    """Ask for the phone number."""
    chat.follower.bind_state = "phone"
    chat.follower.bind_started_at = chat.now
    already = t("wechat.bind_already", phone=mask(chat.customer.phone)) if chat.customer else ""
    return chat.reply(already, t("wechat.bind_ask_phone"))


def cancel(chat: Chat) -> list[ChannelMessage]:
    """Stop binding."""
    chat.follower.bind_state = ""
    return chat.reply(t("wechat.bind_cancelled"))


def take_phone(chat: Chat, text: str) -> list[ChannelMessage]:
    """Send a one-time code to the phone given."""
    try:
        phone = normalize_phone(text)
    except PydanticCustomError:
        return chat.reply(t("wechat.bind_bad_phone"))
    settings = chat.settings
    try:
        customers.request_code(
            chat.session,
            secret=settings.secret_key,
            phone=phone,
            purpose=PURPOSE,
            ttl_s=settings.otp_ttl_s,
            demo_mode=settings.demo_mode,
            requester=customers.chat_requester(CHANNEL, chat.message.sender_id),
            limits=customers.CodeLimits.from_settings(settings),
            # No channel identity on the code: verify_code would bind it before a rebind
            # could move the openid off its previous customer; `take_code` binds. Codes
            # of this purpose are only ever checked here, for the follower that asked.
        )
    except PortalError as exc:
        return chat.reply(exc.message_zh)
    chat.follower.bind_state = "code"
    chat.follower.bind_phone = phone
    chat.follower.bind_started_at = chat.now
    demo = t("wechat.bind_code_demo") if settings.demo_mode else ""
    return chat.reply(t("wechat.bind_code_sent", phone=mask(phone)), demo)


def take_code(chat: Chat, said: str) -> list[ChannelMessage]:
    """Check the code; bind the openid to the phone's customer when it is right."""
    if CODE.fullmatch(said) is None:
        return chat.reply(t("wechat.bind_need_code"))
    follower = chat.follower
    phone = follower.bind_phone
    try:
        customer = customers.verify_code(
            chat.session,
            secret=chat.settings.secret_key,
            phone=phone,
            code=said,
            purpose=PURPOSE,
            requester=customers.chat_requester(CHANNEL, chat.message.sender_id),
            limits=customers.CodeLimits.from_settings(chat.settings),
        )
    except PortalError as exc:
        # The counted attempt is committed with this reply: five misses burn the code.
        return chat.reply(exc.message_zh, t("wechat.bind_retry"))
    openid = chat.message.sender_id
    # An openid belongs to one customer: a rebind moves it off the previous one.
    chat.session.execute(
        update(Customer)
        .where(Customer.wechat_openid == openid, Customer.id != customer.id)
        .values(wechat_openid=None)
        .execution_options(synchronize_session=False)
    )
    customers.bind_identity(chat.session, customer=customer, channel=CHANNEL, external_id=openid)
    chat.conversation.customer_id = customer.id
    chat.customer = customer
    follower.bind_state = ""
    follower.bind_phone = ""
    saved = places.save_address(chat, customer) if follower.visit_address else False
    places.fill_tickets(
        chat.session, follower=follower, conversation=chat.conversation, customer=customer
    )
    return chat.reply(
        t("wechat.bind_done", phone=mask(phone)),
        t("wechat.location_saved_to_profile") if saved else "",
    )


def under_way(chat: Chat) -> bool:
    """Whether a binding is under way: the next text is the phone, the code, or 取消."""
    return chat.follower.bind_state in ("phone", "code")


def answer(chat: Chat, text: str, said: str) -> list[ChannelMessage]:
    """The binding dialogue's answer to a text while a binding is under way."""
    if said in CANCEL_WORDS:
        return cancel(chat)
    if chat.follower.bind_state == "phone":
        return take_phone(chat, text)
    return take_code(chat, said)
