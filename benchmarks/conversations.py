"""Conversation-completion benchmark: scripted customers (benchmarks/conversations/*.yaml)
talk to the real bot through the REST channel, and the staff API says whether each got
what it came for (the ticket it must produce, no ticket for a question, the change to its
ticket, the agent queue). Prints the completion rate, the rate by tag and every failed
conversation with its problems and transcript; it asserts nothing.

    .venv/bin/python benchmarks/conversations.py [--only ID_OR_TAG ...] [--json out.json]
    .venv/bin/python benchmarks/conversations.py --url http://127.0.0.1:8000 \\
        [--portal-log var/logs/portal.log]

Without --url it starts its own stack (portal on SQLite with the minimal demo data, Rasa
with the model of the current bot data, trained if need be, the action server, the
workers) with a local SMS provider, so the one-time codes of the chat-binding
conversations can be read where a customer reads them: from the text message. With --url
it drives a running portal; the codes then come from the portal's log (demo mode logs
them), given with --portal-log, or those conversations fail.

The format, the runner and the judge are in tests/e2e/conversation_bench.py; the loader is
checked by tests/e2e/test_conversation_bench.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.chat_harness import SmsInbox, own_stack  # noqa: E402
from tests.e2e.conversation_bench import (  # noqa: E402
    Codes,
    InboxCodes,
    LogCodes,
    Outcome,
    load,
    run_scripts,
    summary,
)


def _progress(outcome: Outcome) -> None:
    mark = "ok  " if outcome.passed else "FAIL"
    print(
        f"  {mark} {outcome.script.id:<40} {outcome.turns:>2} turns {outcome.seconds:5.1f} s",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Load the scripts, start or find the stack, run them, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="portal URL of a running stack (else: start one)")
    parser.add_argument("--portal-log", type=Path, help="with --url: where codes are logged")
    parser.add_argument("--only", nargs="*", default=[], help="conversation ids or tags")
    parser.add_argument("--model", type=Path, help="a trained Rasa model (else the cached one)")
    parser.add_argument("--json", type=Path, help="also write the outcomes here")
    args = parser.parse_args(argv)
    # Stopped with SIGTERM, it still stops the stack it started (the `with` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    scripts = load()
    if args.only:
        scripts = [s for s in scripts if s.id in args.only or set(s.tags) & set(args.only)]
    print(f"{len(scripts)} conversations", flush=True)
    with ExitStack() as cleanup:
        codes: Codes | None = None
        if args.url:
            base = args.url
            codes = LogCodes(args.portal_log) if args.portal_log else None
        else:
            inbox = SmsInbox()
            cleanup.callback(inbox.close)
            codes = InboxCodes(inbox)
            base = cleanup.enter_context(own_stack(model=args.model, sms_url=inbox.url))
        outcomes = asyncio.run(run_scripts(base, scripts, codes=codes, progress=_progress))
    print()
    print(summary(outcomes))
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "id": o.script.id,
                        "tags": o.script.tags,
                        "passed": o.passed,
                        "problems": o.problems,
                        "turns": o.turns,
                        "transcript": o.transcript,
                    }
                    for o in outcomes
                ],
                ensure_ascii=False,
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
