"""Customers on the REST channel and staff on the API, against a running stack.

Shared by the conversation fuzzer (`tests/e2e/conversation_fuzz.py`) and the conversation
benchmark (`tests/e2e/conversation_bench.py`, `benchmarks/conversations.py`): a customer is
one REST sender whose turns are recorded; staff read tickets, the agent queue and
transcripts through the staff API only, as an agent would. The benchmarks can also start a
stack of their own (`own_stack`), with a local SMS provider that keeps one-time codes.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from portal.conversations.phrases import is_hub_apology
from portal.i18n import MESSAGES
from portal.privacy.masking import mask_phones_in

ROOT = Path(__file__).resolve().parents[2]
TURN_TIMEOUT_S = 90.0
STAFF_USER = ("agent", "agent123")  # a demo agent (portal/demo/staff.py)


def _template(key: str) -> re.Pattern[str]:
    """A regex for an i18n message in Chinese or English, placeholders matching anything."""
    texts = [".+?".join(re.escape(p) for p in re.split(r"\{\w+\}", text)) for text in MESSAGES[key]]
    return re.compile("|".join(f"(?:{t})" for t in texts), re.S)


# What the hub itself tells a customer when the conversation goes to the agents.
QUEUED_NOTICE = _template("hub.handoff.queued")
OFF_DUTY_NOTICE = _template("hub.handoff.off_duty")
TICKET_NUMBER = re.compile(r"SR\d{8}-\d{4}")
# Staff see one-time codes masked (••••••): a transcript is compared with them masked too.
_CODE_OR_MASK = re.compile(r"•{6}|(?<![0-9A-Za-z\-])[0-9](?:[ \-]?[0-9]){5}(?![0-9A-Za-z]|-[0-9])")


def _comparable(texts: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Texts as a staff member who does not hold the conversation reads them: typed mobile
    numbers masked (138****8000), one-time codes masked."""
    return tuple(_CODE_OR_MASK.sub("#", mask_phones_in(t)) for t in texts)


# ---------------------------------------------------------------- the customer side


@dataclass
class Reply:
    """One bot message as the REST channel returns it."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Turn:
    """What the customer sent and what came back."""

    sent: str
    status: int  # HTTP status; 0 when no answer came at all
    replies: list[Reply]
    seconds: float
    error: str = ""

    @property
    def texts(self) -> list[str]:
        """The replies' texts (empty for a button-only reply)."""
        return [r.text for r in self.replies]

    @property
    def last(self) -> str:
        """The last reply's text, where the bot's question usually is."""
        return self.replies[-1].text if self.replies else ""

    def queued(self) -> bool:
        """True when the hub said the conversation now waits for an agent."""
        return any(QUEUED_NOTICE.search(t) or OFF_DUTY_NOTICE.search(t) for t in self.texts)

    def hub_apologised(self) -> bool:
        """True when the hub answered for a bot that gave nothing usable."""
        return any(is_hub_apology(t) for t in self.texts)


