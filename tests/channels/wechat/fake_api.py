"""A local stand-in for api.weixin.qq.com: the real wechatpy client talks to it over HTTP.

It answers the way WeChat's documentation describes (JSON with errcode / errmsg), issues a
new access token on each /cgi-bin/token call and, like WeChat, stops accepting the previous
one; it records every customer-service message and menu it was sent, and serves the media
files put in `media` (media/get) as WeChat does: the bytes, or JSON errcode 40007 for an
unknown MediaId. Errors can be queued for the next sends, and the token endpoint can be
slowed down to make callers overlap.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Raw:
    """A response body that is not JSON (a media file)."""

    data: bytes
    content_type: str


class FakeWeChatApi:
    """The official account API of one app id and secret."""

    def __init__(self, *, app_id: str, secret: str, token_delay_s: float = 0.0) -> None:
        self.app_id = app_id
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

    def _send(self, query: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        refused = self._authorised(query)
        if refused is not None:
            return 200, refused
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
        with self.lock:
            self.menus.append(body)
        return 200, {"errcode": 0, "errmsg": "ok"}

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
