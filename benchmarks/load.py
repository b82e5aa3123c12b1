"""Load benchmark: concurrent chat users on the REST channel and the widget WebSocket, plus a
steady stream of new tickets, against the whole product with the real Rasa; then the chat
turn latency through the portal's hub against Rasa's own REST channel, as a ratio.

Prints figures only (no timed assertions); the results are written down in BENCHMARKS.md.

    .venv/bin/python benchmarks/load.py [--users 200] [--tickets-per-s 20] [--duration 300]
        [--ws-share 0.5] [--think 1.0] [--compare 10x5] [--json out.json]
    .venv/bin/python benchmarks/load.py --scaled 2,2 [same options]
    .venv/bin/python benchmarks/load.py --target http://127.0.0.1:8080 \\
        --rasa-url http://127.0.0.1:5005 --bot-token ... [same options]

Without --target it starts its own stack (portal as one uvicorn process on SQLite, the Rasa
server, the action server and the workers, like `make run` with the minimal demo data) on
free ports in a temporary folder, with the widget's abuse limits off (they would refuse most
of 200 users' messages: the figure wanted is capacity, not the limiter), and stops it at the
end. With --scaled W,R it starts the production topology instead (nginx in front of W portal
workers and R Rasa servers, PostgreSQL and Redis, as `make run-scaled` does, on a database of
its own). With --target it drives an already running topology.

What runs, all in one asyncio process (no locust: its WebSocket users need a plugin and
gevent's monkey-patching, while httpx and websockets are already the portal's own
dependencies and this needs only a few hundred coroutines):

- `users` closed-loop chat users: each sends a message, waits for the whole bot turn, thinks
  `think` seconds (uniform 0.5x-1.5x), and goes on through a short script (greeting, FAQ
  questions, thanks). `ws-share` of them use the widget WebSocket (/channels/web/ws: a turn
  ends with the `typing: false` frame after the replies), the others the REST channel
  (/channels/rest/webhook: a turn is one POST).
- an open-loop ticket stream: `tickets-per-s` POST /api/v1/tickets per second as the bot's
  service account, each with its own Idempotency-Key, whatever the latency.
- afterwards, on the quiet system: `compare` = C conversations x M messages, each message
  sent once through the hub (/channels/rest/webhook on the portal) and once straight to
  Rasa's REST channel (/webhooks/rest/webhook) for a twin sender, alternating which goes
  first; the ratio of the medians is the hub's overhead (storing both sides, locks, events).

Errors are counted per kind: HTTP status, timeout or connection error, `bot_unavailable`
(the hub answered with its apology because Rasa failed), `empty_reply`, and the widget's
error frames by code. Latency percentiles are of successful requests only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal.conversations.phrases import is_hub_apology  # noqa: E402

# A customer's short conversation: greeting, FAQ questions (NLU, the action server and the
# portal's knowledge base search), thanks. No handoff or ticket filing: those end the bot's
# part of the conversation, and the ticket stream measures ticket creation on its own.
SCRIPT = [
    "你好",
    "保修期多久",
    "洗衣机显示E21是什么意思",
    "上门费多少钱",
    "空调加氟多少钱",
    "童锁怎么解除",
    "谢谢",
]
TURN_TIMEOUT_S = 120.0


# ---------------------------------------------------------------- recording


@dataclass
class Kind:
    """Latencies of successes and counts of failures of one kind of request."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    # The X-Request-ID of each failed request, to find it in nginx's and the workers' logs.
    failed_ids: list[str] = field(default_factory=list)


class Recorder:
    """Every request's outcome, by kind."""

    def __init__(self) -> None:
        self.kinds: dict[str, Kind] = {}

    def ok(self, kind: str, seconds: float) -> None:
        """A success that took `seconds`."""
        self.kinds.setdefault(kind, Kind()).latencies.append(seconds)

    def error(self, kind: str, reason: str, request_id: str = "") -> None:
        """A failure, by reason (and its request id when it had one)."""
        record = self.kinds.setdefault(kind, Kind())
        record.errors[reason] += 1
        if request_id:
            record.failed_ids.append(request_id)

    def done(self) -> int:
        """Requests finished so far, successes and failures."""
        return sum(len(k.latencies) + sum(k.errors.values()) for k in self.kinds.values())


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(kind: Kind, seconds: float) -> dict[str, Any]:
    """Throughput, percentiles in ms and errors of one kind over `seconds`."""
    ok = kind.latencies
    out: dict[str, Any] = {
        "ok": len(ok),
        "errors": dict(kind.errors),
        "failed_request_ids": kind.failed_ids[:50],
        "throughput_per_s": round(len(ok) / seconds, 2) if seconds else 0.0,
    }
    if ok:
        out |= {f"p{q}_ms": round(percentile(ok, q) * 1000, 1) for q in (50, 95, 99)} | {
            "max_ms": round(max(ok) * 1000, 1)
        }
    return out


