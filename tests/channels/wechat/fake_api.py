"""A local stand-in for api.weixin.qq.com: the real wechatpy client talks to it over HTTP.

It answers the way WeChat's documentation describes (JSON with errcode / errmsg), issues a
new access token on each /cgi-bin/token call and, like WeChat, stops accepting the previous
one; it records every customer-service message, template message and menu it was sent, and
serves the media files put in `media` (media/get) as WeChat does: the bytes, or JSON errcode
40007 for an unknown MediaId. Errors can be queued for the next sends, and the token endpoint
can be slowed down to make callers overlap.

It refuses what the platform refuses:
- menu/create: 1-3 top-level buttons (40016), 1-5 sub-buttons (40023), a title of at most
  16 bytes at the top (40018) and 60 in a sub-menu (40025), keys of 128 bytes (40019/40026),
  URLs of 1024 (40020/40027), click and view buttons with their key or URL (40017);
- message/custom/send: only within 48 hours of the follower's last message to the account
  (`interacted`, which `WeChatServer(api=...)` calls for every callback), and never to one
  who unfollowed (45015);
- message/template/send: a template id the account has (`templates`, 40037), to a follower
  (43004); it shows only the template's keyword fields (`shown`: first and remark are not
  shown since 2023), and refuses a keyword value longer than its type allows (47003).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# Customer-service messages may follow a follower's message for 48 hours.
WINDOW_S = 48 * 3600
# The longest value of each keyword type of a template message (2023 rules).
TYPE_LIMITS = {
    "thing": 20,
    "character_string": 32,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "amount": 32,
    "phone_number": 17,
    "car_number": 8,
    "name": 10,
    "phrase": 5,
    "time": 32,
    "date": 32,
    "const": 20,
}


def menu_problem(body: dict[str, Any]) -> tuple[int, str] | None:
    """(errcode, errmsg) for a menu WeChat refuses, or None."""
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return 40016, "invalid button size"
    for top in buttons:
        if len(str(top.get("name", "")).encode()) > 16 or not top.get("name"):
            return 40018, "invalid button name size"
        subs = top.get("sub_button")
        if subs is not None:
            if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
                return 40023, "invalid sub button size"
            for sub in subs:
                if len(str(sub.get("name", "")).encode()) > 60 or not sub.get("name"):
                    return 40025, "invalid sub button name size"
                problem = _action_problem(sub, sub=True)
                if problem is not None:
                    return problem
            continue
        problem = _action_problem(top, sub=False)
        if problem is not None:
            return problem
    return None


def _action_problem(button: dict[str, Any], *, sub: bool) -> tuple[int, str] | None:
    kind = button.get("type")
    if kind == "click":
        key = str(button.get("key", ""))
        if not key or len(key.encode()) > 128:
            return (40026, "invalid sub button key size") if sub else (40019, "invalid key size")
        return None
    if kind == "view":
        url = str(button.get("url", ""))
        if not url.startswith(("http://", "https://")) or len(url.encode()) > 1024:
            return (40027, "invalid sub button url size") if sub else (40020, "invalid url size")
        return None
    return 40017, "invalid button type"


@dataclass(frozen=True)
class Raw:
    """A response body that is not JSON (a media file)."""

    data: bytes
    content_type: str


class FakeWeChatApi:
    """The official account API of one app id and secret."""

    def __init__(
        self,
        *,
        app_id: str,
        secret: str,
        token_delay_s: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = app_id
        self.clock = clock
        # openid -> when the follower last wrote to the account (opens the 48-hour window).
        self.last_interaction: dict[str, float] = {}
        self.unfollowed: set[str] = set()
        # template id -> its keyword fields, as the account's template library holds them.
        self.templates: dict[str, tuple[str, ...]] = {}
        self.template_messages: list[dict[str, Any]] = []  # what followers were shown
        self.refused: list[tuple[str, int]] = []  # (path, errcode) of each refusal
        self.secret = secret
        self.token_delay_s = token_delay_s
        self.token_calls = 0
        self.current_token: str | None = None
        self.sent: list[dict[str, Any]] = []
        self.menus: list[dict[str, Any]] = []
        self.send_errors: list[dict[str, Any]] = []  # answered to the next sends, in order
        self.media: dict[str, Raw] = {}  # MediaId -> the file media/get serves
        self.media_calls: list[str] = []  # the MediaIds asked for, in order
        self.typing: list[tuple[str, str]] = []  # (openid, Typing | CancelTyping)
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        """What WECHAT_API_BASE_URL should be."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/cgi-bin/"

    def interacted(self, openid: str, at: float | None = None) -> None:
        """The follower wrote to the account at `at` (now by default)."""
        with self.lock:
            self.last_interaction[openid] = self.clock() if at is None else at
            self.unfollowed.discard(openid)

    def texts(self) -> list[str]:
        """The contents of the text messages sent so far."""
        with self.lock:
            return [m["text"]["content"] for m in self.sent if m.get("msgtype") == "text"]

    def wait_for_sent(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until at least `count` messages were sent; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.sent) >= count:
                    return list(self.sent)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} sent messages, got {self.sent!r}")

    def invalidate_token(self) -> None:
        """Make WeChat forget the current token, as when another party fetched a new one."""
        with self.lock:
            self.current_token = None

    # -- HTTP

    def _token(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if query.get("grant_type") != "client_credential":
            return 200, {"errcode": 40002, "errmsg": "invalid grant_type"}
        if query.get("appid") != self.app_id:
            return 200, {"errcode": 40013, "errmsg": "invalid appid"}
        if query.get("secret") != self.secret:
            return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
        time.sleep(self.token_delay_s)
        with self.lock:
            self.token_calls += 1
            self.current_token = f"ACCESS_TOKEN_{self.token_calls:03d}"
            return 200, {"access_token": self.current_token, "expires_in": 7200}

    def _authorised(self, query: dict[str, str]) -> dict[str, Any] | None:
        with self.lock:
            if not query.get("access_token") or query["access_token"] != self.current_token:
                return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
        return None

    def _refuse(self, path: str, errcode: int, errmsg: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.refused.append((path, errcode))
        return 200, {"errcode": errcode, "errmsg": errmsg}

    def _send(self, query: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        refused = self._authorised(query)
        if refused is not None:
            return 200, refused
        openid = str(body.get("touser", ""))
        with self.lock:
            last = self.last_interaction.get(openid)
            closed = openid in self.unfollowed or last is None or self.clock() - last > WINDOW_S
        if closed:
            return self._refuse(
                "custom", 45015, "response out of time limit or subscription is canceled"
            )
        with self.lock:
            if self.send_errors:
                error = self.send_errors.pop(0)
                return int(error.pop("_status", 200)), error
            self.sent.append(body)
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _menu(self, query: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        refused = self._authorised(query)
        if refused is not None:
            return 200, refused
        problem = menu_problem(body)
        if problem is not None:
            return self._refuse("menu", *problem)
        with self.lock:
            self.menus.append(body)
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _template(self, query: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        refused = self._authorised(query)
        if refused is not None:
            return 200, refused
        fields = self.templates.get(str(body.get("template_id", "")))
        if fields is None:
            return self._refuse("template", 40037, "invalid template_id")
        openid = str(body.get("touser", ""))
        if not openid or openid in self.unfollowed:
            return self._refuse("template", 43004, "require subscribe")
        raw = body.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        shown: dict[str, str] = {}
        for name in fields:
            value = str((data.get(name) or {}).get("value", ""))
            kind = re.sub(r"\d+$", "", name)
            if len(value) > TYPE_LIMITS.get(kind, 20):
                return self._refuse("template", 47003, f"argument invalid! data.{name}.value")
            shown[name] = value
        with self.lock:
            self.template_messages.append(
                {
                    "touser": openid,
                    "template_id": body["template_id"],
                    "shown": shown,
                    "client_msg_id": body.get("client_msg_id"),
                    "url": body.get("url"),
                }
            )
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": len(self.template_messages)}

    def _media(self, query: dict[str, str]) -> tuple[int, Any]:
        refused = self._authorised(query)
        if refused is not None:
            return 200, refused
        media_id = query.get("media_id", "")
        with self.lock:
            self.media_calls.append(media_id)
            found = self.media.get(media_id)
        if found is None:
            return 200, {"errcode": 40007, "errmsg": "invalid media_id"}
        return 200, found

    def _typing(self, query: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        refused = self._authorised(query)
        if refused is not None:
            return 200, refused
        if body.get("command") not in ("Typing", "CancelTyping"):
            return 200, {"errcode": 40001, "errmsg": "invalid command"}
        with self.lock:
            self.typing.append((str(body.get("touser")), str(body["command"])))
        return 200, {"errcode": 0, "errmsg": "ok"}

    def handle(self, method: str, path: str, query: dict[str, str], raw: bytes) -> tuple[int, Any]:
        """One request: (status, JSON body or Raw bytes)."""
        if method == "GET" and path == "/cgi-bin/token":
            return self._token(query)
        if method == "GET" and path == "/cgi-bin/media/get":
            return self._media(query)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return 200, {"errcode": 47001, "errmsg": "data format error"}
        if method == "POST" and path == "/cgi-bin/message/custom/send":
            return self._send(query, body)
        if method == "POST" and path == "/cgi-bin/message/custom/typing":
            return self._typing(query, body)
        if method == "POST" and path == "/cgi-bin/menu/create":
            return self._menu(query, body)
        if method == "POST" and path == "/cgi-bin/message/template/send":
            return self._template(query, body)
        return 404, {"errcode": 404, "errmsg": "not found"}

    @contextmanager
    def running(self) -> Iterator[FakeWeChatApi]:
        """Serve on a free port of 127.0.0.1 until the block ends."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = fake.handle(self.command, parts.path, query, raw)
                if isinstance(body, Raw):
                    data, content_type = body.data, body.content_type
                else:
                    data = json.dumps(body, ensure_ascii=False).encode()
                    content_type = "application/json; charset=utf-8"
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _answer
            do_POST = _answer

            def log_message(self, *_args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # fifty callers at once must not be reset
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
