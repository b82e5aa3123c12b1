"""`python -m portal.workers scheduler|outbox [--once] [--poll SECONDS]`."""

from __future__ import annotations

import argparse
import logging
import sys

# Every table, so the mappers can resolve the foreign keys between domains.
import portal.models  # noqa: F401
from portal import wiring
from portal.config import get_settings
from portal.workers import loop, outbox, scheduler

log = logging.getLogger("portal.workers")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one worker until it is stopped."""
    parser = argparse.ArgumentParser(
        prog="python -m portal.workers", description="售后服务门户 background workers"
    )
    parser.add_argument("worker", choices=["scheduler", "outbox"])
    parser.add_argument("--once", action="store_true", help="do what is due now, then exit")
    parser.add_argument("--poll", type=float, default=None, help="seconds between polls")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = get_settings()
    # The same wiring as the app: an event the scheduler applies reaches every subscriber.
    db = wiring.database(settings)
    stop = loop.stop_on_signals()
    name = loop.worker_name(args.worker)
    try:
        if args.worker == "scheduler":
            make_pass = scheduler.make_pass
            poll = args.poll or settings.scheduler_poll_s
        else:
            make_pass = outbox.make_pass
            poll = args.poll or settings.outbox_poll_s
        work = make_pass(db, settings, worker=name, stop=stop)
        return loop.run(name, work, poll_s=poll, once=args.once, stop=stop)
    finally:
        db.dispose()


if __name__ == "__main__":
    sys.exit(main())