# ---------------------------------------------------------------- the users


def http_error(response: httpx.Response) -> str:
    """`HTTP <status>`, with the portal's error code when the body names one."""
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        code = None
    return f"HTTP {response.status_code} {code}" if code else f"HTTP {response.status_code}"


def _replies_ok(replies: list[dict[str, Any]]) -> str | None:
    """None when the bot answered, else the error kind."""
    if not replies:
        return "empty_reply"
    if any(is_hub_apology(str(r.get("text") or "")) for r in replies):
        return "bot_unavailable"
    return None


async def rest_user(
    n: int,
    http: httpx.AsyncClient,
    base: str,
    run: str,
    stop_at: float,
    rec: Recorder,
    think: float,
) -> None:
    """One customer on the REST channel, turn after turn until `stop_at`."""
    sender = f"load-{run}-rest-{n}"
    turn = 0
    await asyncio.sleep(random.uniform(0, think))  # spread the first messages
    while time.monotonic() < stop_at:
        text = SCRIPT[turn % len(SCRIPT)]
        turn += 1
        request_id = f"{sender}-t{turn}"
        start = time.perf_counter()
        try:
            response = await http.post(
                f"{base}/channels/rest/webhook",
                json={"sender": sender, "message": text},
                headers={"X-Request-ID": request_id},
                timeout=TURN_TIMEOUT_S,
            )
        except httpx.HTTPError as exc:
            rec.error("rest_turn", type(exc).__name__, request_id)
        else:
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                rec.error("rest_turn", http_error(response), request_id)
            elif problem := _replies_ok(response.json()):
                rec.error("rest_turn", problem, request_id)
            else:
                rec.ok("rest_turn", elapsed)
        await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))


async def ws_user(
    n: int, ws_base: str, run: str, stop_at: float, rec: Recorder, think: float
) -> None:
    """One widget visitor on the WebSocket, turn after turn until `stop_at`; reconnects after
    an error, as the widget does."""
    visitor = f"load{run}ws{n:05d}".ljust(16, "0")
    url = f"{ws_base}/channels/web/ws?visitor_id={visitor}&site_key=demo"
    await asyncio.sleep(random.uniform(0, think))
    turn = 0
    while time.monotonic() < stop_at:
        connected = False
        start = time.perf_counter()
        try:
            async with connect(url, open_timeout=60, max_size=2**22) as ws:
                first = json.loads(await asyncio.wait_for(ws.recv(), TURN_TIMEOUT_S))
                if first.get("type") != "history":
                    raise WebSocketException(f"first frame {first.get('type')}")
                connected = True
                rec.ok("ws_connect", time.perf_counter() - start)
                while time.monotonic() < stop_at:
                    text = SCRIPT[turn % len(SCRIPT)]
                    turn += 1
                    await _ws_turn(ws, text, uuid.uuid4().hex[:16], rec)
                    await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))
                return
        except (OSError, TimeoutError, WebSocketException) as exc:
            rec.error("ws_turn" if connected else "ws_connect", type(exc).__name__)
            await asyncio.sleep(think)


async def _ws_turn(ws: Any, text: str, client_id: str, rec: Recorder) -> None:
    frame = {"type": "message", "text": text, "client_id": client_id}
    start = time.perf_counter()
    await ws.send(json.dumps(frame, ensure_ascii=False))
    replies: list[dict[str, Any]] = []
    echoed = False
    deadline = time.monotonic() + TURN_TIMEOUT_S
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))
        got = json.loads(raw)
        if got.get("type") == "error":
            rec.error("ws_turn", f"frame {got.get('code')}")
            return
        if got.get("type") == "message":
            if got.get("author") == "customer":
                echoed = True
            else:
                replies.append(got)
        if got.get("type") == "typing" and got.get("on") is False and echoed:
            break
    elapsed = time.perf_counter() - start
    if problem := _replies_ok(replies):
        rec.error("ws_turn", problem)
    else:
        rec.ok("ws_turn", elapsed)


