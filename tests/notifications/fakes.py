"""Local stand-ins for the WeChat API and an SMS gateway: real HTTP servers on 127.0.0.1,
each in a thread, recording what they were sent. Our real clients (wechatpy, httpx) talk to
them over the loopback, so nothing is patched on our side. The SMS gateway enforces its
rules as a real one does: a known key, a valid signature, a fresh timestamp, a mainland
mobile number, a sign name and a text it can carry."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    """One request the fake answered (or was answering)."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: dict[str, Any]
    at: float


@dataclass
class Fake:
    """Common state: scripted answers, what came in, a stall on the first delivery."""

    # (status, JSON body) answers for deliveries, used up in order; then `ok`.
    script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    stall_first_s: float = 0.0  # sleep this long on the first delivery (a slow provider)
    received: list[Received] = field(default_factory=list)
    stalling: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    deliveries_seen: int = 0

    def deliveries(self) -> list[Received]:
        """The message deliveries received (not token requests)."""
        with self.lock:
            return [r for r in self.received if self.is_delivery(r.path)]

    def is_delivery(self, path: str) -> bool:
        """Whether a path is a message delivery (as opposed to e.g. a token request)."""
        return True

    def ok(self) -> tuple[int, dict[str, Any]]:
        """The answer after the script is used up."""
        return 200, {}

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The answer to one request."""
        return self.script.pop(0) if self.script else self.ok()

    def refuse(self, record: Received, raw: bytes) -> tuple[int, dict[str, Any]] | None:
        """The answer to a request that breaks the provider's rules, else None."""
        return None


class FakeWeChat(Fake):
    """The few WeChat endpoints notifications need: token, message/template/send and the
    customer-service message/custom/send. Each token request gets a new token, numbered."""

    tokens_issued: int = 0

    def is_delivery(self, path: str) -> bool:
        return path.endswith(("/message/template/send", "/message/custom/send"))

    def token_requests(self) -> list[Received]:
        """The access-token requests received."""
        with self.lock:
            return [r for r in self.received if r.path.endswith("/token")]

    def ok(self) -> tuple[int, dict[str, Any]]:
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": 1000 + self.deliveries_seen}

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if path.endswith("/token"):
            self.tokens_issued += 1
            return 200, {"access_token": f"fake-token-{self.tokens_issued}", "expires_in": 7200}
        return super().answer(path, body)

    def keys(self) -> list[str]:
        """The client_msg_id of every template message received, in order."""
        return [r.body.get("client_msg_id", "") for r in self.deliveries()]


# The gateway's accounts: key id -> secret.
SMS_ACCOUNTS = {
    "sms-test-key": "Vq3xL9mT2rK7wN4pZ8bH",
    "sms-kill-key": "Jd6sQ1fY5gU0eC3vB9nM",
}
SMS_MOBILE = re.compile(r"^\+861[3-9]\d{9}$")
SMS_MAX_CHARS = 500
SMS_CLOCK_SKEW_S = 300


@dataclass
class FakeSms(Fake):
    """An SMS gateway: POST /send, signed (HMAC-SHA256 of method, path, timestamp, nonce and
    the body's SHA-256 with the account's secret); a repeated Idempotency-Key is answered
    with the first message's id and sends nothing new."""

    sent_ids: dict[str, str] = field(default_factory=dict)

    def ok(self) -> tuple[int, dict[str, Any]]:
        return 200, {"message_id": f"M{self.deliveries_seen:06d}"}

    def refuse(self, record: Received, raw: bytes) -> tuple[int, dict[str, Any]] | None:
        h = record.headers
        secret = SMS_ACCOUNTS.get(h.get("x-sms-key", ""))
        if secret is None:
            return 401, {"code": "unknown_key"}
        stamp = h.get("x-sms-timestamp", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > SMS_CLOCK_SKEW_S:
            return 401, {"code": "stale_timestamp"}
        text = "\n".join(
            ("POST", record.path, stamp, h.get("x-sms-nonce", ""), hashlib.sha256(raw).hexdigest())
        )
        wanted = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(wanted, h.get("x-sms-signature", "")):
            return 401, {"code": "bad_signature"}
        body = record.body
        if not SMS_MOBILE.match(str(body.get("to", ""))):
            return 400, {"code": "bad_phone"}
        sign = str(body.get("sign_name") or "")
        if not sign:
            return 400, {"code": "no_sign_name"}
        if len(sign) + 2 + len(str(body.get("text") or "")) > SMS_MAX_CHARS:
            return 400, {"code": "too_long"}
        key = h.get("idempotency-key", "")
        if key and key in self.sent_ids:
            return 200, {"message_id": self.sent_ids[key], "duplicate": True}
        return None

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, answer = super().answer(path, body)
        key = str(body.get("reference") or "")
        if 200 <= status < 300 and key and "message_id" in answer:
            self.sent_ids[key] = answer["message_id"]
        return status, answer


def _handler(fake: Fake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:  # quiet test output
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw.decode("utf-8")) if raw else {}
            record = Received(
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                at=time.monotonic(),
            )
            with fake.lock:
                fake.received.append(record)
                delivery = fake.is_delivery(parts.path)
                first = delivery and fake.deliveries_seen == 0
                if delivery:
                    fake.deliveries_seen += 1
                refused = fake.refuse(record, raw)
                status, answer = refused or fake.answer(parts.path, body)
            if first and fake.stall_first_s:
                fake.stalling.set()
                fake.release.wait(fake.stall_first_s)
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client is gone (a killed worker)
                pass

        do_GET = _serve
        do_POST = _serve

    return Handler


@contextmanager
def serving(fake: Fake) -> Iterator[Fake]:
    """Run the fake on a free loopback port for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
