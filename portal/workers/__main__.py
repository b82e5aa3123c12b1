"""`python -m portal.workers scheduler|outbox [--once] [--poll SECONDS]`."""

from __future__ import annotations

import argparse
import logging
import sys

from portal.config import get_settings
from portal.database import Database
from portal.workers import loop

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
    # Every table, so the mappers can resolve the foreign keys between domains.
    import portal.models  # noqa: F401

    settings = get_settings()
    db = Database(settings.effective_database_url)
    stop = loop.stop_on_signals()
    name = loop.worker_name(args.worker)
    try:
        if args.worker == "scheduler":
            from portal.workers.scheduler import make_pass

            poll = args.poll or settings.scheduler_poll_s
        else:
            from portal.workers.outbox import make_pass

            poll = args.poll or settings.outbox_poll_s
        work = make_pass(db, settings, worker=name, stop=stop)
        return loop.run(name, work, poll_s=poll, once=args.once, stop=stop)
    finally:
        db.dispose()


if __name__ == "__main__":
    sys.exit(main())
