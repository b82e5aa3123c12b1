"""API fuzz benchmark: schemathesis over every JSON operation as every caller (each staff role,
a customer, the bot's service account, anonymous), with a larger budget than the test suite's
(tests/security/test_stateful_api.py runs the same sweep with one example per operation).

    .venv/bin/python benchmarks/api_fuzz.py                         # SQLite, 10 examples
    .venv/bin/python benchmarks/api_fuzz.py --db postgresql --examples 25
    .venv/bin/python benchmarks/api_fuzz.py --callers admin,customer --examples 50

Each caller gets the operations its policy lets in (and the public ones), `--examples`
generated requests each, against a migrated scratch database (SQLite in a temporary file;
PostgreSQL in a scratch database on 127.0.0.1:5432, user postgres, dropped afterwards).
Prints, per caller, how many requests were made, the answers by status and every 5xx with the
operation that gave it; exits 1 if there was any 5xx. Asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KB_ENABLED", "false")

import httpx  # noqa: E402
import schemathesis  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from portal import wiring  # noqa: E402
from portal.config import Settings  # noqa: E402
from portal.main import create_app  # noqa: E402
from portal.migrate import upgrade  # noqa: E402
from tests.app_fixtures import BOT_TOKEN, RASA_TOKEN, FakeRasa  # noqa: E402
from tests.security.test_stateful_api import CALLERS, sweep, world_headers  # noqa: E402

PG_ADMIN = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _scratch_postgres() -> tuple[str, str]:
    name = f"aftersales_fuzz_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    return url, name


def _drop_postgres(name: str) -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> int:
    """Run the sweep and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--examples", type=int, default=10, help="per operation and caller")
    parser.add_argument("--callers", default=",".join(CALLERS))
    args = parser.parse_args()
    callers = [c for c in args.callers.split(",") if c]
    unknown = set(callers) - set(CALLERS)
    if unknown:
        parser.error(f"unknown callers: {', '.join(sorted(unknown))}")

    tmp = Path(tempfile.mkdtemp(prefix="api-fuzz-"))
    pg_name = None
    if args.db == "postgresql":
        url, pg_name = _scratch_postgres()
    else:
        url = f"sqlite:///{tmp / 'portal.db'}"
    print(f"api fuzz: {args.db}, {args.examples} examples per operation and caller")
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpus")
    total_crashes: list[str] = []
    started = time.perf_counter()
    try:
        upgrade(url)
        settings = Settings(
            _env_file=None,
            database_url=url,
            var_dir=tmp,
            bot_service_token=BOT_TOKEN,
            rasa_token=RASA_TOKEN,
            secret_key="benchmark-secret-key-for-the-api-fuzz-run-3f9a",
            action_server_secret="benchmark-action-server-secret-8c2e",
        )
        db = wiring.database(settings)
        rasa = FakeRasa()
        print(f"{'caller':<18}{'requests':>9}{'5xx':>6}{'seconds':>9}  answers")
        for caller in callers:
            with db.session() as s:
                headers = world_headers(s, settings, caller)
            app = create_app(settings, http_transport=httpx.MockTransport(rasa.handler))
            t0 = time.perf_counter()
            try:
                schema = schemathesis.openapi.from_asgi("/openapi.json", app)
                statuses, crashes = sweep(schema, headers, caller, app, args.examples)
            finally:
                app.state.db.dispose()
            elapsed = time.perf_counter() - t0
            answers = " ".join(f"{k}:{v}" for k, v in sorted(statuses.items()))
            count = sum(statuses.values())
            print(f"{caller:<18}{count:>9}{len(crashes):>6}{elapsed:>9.1f}  {answers}", flush=True)
            total_crashes += crashes
        db.dispose()
    finally:
        if pg_name is not None:
            _drop_postgres(pg_name)
    print(f"total: {time.perf_counter() - started:.0f} s, {len(total_crashes)} answers 5xx")
    for line in Counter(total_crashes):
        print("  5xx:", line)
    return 1 if total_crashes else 0


if __name__ == "__main__":
    sys.exit(main())