class Customer:
    """One REST sender: a conversation as the customer sees it."""

    def __init__(self, http: httpx.AsyncClient, base: str, sender: str | None = None) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self.sender = sender or f"c-{uuid.uuid4().hex[:12]}"
        self.turns: list[Turn] = []
        self.started = datetime.now().astimezone()

    async def say(self, text: str) -> Turn:
        """Send one message; the turn is recorded whatever happens."""
        start = time.perf_counter()
        try:
            response = await self.http.post(
                f"{self.base}/channels/rest/webhook",
                json={"sender": self.sender, "message": text},
                headers={"X-Request-ID": f"{self.sender}-t{len(self.turns) + 1}"},
                timeout=TURN_TIMEOUT_S,
            )
        except httpx.HTTPError as exc:
            turn = Turn(text, 0, [], time.perf_counter() - start, type(exc).__name__)
        else:
            replies: list[Reply] = []
            error = ""
            if response.status_code == 200:
                replies = [
                    Reply(str(r.get("text") or ""), list(r.get("buttons") or []))
                    for r in response.json()
                ]
            else:
                error = response.text[:200]
            turn = Turn(text, response.status_code, replies, time.perf_counter() - start, error)
        self.turns.append(turn)
        return turn

    @property
    def sent(self) -> list[str]:
        """Every message sent so far, in order (what the stored transcript must show)."""
        return [t.sent for t in self.turns]

    @property
    def last(self) -> str:
        """The bot's last message so far."""
        for turn in reversed(self.turns):
            if turn.replies:
                return turn.last
        return ""

    def transcript(self, upto: int | None = None) -> str:
        """The conversation as lines: `> customer` and `< bot` (buttons in brackets)."""
        lines = []
        for turn in self.turns[:upto]:
            lines.append(f"  > {shorten(turn.sent)}")
            if turn.status != 200:
                lines.append(f"  ! HTTP {turn.status} {turn.error}")
            shown: list[tuple[str, int]] = []  # a reply said n times in a row: once, ×n
            for reply in turn.replies:
                buttons = " ".join(f"[{b.get('title')}]" for b in reply.buttons)
                line = f"  < {shorten(reply.text)} {buttons}".rstrip()
                if shown and shown[-1][0] == line:
                    shown[-1] = (line, shown[-1][1] + 1)
                else:
                    shown.append((line, 1))
            lines += [line if n == 1 else f"{line}  (×{n})" for line, n in shown]
        return "\n".join(lines)


def shorten(text: str, width: int = 160) -> str:
    """One line, at most `width` characters (long messages say how long they were)."""
    flat = text.replace("\n", " / ")
    return flat if len(flat) <= width else f"{flat[:width]}… ({len(text)} chars)"


# ---------------------------------------------------------------- the staff side


class StaffApi:
    """What an agent can read and do through the staff API."""

    def __init__(self, http: httpx.AsyncClient, base: str) -> None:
        self.http = http
        self.base = base.rstrip("/") + "/api/v1"
        self.headers: dict[str, str] = {}
        # Transcripts of conversations no longer with the bot do not change: read once.
        self._customer_texts: dict[str, tuple[str, ...]] = {}

    async def login(self, username: str = STAFF_USER[0], password: str = STAFF_USER[1]) -> None:
        """Get a bearer token for the demo agent."""
        response = await self.http.post(
            f"{self.base}/auth/token", data={"username": username, "password": password}
        )
        response.raise_for_status()
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def _get(self, path: str, **params: Any) -> Any:
        response = await self.http.get(
            f"{self.base}{path}", params=params, headers=self.headers, timeout=60
        )
        response.raise_for_status()
        return response.json()

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = await self.http.post(
            f"{self.base}{path}", json=body, headers=self.headers, timeout=60
        )
        response.raise_for_status()
        return response.json()

    async def tickets(self, **filters: Any) -> list[dict[str, Any]]:
        """Every ticket matching the list filters (all pages)."""
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            data = await self._get("/tickets", page=page, page_size=200, **filters)
            out += data["items"]
            if len(out) >= data["total"] or not data["items"]:
                return out
            page += 1

    async def ticket(self, number: str) -> dict[str, Any]:
        """One ticket with its events."""
        result: dict[str, Any] = await self._get(f"/tickets/{number}")
        return result

    async def create_ticket(self, body: dict[str, Any]) -> dict[str, Any]:
        """A new ticket, as the desk would enter it."""
        result: dict[str, Any] = await self._post("/tickets", body)
        return result

    async def transition(self, number: str, action: str) -> dict[str, Any]:
        """One lifecycle action on a ticket."""
        result: dict[str, Any] = await self._post(
            f"/tickets/{number}/transitions", {"action": action}
        )
        return result

    async def queue(self) -> list[dict[str, Any]]:
        """Conversations waiting for an agent."""
        result: list[dict[str, Any]] = await self._get("/console/queue")
        return result

    async def live(self) -> list[dict[str, Any]]:
        """Conversations with the bot lately."""
        result: list[dict[str, Any]] = await self._get("/console/live")
        return result

    async def conversation(self, public_id: str) -> dict[str, Any]:
        """A conversation's state and transcript."""
        result: dict[str, Any] = await self._get(f"/conversations/{public_id}")
        return result

    async def customer_texts(self, public_id: str, *, final: bool) -> tuple[str, ...]:
        """What the customer wrote in a conversation (cached once `final`)."""
        if public_id in self._customer_texts:
            return self._customer_texts[public_id]
        data = await self.conversation(public_id)
        texts = tuple(m["text"] for m in data["messages"] if m["direction"] == "in")
        if final:
            self._customer_texts[public_id] = texts
        return texts

    async def find_queued(self, sent: list[str], *, taken: set[str]) -> str | None:
        """The waiting conversation whose customer wrote exactly `sent`, not in `taken`.

        REST senders are not shown to staff; a transcript identifies the conversation.
        Two identical transcripts are told apart by `taken` (each claims one)."""
        wanted = _comparable(sent)
        for item in await self.queue():
            public_id = item["public_id"]
            if public_id in taken:
                continue
            if _comparable(await self.customer_texts(public_id, final=True)) == wanted:
                return str(public_id)
        return None

    async def find_live(self, sent: list[str], since: datetime) -> str | None:
        """The bot conversation active since `since` whose customer wrote exactly `sent`."""
        wanted = _comparable(sent)
        for item in await self.live():
            if datetime.fromisoformat(item["last_message_at"]) < since:
                continue
            if _comparable(await self.customer_texts(item["public_id"], final=False)) == wanted:
                return str(item["public_id"])
        return None


