"""`python -m portal`: migrate, seed-demo, run, create-user, create-admin, check, backup/restore."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from portal import backup, wiring
from portal.accounts.service import create_staff
from portal.config import InsecureSettings, Settings, get_settings
from portal.demo.seed import seed
from portal.errors import PortalError
from portal.golive import service as golive
from portal.i18n import both
from portal.migrate import upgrade
from portal.security import ROLES, Role
from portal.stack import Topology, run_forever, run_scaled


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
    admin = sub.add_parser(
        "create-admin",
        help="create the first (or another) admin; asks for the password twice",
    )
    admin.add_argument("username", nargs="?", default="admin")
    admin.add_argument("--name", default="")
    admin.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (for automation; never on the command line)",
    )
    sub.add_parser("check", help="what is missing before go-live (exit 1 while anything is)")
    save = sub.add_parser("backup", help="copy the SQLite database to FILE while it runs")
    save.add_argument("file", type=Path)
    load = sub.add_parser("restore", help="replace the SQLite database with a backup (stop first)")
    load.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    settings = get_settings()

    if args.command == "create-admin":
        return _create_admin(settings, args)
    if args.command == "check":
        return _check(settings)
    if args.command in {"backup", "restore"}:
        act = backup.backup if args.command == "backup" else backup.restore
        try:
            path = act(settings.effective_database_url, args.file)
        except PortalError as exc:
            print(f"{exc.message_zh} / {exc.message_en}", file=sys.stderr)
            return 2
        print(f"{args.command}: {path}")
        return 0

    if args.command == "migrate":
        upgrade(settings.effective_database_url)
        print(f"migrated {settings.effective_database_url}")
        return 0
    if args.command == "seed-demo":
        if not settings.demo_mode:
            print(" / ".join(both("config.seed_demo_refused")), file=sys.stderr)
            return 2
        upgrade(settings.effective_database_url)  # a fresh database has no tables yet
        db = wiring.database(settings)  # the demo's history reaches the subscribers
        with db.session() as session:
            created = seed(session, size=args.size)
        print("demo data loaded" if created else "demo data already present")
        return 0
    if args.command == "create-user":
        if args.role not in ROLES:
            print(f"role must be one of {', '.join(ROLES)}", file=sys.stderr)
            return 2
        db = wiring.database(settings)
        try:
            with db.session() as session:
                create_staff(
                    session,
                    username=args.username,
                    role=args.role,
                    password=args.password,
                    display_name=args.name,
                )
        except PortalError as exc:
            print(f"{exc.message_zh} / {exc.message_en}", file=sys.stderr)
            return 2
        print(f"created {args.username} ({args.role})")
        return 0
    if args.command == "run":
        # Refused before anything is migrated, seeded or started (each child checks again).
        try:
            settings.check_secrets()
        except InsecureSettings as exc:
            print(" / ".join(both("config.refused")) + ":", file=sys.stderr)
            print(str(exc), file=sys.stderr)
            return 2
        if settings.demo_mode:
            print("⚠ " + "\n⚠ ".join(both("config.demo_mode")), file=sys.stderr, flush=True)

        if args.scaled:
            if args.workers < 1 or args.rasa < 1:
                print("--workers and --rasa must be at least 1", file=sys.stderr)
                return 2
            return run_scaled(settings, Topology(workers=args.workers, rasa_servers=args.rasa))
        return run_forever(settings, with_bot=not args.no_bot)
    return 2


def _create_admin(settings: Settings, args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("密码 / Password: ")
        if getpass.getpass("再输入一次 / Again: ") != password:
            print(" / ".join(both("admin.password_mismatch")), file=sys.stderr)
            return 2
    upgrade(settings.effective_database_url)
    db = wiring.database(settings)
    try:
        with db.session() as session:
            create_staff(
                session,
                username=args.username,
                role=Role.ADMIN.value,
                password=password,
                display_name=args.name,
            )
    except PortalError as exc:
        print(f"{exc.message_zh} / {exc.message_en}", file=sys.stderr)
        return 2
    print(f"created admin {args.username}")
    return 0


def _check(settings: Settings) -> int:
    """Print the go-live checklist; exit 1 while anything on it is missing."""
    upgrade(settings.effective_database_url)  # a new install's first command may be this one
    db = wiring.database(settings)
    with db.session() as session:
        checks = golive.checklist(session, settings)
    for check in checks:
        print(f"{'✓' if check.ok else '✗'} {check.zh} / {check.en}")
        for detail in check.details:
            print(f"    - {detail}")
    missing = sum(not check.ok for check in checks)
    summary = both("golive.ready") if not missing else both("golive.not_ready", n=missing)
    print(" / ".join(summary))
    return 0 if not missing else 1


if __name__ == "__main__":
    sys.exit(main())
