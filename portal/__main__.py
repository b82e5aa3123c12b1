"""`python -m portal`: migrate, seed-demo, run, create-user."""

from __future__ import annotations

import argparse
import sys

from portal.config import get_settings


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command."""
    parser = argparse.ArgumentParser(prog="python -m portal", description="售后服务门户 portal CLI")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations")
    seed_parser = sub.add_parser("seed-demo", help="load the demo data once")
    seed_parser.add_argument("--size", choices=["full", "minimal"], default="full")
    run = sub.add_parser("run", help="start portal, Rasa and the action server")
    run.add_argument("--no-bot", action="store_true", help="start only the portal")
    run.add_argument(
        "--scaled",
        action="store_true",
        help="the production topology: nginx, several portal workers and Rasa servers, "
        "PostgreSQL and Redis (docs/deploy.md)",
    )
    run.add_argument("--workers", type=int, default=2, help="portal workers (with --scaled)")
    run.add_argument("--rasa", type=int, default=2, help="Rasa servers (with --scaled)")
    user = sub.add_parser("create-user", help="create a staff account")
    user.add_argument("username")
    user.add_argument("role")
    user.add_argument("--password", required=True)
    user.add_argument("--name", default="")
    args = parser.parse_args(argv)
    settings = get_settings()

    if args.command == "migrate":
        from portal.migrate import upgrade

        upgrade(settings.effective_database_url)
        print(f"migrated {settings.effective_database_url}")
        return 0
    if args.command == "seed-demo":
        from portal.database import Database
        from portal.demo.seed import seed

        db = Database(settings.effective_database_url)
        with db.session() as session:
            created = seed(session, size=args.size)
        print("demo data loaded" if created else "demo data already present")
        return 0
    if args.command == "create-user":
        from portal.accounts.models import User
        from portal.database import Database
        from portal.security import ROLES, hash_password

        if args.role not in ROLES:
            print(f"role must be one of {', '.join(ROLES)}", file=sys.stderr)
            return 2
        db = Database(settings.effective_database_url)
        with db.session() as session:
            session.add(
                User(
                    username=args.username,
                    display_name=args.name or args.username,
                    password_hash=hash_password(args.password),
                    role=args.role,
                )
            )
        print(f"created {args.username} ({args.role})")
        return 0
    if args.command == "run":
        from portal.stack import Topology, run_forever, run_scaled

        if args.scaled:
            if args.workers < 1 or args.rasa < 1:
                print("--workers and --rasa must be at least 1", file=sys.stderr)
                return 2
            return run_scaled(settings, Topology(workers=args.workers, rasa_servers=args.rasa))
        return run_forever(settings, with_bot=not args.no_bot)
    return 2


if __name__ == "__main__":
    sys.exit(main())
