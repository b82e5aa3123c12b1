"""Prometheus metrics.

Latencies are observed in the process that served them. With several uvicorn workers, set
`PROMETHEUS_MULTIPROC_DIR` (an empty folder, the same for every worker, in the environment
before they start): prometheus_client then keeps its values in files there and `/metrics`
adds up every worker's. Queue depth, outbox lag and SLA breaches are read from the database
at scrape time (`exposition`), so they are the same whichever worker answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

REQUEST_LATENCY = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and status.",
    ["method", "route", "status"],
)
CHAT_TURN_LATENCY = Histogram(
    "portal_chat_turn_duration_seconds",
    "One bot turn: the hub's round trip to Rasa's REST channel.",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0),
)

# Turns the hub answered itself because the bot gave nothing usable: "empty" (no reply),
# "loop" (the same reply again and again: Rasa's circuit breaker), "timeout", "error".
BOT_FALLBACKS = Counter(
    "portal_bot_fallback",
    "Customer turns the hub answered itself (apology and the offer of a person), by reason.",
    ["reason"],
)
# Bot replies the hub reworked before sending: "duplicate" (the same text twice in a turn,
# sent once), "merged" (more than three, the rest merged into the third), "varied" (the same
# as the message before the turn, given a lead-in).
BOT_REPLY_REPAIRS = Counter(
    "portal_bot_reply_repairs",
    "Bot replies the hub reworked before sending them, by kind.",
    ["kind"],
)
# What the hub answered without asking the bot: "handoff" (转人工 and its synonyms),
# "ticket_rating" (a bare score after a rating invitation), "waiting_ack" (the one
# acknowledgement of a customer typing while queued).
HUB_SHORTCUTS = Counter(
    "portal_hub_shortcuts",
    "Customer messages the hub answered itself without the bot, by kind.",
    ["kind"],
)

# One-time code requests and checks refused by a limit (issue 18): "too_soon", "phone_cap",
# "failures_cap", "requester_cap", "requester_failures", "budget" (the daily SMS budget:
# its alarm).
OTP_REFUSED = Counter(
    "portal_otp_refused",
    "One-time code requests and checks refused by a limit, by limit.",
    ["limit"],
)


@contextmanager
def chat_turn_timer() -> Iterator[dict[str, str]]:
    """Time one bot turn; the caller sets `outcome` in the yielded dict ("ok" by default)."""
    labels = {"outcome": "ok"}
    start = time.perf_counter()
    try:
        yield labels
    except BaseException:
        labels["outcome"] = "error"
        raise
    finally:
        CHAT_TURN_LATENCY.labels(labels["outcome"]).observe(time.perf_counter() - start)
