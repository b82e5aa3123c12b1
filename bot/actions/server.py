"""The action server, as the product runs it: `python -m actions.server` from bot/.

rasa_sdk's own server (`rasa run actions`) answers anyone who can reach it and listens on
every interface. This one serves the same actions, but only to callers that send the shared
secret ACTION_SERVER_SECRET in the X-Action-Secret header (Rasa does: bot/endpoints.yml),
and listens on loopback unless ACTION_SERVER_HOST says otherwise. It refuses to start
without a secret. /health stays open, so a supervisor can tell it is up.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys

from rasa_sdk.endpoint import create_app
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json

HEADER = "X-Action-Secret"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5055
OPEN_PATHS = frozenset({"/health"})

logger = logging.getLogger(__name__)


def secured_app(secret: str, actions: str = "actions") -> Sanic:
    """rasa_sdk's app for `actions`, refusing (401) every call without the secret."""
    if not secret:
        raise ValueError("ACTION_SERVER_SECRET is empty")
    expected = secret.encode()
    app = create_app(actions, cors_origins=None)

    @app.middleware("request")
    async def _authenticate(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        given = (request.headers.get(HEADER) or "").encode()
        if not hmac.compare_digest(given, expected):
            logger.warning("refused an action call without the secret from %s", request.ip)
            return json({"error": "unauthorised"}, status=401)
        return None

    return app


def main(argv: list[str] | None = None) -> int:
    """Start the server (blocks)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("ACTION_SERVER_HOST") or DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--actions", default="actions")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    secret = os.environ.get("ACTION_SERVER_SECRET", "")
    if not secret:
        print(
            "ACTION_SERVER_SECRET is not set: the action server will not run unauthenticated "
            "/ 未设置 ACTION_SERVER_SECRET，动作服务器不会在无认证的情况下启动",
            file=sys.stderr,
        )
        return 2
    app = secured_app(secret, args.actions)
    logger.info(
        "action server on http://%s:%d (callers must send %s)", args.host, args.port, HEADER
    )
    app.run(args.host, args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