async def ticket_stream(
    http: httpx.AsyncClient, base: str, token: str, rate: float, stop_at: float, rec: Recorder
) -> None:
    """`rate` new tickets a second until `stop_at`, each on its own (open loop)."""
    if rate <= 0:
        return
    headers = {"Authorization": f"Bearer {token}"}
    pending: set[asyncio.Task[None]] = set()

    async def create() -> None:
        body = {
            "phone": f"139{random.randrange(10**8):08d}",
            "customer_name": "压测客户",
            "product": "洗衣机",
            "fault_description": "滚筒不转了（压测）",
            "fault_started": "昨天",
            "address": "上海市浦东新区世纪大道1号",
            "city": "上海",
            "district": "浦东新区",
        }
        start = time.perf_counter()
        try:
            response = await http.post(
                f"{base}/api/v1/tickets",
                json=body,
                headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                timeout=TURN_TIMEOUT_S,
            )
        except httpx.HTTPError as exc:
            rec.error("ticket_create", type(exc).__name__)
            return
        if response.status_code == 201:
            rec.ok("ticket_create", time.perf_counter() - start)
        else:
            rec.error("ticket_create", http_error(response))

    interval = 1.0 / rate
    next_at = time.monotonic()
    while next_at < stop_at:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        task = asyncio.create_task(create())
        pending.add(task)
        task.add_done_callback(pending.discard)
        next_at += interval
    await asyncio.gather(*pending)


async def progress(rec: Recorder, started: float, stop_at: float) -> None:
    """A line every 10 s: elapsed time and requests done."""
    while time.monotonic() < stop_at:
        await asyncio.sleep(10)
        per_kind = ", ".join(
            f"{name} {len(k.latencies)} ok/{sum(k.errors.values())} err"
            for name, k in sorted(rec.kinds.items())
        )
        print(f"  {time.monotonic() - started:5.0f}s  {per_kind}", flush=True)


# ---------------------------------------------------------------- hub against Rasa


async def compare(
    http: httpx.AsyncClient, base: str, rasa_url: str, conversations: int, messages: int, run: str
) -> dict[str, Any]:
    """The same messages through the hub and straight to Rasa, one at a time."""
    hub: list[float] = []
    direct: list[float] = []
    failures: Counter[str] = Counter()

    async def timed(url: str, sender: str, text: str, into: list[float], label: str) -> None:
        start = time.perf_counter()
        try:
            response = await http.post(
                url, json={"sender": sender, "message": text}, timeout=TURN_TIMEOUT_S
            )
            response.raise_for_status()
            problem = _replies_ok(response.json())
        except httpx.HTTPError as exc:
            problem = type(exc).__name__
        if problem:
            failures[f"{label}: {problem}"] += 1
        else:
            into.append(time.perf_counter() - start)

    hub_url = f"{base}/channels/rest/webhook"
    rasa_rest = f"{rasa_url.rstrip('/')}/webhooks/rest/webhook"
    for c in range(conversations):
        for m in range(messages):
            text = SCRIPT[m % len(SCRIPT)]
            pair = [
                timed(hub_url, f"cmp-{run}-hub-{c}", text, hub, "hub"),
                timed(rasa_rest, f"cmp-{run}-rasa-{c}", text, direct, "rasa"),
            ]
            if (c + m) % 2:
                pair.reverse()  # neither side always goes first (warm caches)
            for call in pair:
                await call
    result: dict[str, Any] = {"pairs": conversations * messages, "failures": dict(failures)}
    if hub and direct:
        result |= {
            "hub_p50_ms": round(statistics.median(hub) * 1000, 1),
            "hub_p95_ms": round(percentile(hub, 95) * 1000, 1),
            "rasa_p50_ms": round(statistics.median(direct) * 1000, 1),
            "rasa_p95_ms": round(percentile(direct, 95) * 1000, 1),
            "ratio_p50": round(statistics.median(hub) / statistics.median(direct), 2),
            "ratio_mean": round(statistics.fmean(hub) / statistics.fmean(direct), 2),
        }
    return result


# ---------------------------------------------------------------- server-side figures


async def scrape(http: httpx.AsyncClient, base: str) -> dict[str, float]:
    """The chat-turn histogram's sum and count from /metrics (empty when not served)."""
    try:
        response = await http.get(f"{base}/metrics", timeout=30)
    except httpx.HTTPError:
        return {}
    if response.status_code != 200:
        return {}
    found: dict[str, float] = {"sum": 0.0, "count": 0.0}  # no series before the first turn
    pattern = re.compile(
        r'^portal_chat_turn_duration_seconds_(sum|count)\{outcome="ok"\} (\S+)$', re.M
    )
    for which, value in pattern.findall(response.text):
        found[which] = float(value)
    return found


