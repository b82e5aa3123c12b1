"""A stand-in for the portal's HTTP API, as the bot's contracts describe it.

Served over real HTTP (conftest.py, record_trackers.py). Tickets, bound conversations,
knowledge-base answers and the handoff endpoint are plain attributes a test sets up;
every request is recorded. Every route is one of the bot's own, under
/api/v1/bot/conversations/{conversation}/, as the portal serves them. Endpoints a test has
not switched on (KB, handoff, SLA promise) answer 404. One-time codes (binding a chat) are
always CODE, one text a phone until `code_too_soon` is switched off. Number + phone proves a
ticket for reading and urging only: cancelling, rescheduling and rating need the chat bound
(or filed in it) or the ticket's check code (403 otherwise), as on the portal.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from zoneinfo import ZoneInfo

TOKEN = "test-token"
CODE = "246810"
BEFORE_ARRIVAL = {"new", "accepted", "dispatched", "engineer_accepted", "departed", "waiting_parts"}
OPEN = BEFORE_ARRIVAL | {"arrived"}
LABELS = {
    "new": "待受理",
    "accepted": "已受理",
    "dispatched": "已派单",
    "engineer_accepted": "已接单",
    "departed": "已出发",
    "arrived": "已到场",
    "waiting_parts": "待备件",
    "completed": "已完工",
    "evaluated": "已评价",
    "cancelled": "已取消",
    "closed": "已关闭",
}
ACTION_LABELS = {"urge": "催单", "cancel": "取消", "evaluate": "评价"}
_NUMBER = re.compile(r"^SR(\d{8})-?(\d{4})$", re.IGNORECASE)


@dataclass
class FakeTicket:
    """A ticket of some customer."""

    number: str
    phone: str
    status: str = "new"
    product: str = "洗衣机"
    type_label: str = "维修"
    engineer_name: str = ""
    engineer_phone: str = ""
    eta_text: str = ""
    eta_text_en: str = ""
    preferred_time: str = ""
    visit_text: str = ""
    customer: str = "c1"
    check_code: str = "135790"
    conversation: str = ""  # the chat it was filed in
    events: list[dict[str, Any]] = field(default_factory=list)

    def view(self, proven_by: str = "conversation") -> dict[str, Any]:
        """The JSON of GET/POST /api/v1/bot/... for this ticket."""
        return {
            "number": self.number,
            "type": "repair",
            "type_label": self.type_label,
            "product": self.product,
            "model_code": "",
            "status": self.status,
            "status_label": LABELS[self.status],
            "engineer_name": self.engineer_name,
            "engineer_phone": self.engineer_phone,
            "eta": None,
            "eta_text": self.eta_text,
            "eta_text_en": self.eta_text_en,
            "proven_by": proven_by,
            "preferred_time": self.preferred_time,
            "visit_text": self.visit_text,
            "visit_text_en": "",
            "next_step": "师傅已经在路上，请保持电话畅通。"
            if self.status == "departed"
            else "客服会尽快受理。",
            "can_urge": self.status in OPEN,
            "can_cancel": self.status in BEFORE_ARRIVAL,
            "can_reschedule": self.status in BEFORE_ARRIVAL,
            "can_evaluate": self.status == "completed",
            "created_at": "2026-11-23T01:00:00Z",
        }


ZONE = ZoneInfo("Asia/Shanghai")
# The portal's 403 to number + phone without the check code, the same for every number.
PROOF_REQUIRED = "proof_required"
PROOF_MESSAGE = "为保护您的工单，请先通过短信验证码验证手机号，或提供工单校验码"
# (words, days from now, start hour, end hour): the times the bot's tests send.
WINDOWS = (
    ("明天下午", 1, 13, 18),
    ("明天上午", 1, 8, 12),
    ("后天上午", 2, 8, 12),
    ("后天下午", 2, 13, 18),
    ("后天9点", 2, 9, 11),
    ("周六上午", 5, 8, 12),
)


class FakePortal:
    """The portal's contracts with the bot, in memory."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.by_key: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        # (status, body) to answer every request with instead of the normal behaviour.
        self.forced: tuple[int, dict[str, Any]] | None = None
        self.url = ""
        self.tickets: dict[str, FakeTicket] = {}
        # conversation id -> (customer id, profile JSON) for bound conversations
        self.bound: dict[str, tuple[str, dict[str, Any]]] = {}
        # None: no knowledge base yet (404); else the search answer for every query
        self.kb: dict[str, Any] | None = None
        self.kb_feedback: list[dict[str, Any]] = []
        self.handoff_status = 404  # 202 once the hub has the endpoint
        # The hub's 202 body: queued (the default) or, off duty, left with the bot.
        self.handoff_result: dict[str, Any] = {
            "state": "waiting",
            "queued": True,
            "on_duty": True,
            "position": 1,
        }
        self.handoffs: list[dict[str, Any]] = []
        # One-time codes texted to bind a chat: (conversation, phone) per text sent.
        self.texts: list[tuple[str, str]] = []
        self.code_too_soon = True  # a second code to the same phone is refused (429)
        self.code_checks: list[dict[str, Any]] = []
        self.sla_promise: dict[str, Any] | None = None

    # ------------------------------------------------------------ setup helpers

    def add_ticket(self, number: str, phone: str, **fields: Any) -> FakeTicket:
        """A ticket the fake knows."""
        ticket = FakeTicket(number=number, phone=phone, **fields)
        self.tickets[number] = ticket
        return ticket

    def bind(
        self,
        conversation: str,
        *,
        name: str = "张女士",
        phone: str = "13800138000",
        customer: str = "c1",
        addresses: tuple[str, ...] = ("上海市浦东新区世纪大道100号",),
        units: tuple[tuple[str, str, str], ...] = (("WM20231100042", "洗衣机", "WM-100"),),
    ) -> None:
        """Bind a conversation to a customer with saved addresses and units."""
        self.bound[conversation] = (
            customer,
            {
                "customer_id": 1,
                "name": name,
                "phone": phone,
                "tier": "normal",
                "addresses": [
                    {"id": i + 1, "label": "家" if i == 0 else "", "text": a, "is_default": i == 0}
                    for i, a in enumerate(addresses)
                ],
                "assets": [
                    {
                        "id": i + 1,
                        "serial_number": s,
                        "product": p,
                        "model_code": m,
                        "model_name": "",
                        "address_id": 1,
                        "in_warranty": True,
                    }
                    for i, (s, p, m) in enumerate(units)
                ],
            },
        )

    def paths(self) -> list[str]:
        """The method and path of every request so far."""
        return [f"{r['method']} {r['path']}" for r in self.requests]

    # ------------------------------------------------------------ the API

    def answer(
        self, method: str, url: str, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """Reply the way the portal's contract says."""
        parsed = urlparse(url)
        path, query = parsed.path, {k: v[0] for k, v in parse_qs(parsed.query).items()}
        chat_route = re.fullmatch(r"/api/v1/bot/conversations/([^/]+)(/.*)", path)
        self.requests.append(
            {
                "method": method,
                "path": path,
                "query": query,
                "headers": headers,
                "body": body,
                # The conversation the call is for, and "METHOD /route" below it.
                "chat": unquote(chat_route.group(1)) if chat_route else None,
                "route": f"{method} {chat_route.group(2)}" if chat_route else None,
            }
        )
        if self.forced:
            return self.forced
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {"message": "unauthorised"}
        match = re.fullmatch(r"/api/v1/bot/conversations/([^/]+)(/.*)", path)
        if not match:
            return 404, {"detail": "Not Found"}
        chat, route = unquote(match.group(1)), match.group(2)
        if method == "POST" and route == "/tickets":
            return self._create(chat, headers, body)
        if method == "GET" and route in ("/customer", "/tickets"):
            if chat not in self.bound:
                return 404, {"message": "客户不存在", "message_zh": "客户不存在"}
            customer, profile = self.bound[chat]
            if route == "/customer":
                return 200, profile
            scope = query.get("scope", "open")
            wanted = {"open": OPEN | {"completed"}, "to_rate": {"completed"}}.get(scope)
            items = [
                t.view()
                for t in self.tickets.values()
                if t.customer == customer and (wanted is None or t.status in wanted)
            ]
            return 200, {"items": items}
        if method == "POST" and route == "/tickets/lookup":
            owned = self._owned(chat, body.get("number", ""), body)
            if owned == PROOF_REQUIRED:
                return 403, {"message": PROOF_MESSAGE, "message_zh": PROOF_MESSAGE}
            return (200, owned[0].view(owned[1])) if owned else (404, {"message": "工单不存在"})
        match = re.fullmatch(r"/tickets/([^/]+)/actions", route)
        if method == "POST" and match:
            return self._act(chat, unquote(match.group(1)), body)
        if route == "/kb/search":
            return (200, self.kb) if self.kb is not None else (404, {"detail": "Not Found"})
        if route == "/kb/feedback":
            if self.kb is None:
                return 404, {"detail": "Not Found"}
            self.kb_feedback.append({**body, "conversation_id": chat})
            return 201, {}
        if method == "POST" and route == "/handoff":
            if self.handoff_status == 202:
                self.handoffs.append({"conversation": chat, **body})
                return 202, {"public_id": chat, **self.handoff_result}
            return self.handoff_status, {}
        if method == "POST" and route in ("/code", "/verify"):
            return self._bind_code(chat, route[1:], body)
        if method == "POST" and route == "/intake/parse":
            return 200, self._parse(body)
        if route == "/sla/promise" and self.sla_promise is not None:
            return 200, self.sla_promise
        return 404, {"detail": "Not Found"}

    def _parse(self, body: dict[str, Any]) -> dict[str, Any]:
        """A few visit times, as the portal reads them (its parser is tested with the
        portal, tests/intake): the days after `now` (or today), in Shanghai."""
        text = str(body.get("text") or "")
        now = datetime.fromisoformat(body["now"]) if body.get("now") else datetime.now(ZONE)
        answer: dict[str, Any] = {
            "window": None,
            "window_error": None,
            "address": None,
            "phone": None,
        }
        for words, days, start, end in WINDOWS:
            if words in text:
                day = (now.astimezone(ZONE) + timedelta(days=days)).date()
                canonical = f"{day:%Y-%m-%d} {start:02d}:00-{end:02d}:00"
                answer["window"] = {"canonical": canonical}
                return answer
        if re.search(r"昨天|上周|前天", text):
            answer["window_error"] = "past"
        elif re.search(r"点|天|周|上午|下午|晚上", text):
            answer["window_error"] = "unparsed"
        return answer

    def _create(self, chat: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict]:
        named = sorted({"channel", "conversation_id", "customer_id"} & set(body))
        if named:  # the portal takes these from the chat itself
            return 422, {
                "message": f"extra fields: {named}",
                "errors": [{"field": f, "message_zh": "不允许的字段"} for f in named],
            }
        key = headers.get("idempotency-key", "")
        if not key:
            return 422, {"message": "Idempotency-Key missing", "errors": []}
        key = f"{chat}:{key}"
        if key in self.by_key:
            first_body, ticket = self.by_key[key]
            return (200, ticket) if first_body == body else (409, {"message": "key reused"})
        number = len(self.by_key) + 1
        ticket = {
            "id": number,
            "number": f"SR20261123-{number:04d}",
            "type": "repair",
            "status": "new",
            "status_label": "待受理",
            "check_code": f"{246000 + number}",
        }
        self.by_key[key] = (body, ticket)
        self.add_ticket(
            ticket["number"],
            str(body.get("phone") or ""),
            conversation=chat,
            check_code=ticket["check_code"],
            customer=f"filed-{number}",
        )
        return 201, ticket

    def _bind_code(
        self, conversation: str, step: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        phone = str(body.get("phone") or "")
        if not re.fullmatch(r"1[3-9]\d{9}", phone):
            return 422, {
                "message": "手机号格式不正确",
                "errors": [{"field": "phone", "message_zh": "手机号格式不正确"}],
            }
        if step == "code":
            if self.code_too_soon and any(p == phone for _, p in self.texts):
                return 429, {
                    "message": "too soon",
                    "message_zh": "验证码发送过于频繁，请1分钟后再试",
                }
            self.texts.append((conversation, phone))
            return 202, {"sent": True, "expires_in": 300}
        self.code_checks.append({"conversation": conversation, **body})
        if body.get("code") != CODE or not any(p == phone for _, p in self.texts):
            return 422, {
                "message": "验证码错误或已过期",
                "message_zh": "验证码错误或已过期",
                "errors": [{"field": "code", "message_zh": "验证码错误或已过期"}],
            }
        owner = next(
            (t.customer for t in self.tickets.values() if t.phone == phone), f"new-{phone}"
        )
        self.bind(conversation, name="", phone=phone, customer=owner)
        return 200, self.bound[conversation][1]

    def _owned(
        self, chat: str, ref: str, proof: dict[str, Any]
    ) -> tuple[FakeTicket, str] | str | None:
        """The ticket and how it is proven (conversation / check_code), PROOF_REQUIRED
        without a check code (whatever the number and phone), or None."""
        match = _NUMBER.match(ref.strip())
        ticket = self.tickets.get(f"SR{match.group(1)}-{match.group(2)}") if match else None
        bound = self.bound.get(chat)
        if ticket is not None and (
            (bound and bound[0] == ticket.customer) or ticket.conversation == chat
        ):
            return ticket, "conversation"
        if not proof.get("check_code"):
            return PROOF_REQUIRED
        if ticket is None or not proof.get("phone") or proof["phone"] != ticket.phone:
            return None
        return (ticket, "check_code") if proof["check_code"] == ticket.check_code else None

    def _act(self, chat: str, ref: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        owned = self._owned(chat, ref, body)
        if owned == PROOF_REQUIRED:
            return 403, {"message": PROOF_MESSAGE, "message_zh": PROOF_MESSAGE}
        if not isinstance(owned, tuple):
            return 404, {"message": "工单不存在"}
        ticket, proven_by = owned
        action = body.get("action")
        allowed = {
            "urge": ticket.status in OPEN,
            "cancel": ticket.status in BEFORE_ARRIVAL,
            "evaluate": ticket.status == "completed",
            "reschedule": ticket.status in BEFORE_ARRIVAL,
        }.get(action, False)
        if not allowed:
            current = LABELS[ticket.status]
            message = (
                f"工单当前状态为「{current}」，师傅已上门或服务已结束，不能再改约时间"
                if action == "reschedule"
                else f"工单当前状态为「{current}」，不能执行「{ACTION_LABELS.get(action, action)}」"
            )
            return 409, {"message": message, "message_zh": message}
        ticket.events.append(body)
        if action == "cancel":
            ticket.status = "cancelled"
        elif action == "evaluate":
            ticket.status = "evaluated"
        elif action == "reschedule":
            ticket.preferred_time = body.get("preferred_time", "")
        return 200, ticket.view(proven_by)


def handler_for(portal: FakePortal) -> type[BaseHTTPRequestHandler]:
    """The HTTP handler that serves `portal`."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = portal.answer(method, self.path, headers, json.loads(raw or b"{}"))
            payload = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


class Served:
    """A FakePortal listening on 127.0.0.1 (random port unless given)."""

    def __init__(self, portal: FakePortal, port: int = 0) -> None:
        self.portal = portal
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(portal))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        portal.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakePortal:
        self.thread.start()
        return self.portal

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
