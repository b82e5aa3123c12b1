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
  (periodic location report). A click on one of the menu's keys (`Menu`, from settings)
  also carries `text` = the button's title and `payload` = the bot intent it stands for, or
  `menu_text` = "1" when it has none (its title then goes to the bot as if typed).

The custom menu (`Menu`) is checked against the platform's limits before it is published:
1-3 top-level buttons, 1-5 in each sub-menu, titles short enough not to be cut.

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
import json
import time
import unicodedata
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
    """One button of the account's custom menu (自定义菜单).

    A click button has a `key` (sent back in the click event) and stands for the bot intent
    `payload` (empty: its title goes to the bot as if typed); a view button opens `url`; a
    top-level button with `children` opens a sub-menu.
    """

    title: str
    key: str = ""
    payload: str = ""
    url: str = ""
    children: tuple[MenuItem, ...] = ()


# The platform's limits (menu/create): 1-3 top-level buttons, 1-5 under each; a title shows
# at most 4 Chinese characters at the top, 8 in a sub-menu (longer ones are cut with "...",
# so we refuse them); a key takes 128 bytes, a URL 1024.
MAX_TOP = 3
MAX_SUB = 5
TOP_TITLE_WIDTH = 8  # a Chinese character counts 2, as WeChat counts them
SUB_TITLE_WIDTH = 16
MAX_KEY_BYTES = 128
MAX_URL_BYTES = 1024


class MenuInvalid(ValueError):
    """A menu the platform would refuse or cut; the message says which button and why."""