# ---------------------------------------------------------------- the stack


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(var: Path, **extra: Any) -> Any:
    """The benchmark's settings: free ports, its own tokens, the widget's abuse limits off."""
    from portal.config import Settings

    return Settings(
        _env_file=None,
        var_dir=var,
        portal_port=_free_port(),
        rasa_url=f"http://127.0.0.1:{_free_port()}",
        action_server_url=f"http://127.0.0.1:{_free_port()}",
        rasa_token="load-rasa-token",
        bot_service_token="load-bot-token",
        secret_key="load-secret",
        widget_rate_visitor_per_min=0,
        widget_rate_site_per_min=0,
        rest_rate_sender_per_min=0,
        rest_rate_key_per_min=0,
        rest_rate_ip_per_min=0,
        **extra,
    )


def _up(stack: Any, settings: Any, *, timeout: float) -> tuple[Any, str, str, str]:
    """Start the stack and wait until it is healthy (stopping it if it never is)."""
    stack.start()
    try:
        stack.wait_healthy(timeout=timeout)
    except Exception:
        stack.stop()
        raise
    return stack, stack.portal_url, settings.rasa_url, settings.bot_service_token


def start_own_stack(model: Path | None) -> tuple[Any, str, str, str]:
    """Portal (one process, SQLite), Rasa, action server and workers on free ports."""
    from portal.stack import Stack, ensure_model, prepare

    var = Path(tempfile.mkdtemp(prefix="aftersales-load-"))
    settings = _settings(var, database_url=f"sqlite:///{var / 'portal.db'}")
    print(f"starting the stack in {var} (SQLite, one portal process) ...", flush=True)
    prepare(settings, demo="minimal")
    stack = Stack(settings, model=model or ensure_model(settings))
    return _up(stack, settings, timeout=600)


def start_scaled_stack(model: Path | None, workers: int, rasa_servers: int) -> tuple[Any, ...]:
    """The production topology (`make run-scaled`): nginx, `workers` portal workers and
    `rasa_servers` Rasa servers on the local PostgreSQL (database aftersales_load, emptied
    first) and Redis, the action server and the workers."""
    from portal.stack import ScaledStack, Topology, ensure_model, prepare, scaled_settings

    var = Path(tempfile.mkdtemp(prefix="aftersales-load-scaled-"))
    topology = Topology(
        workers=workers,
        rasa_servers=rasa_servers,
        first_port=_free_port_block(200),
        database="aftersales_load",
    )
    settings = scaled_settings(_settings(var, redis_prefix="aftersales-load:"), topology)
    _empty_postgres(settings.database_url)
    print(
        f"starting the scaled stack in {var} (PostgreSQL + Redis, nginx, {workers} portal "
        f"workers, {rasa_servers} Rasa servers) ...",
        flush=True,
    )
    prepare(settings, demo="minimal")
    stack = ScaledStack(settings, model=model or ensure_model(settings), topology=topology)
    return _up(stack, settings, timeout=900)