# ---------------------------------------------------------------- bot texts


def bot_responses() -> dict[str, list[str]]:
    """The bot's responses by name, read from bot/domain (the bot is another process)."""
    out: dict[str, list[str]] = {}
    for path in sorted((ROOT / "bot" / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, variants in (data.get("responses") or {}).items():
            out[name] = [str(v.get("text", "")) for v in variants if isinstance(v, dict)]
    return out


def fragment(template: str) -> str:
    """The longest literal part of a response template (what every rendering contains)."""
    parts = [p.strip() for p in re.split(r"\{\w+\}", template)]
    return max(parts, key=len, default="")


# ---------------------------------------------------------------- a stack of one's own


class SmsInbox:
    """A local SMS provider (the portal's SMS_URL): keeps every text it is asked to send."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with inbox.lock:
                    inbox.messages.append(json.loads(body or b"{}"))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def code_for(self, phone: str, after: int = 0) -> str | None:
        """The newest one-time code texted to `phone` among messages from index `after`."""
        with self.lock:
            found = [
                m for m in self.messages[after:] if m.get("phone") == phone and m.get("params")
            ]
        for message in reversed(found):
            code = str(message["params"].get("code") or "")
            if code:
                return code
        return None

    def count(self) -> int:
        """How many texts arrived so far."""
        with self.lock:
            return len(self.messages)

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def own_stack(*, model: Path | None = None, sms_url: str = "") -> Iterator[str]:
    """Portal (one process, SQLite, minimal demo data), Rasa, the action server and the
    workers on free ports in a temporary folder; yields the portal's URL, stops it after."""
    import socket

    from portal.config import Settings
    from portal.stack import Stack, ensure_model, prepare

    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    var = Path(tempfile.mkdtemp(prefix="aftersales-conversations-"))
    settings = Settings(
        _env_file=None,
        var_dir=var,
        database_url=f"sqlite:///{var / 'portal.db'}",
        portal_port=free_port(),
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_server_url=f"http://127.0.0.1:{free_port()}",
        rasa_token="conv-rasa-token",
        bot_service_token="conv-bot-token",
        secret_key="conv-secret",
        kb_enabled=True,
        sms_url=sms_url,
    )
    print(f"starting the stack in {var} (SQLite, one portal process) ...", flush=True)
    prepare(settings, demo="minimal")
    stack = Stack(settings, model=model or ensure_model(settings))
    stack.start()
    try:
        stack.wait_healthy(timeout=600)
        print(f"stack up at {stack.portal_url}; logs in {var / 'logs'}", flush=True)
        yield stack.portal_url
    finally:
        stack.stop()
