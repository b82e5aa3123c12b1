"""`rasa run` with the API secret taken from the environment, never the command line.

Run with the bot's Python: `.venv-bot/bin/python scripts/rasa_run.py --enable-api -p 5005 ...`.
Rasa 3.6 takes its secrets only as options (`--auth-token`, `--jwt-secret`), which anyone on
the machine can read in `ps`. This launcher reads RASA_TOKEN, removes it from its own
environment, and hands it to Rasa inside this process as the JWT secret; /proc/<pid>/cmdline
keeps only the options given here. The portal signs a short-lived JWT with the same token and
sends it in the Authorization header (portal/conversations/rasa.py), so the token is never in
a URL either (Rasa's `--auth-token` is read only from a `?token=` query string).
"""

from __future__ import annotations

import os
import sys

REFUSED = ("--auth-token", "-t", "--jwt-secret")


def main() -> int:
    """Start Rasa's server with RASA_TOKEN as its JWT secret."""
    secret = os.environ.pop("RASA_TOKEN", "")
    if not secret:
        print("RASA_TOKEN is not set; Rasa's HTTP API would be open", file=sys.stderr)
        return 2
    given = sys.argv[1:]
    if any(arg.split("=", 1)[0] in REFUSED for arg in given):
        print("secrets come from RASA_TOKEN, not the command line", file=sys.stderr)
        return 2
    # Changing sys.argv does not change what `ps` shows: that is the exec'd command line.
    sys.argv = ["rasa", "run", *given, "--jwt-secret", secret, "--jwt-method", "HS256"]
    from rasa.__main__ import main as rasa_main

    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