def _free_port_block(size: int) -> int:
    """A first port with `size` ports after it free now (the topology numbers its processes
    from there)."""
    for first in range(20000, 60000, size):
        if all(_port_free(first + n) for n in range(size)):
            return first
    raise RuntimeError("no free block of ports")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _empty_postgres(url: str) -> None:
    """Drop every table of the benchmark's own database, so each run starts the same."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


# ---------------------------------------------------------------- main


async def run(args: argparse.Namespace, base: str, rasa_url: str, token: str) -> dict[str, Any]:
    """The load phase, then the comparison; returns every figure."""
    run_id = uuid.uuid4().hex[:8]
    ws_users = round(args.users * args.ws_share)
    rest_users = args.users - ws_users
    limits = httpx.Limits(max_connections=args.users + 200, max_keepalive_connections=args.users)
    ws_base = re.sub(r"^http", "ws", base)
    rec = Recorder()
    async with httpx.AsyncClient(limits=limits) as http:
        before = await scrape(http, base)
        print(
            f"load: {rest_users} REST + {ws_users} WebSocket users, "
            f"{args.tickets_per_s:g} tickets/s, {args.duration:g} s against {base}",
            flush=True,
        )
        started = time.monotonic()
        stop_at = started + args.duration
        work = [
            *(
                rest_user(n, http, base, run_id, stop_at, rec, args.think)
                for n in range(rest_users)
            ),
            *(ws_user(n, ws_base, run_id, stop_at, rec, args.think) for n in range(ws_users)),
            ticket_stream(http, base, token, args.tickets_per_s, stop_at, rec),
        ]
        ticker = asyncio.create_task(progress(rec, started, stop_at))
        await asyncio.gather(*work)
        ticker.cancel()
        elapsed = time.monotonic() - started  # includes the last turns' tails
        after = await scrape(http, base)
        conversations, messages = (int(x) for x in args.compare.split("x"))
        print(f"comparing hub and Rasa: {conversations} x {messages} messages ...", flush=True)
        ratio = await compare(http, base, rasa_url, conversations, messages, run_id)

    figures: dict[str, Any] = {
        "target": base,
        "users": {"rest": rest_users, "websocket": ws_users},
        "tickets_per_s": args.tickets_per_s,
        "duration_s": args.duration,
        "elapsed_s": round(elapsed, 1),
        "think_s": args.think,
        "kinds": {name: summary(kind, elapsed) for name, kind in sorted(rec.kinds.items())},
        "hub_vs_rasa": ratio,
    }
    if before.get("count") is not None and after.get("count") is not None:
        turns = after["count"] - before["count"]
        if turns > 0:
            figures["server_chat_turn_mean_ms"] = round(
                (after["sum"] - before["sum"]) / turns * 1000, 1
            )
            figures["server_chat_turns"] = int(turns)
    return figures


def report(figures: dict[str, Any]) -> None:
    """The figures as a table."""
    print()
    print(f"target {figures['target']}  elapsed {figures['elapsed_s']} s")
    header = f"{'kind':<14}{'ok':>8}{'req/s':>9}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}  errors"
    print(header)
    print("-" * len(header))
    for name, k in figures["kinds"].items():
        print(
            f"{name:<14}{k['ok']:>8}{k['throughput_per_s']:>9}"
            f"{k.get('p50_ms', '-'):>10}{k.get('p95_ms', '-'):>10}{k.get('p99_ms', '-'):>10}"
            f"  {k['errors'] or '-'}"
        )
        if k["failed_request_ids"]:
            print(f"{'':<14}failed X-Request-IDs: {', '.join(k['failed_request_ids'])}")
    if "server_chat_turn_mean_ms" in figures:
        print(
            f"server-side hub->Rasa round trip (from /metrics): mean "
            f"{figures['server_chat_turn_mean_ms']} ms over {figures['server_chat_turns']} turns"
        )
    ratio = figures["hub_vs_rasa"]
    if "ratio_p50" in ratio:
        print(
            f"hub vs Rasa REST, same messages one at a time ({ratio['pairs']} pairs): "
            f"hub p50 {ratio['hub_p50_ms']} ms / p95 {ratio['hub_p95_ms']} ms, "
            f"Rasa p50 {ratio['rasa_p50_ms']} ms / p95 {ratio['rasa_p95_ms']} ms, "
            f"ratio p50 {ratio['ratio_p50']}, mean {ratio['ratio_mean']}"
        )
    if ratio["failures"]:
        print(f"comparison failures: {ratio['failures']}")


def main(argv: list[str] | None = None) -> int:
    """Parse options, start or find the stack, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="concurrent chat users")
    parser.add_argument("--ws-share", type=float, default=0.5, help="share on the WebSocket")
    parser.add_argument("--tickets-per-s", type=float, default=20.0, help="ticket creations/s")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between turns (s)")
    parser.add_argument("--compare", default="10x5", help="conversations x messages, hub vs Rasa")
    parser.add_argument("--target", help="portal URL of a running topology (else: start one)")
    parser.add_argument("--rasa-url", default="http://127.0.0.1:5005", help="with --target")
    parser.add_argument(
        "--bot-token", default="dev-bot-service-token", help="bot service token (with --target)"
    )
    parser.add_argument(
        "--model", type=Path, help="a trained Rasa model (else the cached one, trained if need be)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--scaled",
        metavar="WORKERS,RASA",
        help="start the scaled topology instead (e.g. 2,2: nginx, PostgreSQL, Redis)",
    )
    args = parser.parse_args(argv)
    if args.scaled and not re.fullmatch(r"\d+,\d+", args.scaled):
        parser.error("--scaled is WORKERS,RASA, e.g. 2,2")
    if not 0 <= args.ws_share <= 1 or not re.fullmatch(r"\d+x\d+", args.compare):
        parser.error("--ws-share is a share (0-1); --compare is like 10x5")

    stack = None
    if args.target:
        base, rasa_url, token = args.target.rstrip("/"), args.rasa_url, args.bot_token
    elif args.scaled:
        workers, rasa_servers = (int(n) for n in args.scaled.split(","))
        stack, base, rasa_url, token = start_scaled_stack(args.model, workers, rasa_servers)
    else:
        stack, base, rasa_url, token = start_own_stack(args.model)
    try:
        figures = asyncio.run(run(args, base, rasa_url, token))
    finally:
        if stack is not None:
            stack.stop()
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