def title_width(title: str) -> int:
    """A title's width as WeChat measures it: wide (Chinese) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in title)


def _check_button(item: MenuItem, *, top: bool) -> None:
    where = f"「{item.title}」"
    limit = TOP_TITLE_WIDTH if top else SUB_TITLE_WIDTH
    if not item.title.strip():
        raise MenuInvalid("a button has no title")
    if title_width(item.title) > limit:
        raise MenuInvalid(f"{where}: title longer than {limit // 2} Chinese characters")
    if item.children:
        if not top:
            raise MenuInvalid(f"{where}: a sub-menu cannot hold another sub-menu")
        if len(item.children) > MAX_SUB:
            raise MenuInvalid(f"{where}: more than {MAX_SUB} sub-buttons")
        for child in item.children:
            _check_button(child, top=False)
        return
    if bool(item.key) == bool(item.url):
        raise MenuInvalid(f"{where}: needs either a click key or a URL")
    if len(item.key.encode()) > MAX_KEY_BYTES:
        raise MenuInvalid(f"{where}: key longer than {MAX_KEY_BYTES} bytes")
    if item.url and not item.url.startswith(("http://", "https://")):
        raise MenuInvalid(f"{where}: the URL must be absolute (http:// or https://)")
    if len(item.url.encode()) > MAX_URL_BYTES:
        raise MenuInvalid(f"{where}: URL longer than {MAX_URL_BYTES} bytes")


@dataclass(frozen=True, slots=True)
class Menu:
    """The custom menu; `by_key` finds the click button a click event names."""

    buttons: tuple[MenuItem, ...]

    def validate(self) -> Menu:
        """The menu itself, or MenuInvalid when the platform would refuse or cut it."""
        if not 1 <= len(self.buttons) <= MAX_TOP:
            raise MenuInvalid(f"{len(self.buttons)} top-level buttons; 1 to {MAX_TOP} allowed")
        for item in self.buttons:
            _check_button(item, top=True)
        keys = [i.key for i in self.items() if i.key]
        if len(keys) != len(set(keys)):
            raise MenuInvalid("two buttons share a click key")
        return self

    def items(self) -> list[MenuItem]:
        """Every button that does something (the sub-menus' contents, not their headers)."""
        out: list[MenuItem] = []
        for item in self.buttons:
            out.extend(item.children or (item,))
        return out

    def by_key(self, key: str) -> MenuItem | None:
        """The click button with this key."""
        return next((i for i in self.items() if i.key and i.key == key), None)

    def definition(self) -> dict[str, Any]:
        """The menu as the menu/create API takes it (validated first)."""
        self.validate()

        def button(item: MenuItem) -> dict[str, Any]:
            if item.children:
                return {"name": item.title, "sub_button": [button(c) for c in item.children]}
            if item.url:
                return {"type": "view", "name": item.title, "url": item.url}
            return {"type": "click", "name": item.title, "key": item.key}

        return {"button": [button(item) for item in self.buttons]}

    @classmethod
    def parse(cls, raw: str, *, base_url: str = "") -> Menu:
        """A menu from its JSON setting: WeChat's own shape ({"button": [...]}) plus a
        `payload` (the bot intent) on click buttons. A view URL starting with "/" is taken
        relative to `base_url` (the portal's public address). Raises MenuInvalid."""
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise MenuInvalid(f"not JSON: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("button"), list):
            raise MenuInvalid('expected {"button": [...]}')

        def item(node: Any) -> MenuItem:
            if not isinstance(node, dict):
                raise MenuInvalid("a button must be an object")
            title = str(node.get("name", ""))
            subs = node.get("sub_button")
            if subs is not None:
                if not isinstance(subs, list):
                    raise MenuInvalid(f"「{title}」: sub_button must be a list")
                return MenuItem(title=title, children=tuple(item(s) for s in subs))
            kind = node.get("type", "click")
            if kind == "view":
                url = str(node.get("url", ""))
                if url.startswith("/"):
                    if not base_url:
                        raise MenuInvalid(f"「{title}」: a relative URL needs PUBLIC_URL")
                    url = base_url.rstrip("/") + url
                return MenuItem(title=title, url=url)
            if kind != "click":
                raise MenuInvalid(f"「{title}」: only click and view buttons are supported")
            return MenuItem(
                title=title, key=str(node.get("key", "")), payload=str(node.get("payload", ""))
            )

        return cls(tuple(item(node) for node in data["button"])).validate()


# The built-in menu: what customers come for, in three groups. 保修查询 has no intent of its
# own: its title goes to the bot as a question.
DEFAULT_MENU_JSON = json.dumps(
    {
        "button": [
            {
                "name": "报修服务",
                "sub_button": [
                    {"name": "我要报修", "key": "MENU_REPAIR", "payload": "/report_fault"},
                    {
                        "name": "预约安装",
                        "key": "MENU_INSTALL",
                        "payload": "/request_installation",
                    },
                    {"name": "查进度", "key": "MENU_PROGRESS", "payload": "/query_progress"},
                    {"name": "催单", "key": "MENU_URGE", "payload": "/urge_progress"},
                ],
            },
            {
                "name": "自助服务",
                "sub_button": [
                    {"name": "常见问题", "key": "MENU_FAQ", "payload": "/ask_faq"},
                    {"name": "保修查询", "key": "MENU_WARRANTY"},
                    {"type": "view", "name": "我的工单", "url": "/my"},
                ],
            },
            # The hub's own words for a person: it queues the chat whatever the bot would do.
            {"name": "联系客服", "key": "MENU_AGENT", "payload": "转人工"},
        ]
    },
    ensure_ascii=False,
)


def default_menu(base_url: str = "") -> Menu:
    """The built-in menu; without a public URL it has no 我的工单 link (WeChat needs an
    absolute URL)."""
    if base_url:
        return Menu.parse(DEFAULT_MENU_JSON, base_url=base_url)
    data = json.loads(DEFAULT_MENU_JSON)
    for top in data["button"]:
        top["sub_button"] = [b for b in top.get("sub_button", []) if b.get("type") != "view"]
        if not top["sub_button"]:
            del top["sub_button"]
    return Menu.parse(json.dumps(data))


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


def to_channel_message(message: Any, *, menu: Menu | None = None) -> ChannelMessage:
    """One parsed WeChat message or event as a ChannelMessage (`menu`: the custom menu, whose
    click keys name bot intents; the built-in one by default)."""
    menu = menu or default_menu()
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
            item = menu.by_key(key)
            if item is not None:
                text = item.title
                if item.payload:
                    extra["payload"] = item.payload
                else:  # no intent of its own: the title goes to the bot as typed
                    extra["menu_text"] = "1"
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
