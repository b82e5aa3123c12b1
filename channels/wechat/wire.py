"""WeChat's XML, translated to and from ChannelMessage in this one place.

Inbound, each message or event becomes one ChannelMessage with `channel="wechat"`,
`sender_id` = the openid and these `extra` keys (all strings):

- `msg_type`: text | image | voice | location | event | video | link | ... (WeChat's MsgType)
- text: `text` = Content; `menu_id` when the customer tapped a reply link (bizmsgmenuid).
- image: `image_url` = PicUrl, `media_id`.
- voice: `text` = the recognised words (Recognition; "" when WeChat recognised none),
  `media_id`, `format`.
- location: `text` = Label, `lat`, `lng`, `scale`, `label`.
- events: `event` = subscribe | unsubscribe | scan | click | location | view | …, plus
  `scene` (subscribe through or scan of a parametric QR code), `key` (menu click), `lat`/`lng`
  (periodic location report). A click on one of our menu keys also carries
  `text` = the menu title and `payload` = the bot intent it stands for.

`message_id` is what a retry repeats: MsgId for messages; for events, which have none,
`event:<FromUserName>:<CreateTime>` as WeChat's documentation prescribes.

Outbound, the replies of one turn become one passive text reply (WeChat allows one per
callback): texts joined by blank lines, quick-reply buttons as WeChat's tappable reply links
(`weixin://bizmsgmenu`, which send their title back as a text message with `bizmsgmenuid`),
images as links. A bot or system text is Markdown (FAQ answers): it goes out as plain text
(`knowledge_base.render.to_text`: no emphasis marks, list items and table rows as lines).
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wechatpy import parse_message

from channels.base import ChannelMessage
from knowledge_base import render

CHANNEL = "wechat"
# Their texts are Markdown (FAQ answers quoted by the bot); agents' are sent as typed.
RENDERED_AUTHORS = frozenset({"bot", "system"})
# Longest text WeChat shows in one message; longer answers are cut with an ellipsis.
MAX_TEXT_BYTES = 2000


@dataclass(frozen=True, slots=True)
class MenuItem:
    """One button of the account's custom menu: its click key, title and bot intent."""

    key: str
    title: str
    payload: str


# The custom menu (自定义菜单): each key a click event, each standing for one bot intent.
MENU: tuple[MenuItem, ...] = (
    MenuItem("MENU_REPAIR", "报修", "/report_fault"),
    MenuItem("MENU_PROGRESS", "查进度", "/query_progress"),
    MenuItem("MENU_FAQ", "常见问题", "/ask_faq"),
    MenuItem("MENU_AGENT", "人工客服", "/request_human"),
)
MENU_BY_KEY = {item.key: item for item in MENU}


def menu_definition() -> dict[str, Any]:
    """The menu as the menu/create API takes it."""
    return {"button": [{"type": "click", "name": i.title, "key": i.key} for i in MENU]}


class Unreadable(ValueError):
    """A body that is not a WeChat message."""


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def parse(xml: str | bytes) -> Any:
    """wechatpy's message or event object for the XML (DTDs and entities are refused)."""
    try:
        message = parse_message(xml)
    except Exception as exc:  # expat errors, missing MsgType, a non-dict root
        raise Unreadable(str(exc)) from exc
    if message is None or not _str(message.source):
        raise Unreadable("no FromUserName")
    return message


def to_channel_message(message: Any) -> ChannelMessage:
    """One parsed WeChat message or event as a ChannelMessage."""
    openid = _str(message.source)
    msg_type = _str(message.type) or "unknown"
    extra: dict[str, str] = {"msg_type": msg_type, "account": _str(message.target)}
    raw = message._data  # the parsed XML, for fields wechatpy does not name
    text = ""
    image_url = None
    if msg_type == "event":
        event = _str(message.event)
        extra["event"] = "subscribe" if event.startswith("subscribe") else event
        message_id = f"event:{openid}:{_str(raw.get('CreateTime'))}"
        if event in ("subscribe_scan", "scan"):
            extra["scene"] = _str(message.scene_id)
        elif event == "click":
            key = _str(message.key)
            extra["key"] = key
            item = MENU_BY_KEY.get(key)
            if item is not None:
                text = item.title
                extra["payload"] = item.payload
        elif event == "location":
            extra["lat"], extra["lng"] = _str(message.latitude), _str(message.longitude)
        elif event == "view":
            extra["url"] = _str(message.url)
    else:
        message_id = _str(raw.get("MsgId")) or f"msg:{openid}:{_str(raw.get('CreateTime'))}"
        if msg_type == "text":
            text = _str(message.content)
            if raw.get("bizmsgmenuid"):
                extra["menu_id"] = _str(raw.get("bizmsgmenuid"))
        elif msg_type == "image":
            image_url = _str(message.image) or None
            extra["media_id"] = _str(message.media_id)
        elif msg_type == "voice":
            text = _str(message.recognition).strip()
            extra["media_id"] = _str(message.media_id)
            extra["format"] = _str(message.format)
        elif msg_type == "location":
            text = _str(message.label)
            extra.update(
                lat=_str(message.location_x),
                lng=_str(message.location_y),
                scale=_str(message.scale),
                label=_str(message.label),
            )
    return ChannelMessage(
        channel=CHANNEL,
        sender_id=openid,
        text=text.strip(),
        direction="in",
        image_url=image_url,
        message_id=message_id[:128],
        author="customer",
        extra=extra,
    )


def _menu_link(index: int, title: str) -> str:
    # The link text is shown; msgmenucontent is what the tap sends back, verbatim (WeChat's
    # own samples put Chinese there unencoded), so only HTML's special characters are escaped.
    shown = html.escape(title, quote=True)
    return f'<a href="weixin://bizmsgmenu?msgmenucontent={shown}&msgmenuid={index}">{shown}</a>'


def _clip(text: str) -> str:
    data = text.encode()
    if len(data) <= MAX_TEXT_BYTES:
        return text
    return data[: MAX_TEXT_BYTES - 3].decode(errors="ignore") + "…"


def shown_text(message: ChannelMessage) -> str:
    """A message's text as WeChat shows it: a bot or system message's Markdown as plain text
    (WeChat shows no HTML), what an agent typed as it is."""
    if message.author in RENDERED_AUTHORS:
        return render.to_text(message.text)
    return message.text


def reply_text(replies: Sequence[ChannelMessage]) -> str:
    """The replies of one turn as one WeChat text; "" when there is nothing to say."""
    parts: list[str] = []
    for reply in replies:
        text = shown_text(reply) if reply.text else ""
        lines = [text] if text else []
        if reply.image_url:
            lines.append(reply.image_url)
        if reply.buttons:
            lines.append(
                "\n".join(_menu_link(i, b.title) for i, b in enumerate(reply.buttons, start=1))
            )
        if lines:
            parts.append("\n".join(lines))
    return _clip("\n\n".join(parts))


def cdata(value: str) -> str:
    """A CDATA section holding `value` verbatim, even when it contains "]]>".

    wechatpy's reply classes paste values into CDATA unescaped, so a customer's "]]>" echoed
    back by the bot would end the section and let the rest be read as XML elements.
    """
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(*, text: str, to_user: str, from_user: str, now: float | None = None) -> str:
    """A passive text reply (被动回复) in WeChat's XML."""
    created = int(now if now is not None else time.time())
    return (
        "<xml>"
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(text)}</Content>"
        "</xml>"
    )
