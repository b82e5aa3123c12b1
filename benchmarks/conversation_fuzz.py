"""Conversation fuzzer, long run: seeded random customers through every flow of the bot on
the real stack (Rasa, the action server, the portal), every turn checked against the rules
of issue 16. Prints turns, conversations, violations by rule (with the shortest
reproduction of each) and turns per second; it asserts nothing.

    .venv/bin/python benchmarks/conversation_fuzz.py [--turns 2000] [--seed 1]
        [--concurrency 2] [--examples 1] [--url http://127.0.0.1:8000]

Without --url it starts its own stack (portal on SQLite with the minimal demo data, Rasa
with the model of the current bot data, trained if need be, the action server and the
workers) on free ports in a temporary folder and stops it at the end. With --url it drives
a running portal (the demo agent `agent` / `agent123` must exist there).

The walk, the pool of inputs and the rules are in tests/e2e/conversation_fuzz.py, shared
with the short seeded run in `make test` (tests/e2e/test_conversation_fuzz.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.chat_harness import own_stack  # noqa: E402
from tests.e2e.conversation_fuzz import RULES, FuzzResult, fuzz, report  # noqa: E402


def _progress(result: FuzzResult) -> None:
    if result.turns % 100 == 0:
        print(
            f"  {result.turns} turns, {result.conversations} conversations, "
            f"{len(result.violations)} violations",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    """Parse options, start or find the stack, fuzz, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=2000, help="messages to send in all")
    parser.add_argument("--seed", type=int, default=1, help="seed of the walk")
    parser.add_argument("--concurrency", type=int, default=2, help="conversations at once")
    parser.add_argument("--examples", type=int, default=1, help="reproductions per rule")
    parser.add_argument("--url", help="portal URL of a running stack (else: start one)")
    parser.add_argument("--model", type=Path, help="a trained Rasa model (else the cached one)")
    parser.add_argument("--json", type=Path, help="also write the figures and violations here")
    args = parser.parse_args(argv)
    # Stopped with SIGTERM, it still stops the stack it started (the `with` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    place = nullcontext(args.url) if args.url else own_stack(model=args.model)
    with place as base:
        print(f"fuzzing {base}: seed {args.seed}, {args.turns} turns ...", flush=True)
        result = asyncio.run(
            fuzz(
                base,
                seed=args.seed,
                turns=args.turns,
                concurrency=args.concurrency,
                progress=_progress,
            )
        )
    print()
    print(report(result, examples=args.examples))
    print()
    print("violations by rule:")
    for rule in RULES:
        found = [v for v in result.violations if v.rule == rule]
        print(f"  {rule:<22}{len(found):>6} turns {len({v.conversation for v in found}):>5} conv.")
    if result.latencies:
        ordered = sorted(result.latencies)
        print(
            f"turn latency: median {statistics.median(ordered) * 1000:.0f} ms, "
            f"p95 {ordered[int(0.95 * (len(ordered) - 1))] * 1000:.0f} ms"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "seed": result.seed,
                    "turns": result.turns,
                    "conversations": result.conversations,
                    "seconds": round(result.seconds, 1),
                    "queued": result.queued,
                    "hub_apologies": result.hub_apologies,
                    "openers": dict(result.openers),
                    "violations": [v.__dict__ for v in result.violations],
                },
                ensure_ascii=False,
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
