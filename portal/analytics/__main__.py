"""`python -m portal.analytics refresh [--full]`: fold new ticket events into the stage facts
(all of them again with --full), e.g. from cron or after a bulk import."""

from __future__ import annotations

import argparse
import sys

from portal import wiring
from portal.analytics.refresh import deadlines_from_settings, refresh
from portal.config import get_settings


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and refresh."""
    parser = argparse.ArgumentParser(prog="python -m portal.analytics", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("refresh", help="bring ticket_stage_facts up to date")
    run.add_argument("--full", action="store_true", help="recompute every ticket")
    args = parser.parse_args(argv)
    settings = get_settings()
    db = wiring.database(settings)  # as every process builds it
    try:
        with db.session() as session:
            result = refresh(session, deadlines=deadlines_from_settings(settings), full=args.full)
    finally:
        db.dispose()
    kind = "rebuilt" if result.full else "refreshed"
    print(f"{kind} {result.tickets} tickets in {result.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
