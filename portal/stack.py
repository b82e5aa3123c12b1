"""Starts the whole product (portal, Rasa server, action server, the SLA scheduler and the
notification outbox worker), waits until it is healthy, and stops it cleanly. Used by
`make run` and by the end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from portal.config import ROOT, Settings

MODEL_SCRIPT = ROOT / "scripts" / "bot_model.py"


class StackError(RuntimeError):
    """A process would not start or never became healthy."""


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def ensure_model(settings: Settings) -> Path:
    """The trained Rasa model for the current bot data, training it only when it changed."""
    proc = subprocess.run(
        [sys.executable, str(MODEL_SCRIPT), "--bot-env", str(settings.bot_env)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        raise StackError(f"training the bot failed (exit {proc.returncode})")
    return Path(lines[-1].strip())


@dataclass
class Process:
    """One child process and where its output goes."""

    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Spawn it in its own process group, output to its log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def exited(self) -> int | None:
        """Its exit code, or None while it runs."""
        return None if self.popen is None else self.popen.poll()

    def log_tail(self, lines: int = 30) -> str:
        """The end of its log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the whole group, then SIGKILL what is left."""
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)
        except ProcessLookupError:
            pass


class Stack:
    """The product's processes for one set of settings."""

    def __init__(self, settings: Settings, *, model: Path | None, with_bot: bool = True) -> None:
        self.settings = settings
        self.processes: list[Process] = []
        env = {**os.environ, **settings.as_env()}
        Path(settings.var_dir).mkdir(parents=True, exist_ok=True)
        logs = settings.var_dir / "logs"
        portal_url = f"http://{settings.portal_host}:{settings.portal_port}"
        if with_bot:
            if model is None:
                raise StackError("a model is needed to start Rasa")
            bot_bin = settings.bot_env / "bin"
            a_host, a_port = _host_port(settings.action_server_url)
            r_host, r_port = _host_port(settings.rasa_url)
            bot_env = {
                **env,
                "PORTAL_URL": portal_url,
                "PORTAL_SERVICE_TOKEN": settings.bot_service_token,
                "SANIC_HOST": a_host,
                "ACTION_SERVER_URL": f"{settings.action_server_url.rstrip('/')}/webhook",
                # endpoints.yml reads these; Rasa resolves a relative path from bot/.
                "TRACKER_STORE_DIALECT": "sqlite",
                "TRACKER_STORE_DB": str(Path(settings.var_dir).resolve() / "rasa_tracker.db"),
                "RASA_TELEMETRY_ENABLED": "false",
            }
            self.processes.append(
                Process(
                    "actions",
                    [
                        str(bot_bin / "rasa"),
                        "run",
                        "actions",
                        "--port",
                        str(a_port),
                        "--actions",
                        "actions",
                    ],
                    settings.bot_dir,
                    bot_env,
                    logs / "actions.log",
                )
            )
            self.processes.append(
                Process(
                    "rasa",
                    [
                        str(bot_bin / "rasa"),
                        "run",
                        "--enable-api",
                        "--auth-token",
                        settings.rasa_token,
                        "-i",
                        r_host,
                        "-p",
                        str(r_port),
                        "--model",
                        str(model),
                        "--endpoints",
                        "endpoints.yml",
                        "--credentials",
                        "credentials.yml",
                    ],
                    settings.bot_dir,
                    bot_env,
                    logs / "rasa.log",
                )
            )
        for worker in ("scheduler", "outbox"):
            self.processes.append(
                Process(
                    worker,
                    [sys.executable, "-m", "portal.workers", worker],
                    ROOT,
                    env,
                    logs / f"{worker}.log",
                )
            )
        self.processes.append(
            Process(
                "portal",
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "portal.main:create_app",
                    "--factory",
                    "--host",
                    settings.portal_host,
                    "--port",
                    str(settings.portal_port),
                ],
                ROOT,
                env,
                logs / "portal.log",
            )
        )
        self.with_bot = with_bot

    @property
    def portal_url(self) -> str:
        """Where the portal answers."""
        return f"http://{self.settings.portal_host}:{self.settings.portal_port}"

    def start(self) -> None:
        """Spawn every process."""
        for process in self.processes:
            process.start()

    def wait_healthy(self, timeout: float = 300.0) -> None:
        """Block until /healthz says all is up; fail early if a process dies."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            for process in self.processes:
                code = process.exited()
                if code is not None:
                    raise StackError(
                        f"{process.name} exited with {code}; its log "
                        f"({process.log_path}):\n{process.log_tail()}"
                    )
            try:
                response = httpx.get(f"{self.portal_url}/healthz", timeout=5)
                if response.status_code == 200 or (
                    not self.with_bot and response.json()["checks"]["database"]["status"] == "up"
                ):
                    return
                last = response.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(1)
        raise StackError(f"not healthy after {timeout:.0f}s: {last}")

    def stop(self) -> None:
        """Stop every process, the portal first so no new turn reaches the bot."""
        for process in reversed(self.processes):
            process.stop()


def prepare(settings: Settings, *, demo: str = "full") -> None:
    """Migrate the database and load the demo data once ("full", or "minimal": staff only)."""
    from portal.database import Database
    from portal.demo.seed import seed
    from portal.migrate import upgrade

    upgrade(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    with db.session() as session:
        if seed(session, size=demo):
            print("已载入演示数据 demo data loaded", flush=True)
    db.dispose()


def run_forever(settings: Settings, *, with_bot: bool = True) -> int:
    """`make run`: prepare, start, print where everything is, stop on Ctrl-C."""
    from portal.demo.seed import DEMO_STAFF

    prepare(settings)
    model = ensure_model(settings) if with_bot else None
    stack = Stack(settings, model=model, with_bot=with_bot)
    stopping = False

    def _stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print("starting portal, Rasa and the action server …", flush=True)
    stack.start()
    try:
        stack.wait_healthy()
        url = stack.portal_url
        print(
            "\n售后服务平台已启动 / After-sales platform is up\n"
            f"  客户演示页 Demo page with chat widget: {url}/\n"
            f"  工单列表 Ticket list (staff):           {url}/tickets\n"
            f"  API docs:                               {url}/docs  ({url}/openapi.json)\n"
            f"  健康检查 Health:                         {url}/healthz\n"
            f"  Rasa server:                            {settings.rasa_url}\n"
            f"  Action server:                          {settings.action_server_url}\n"
            "  Workers: SLA scheduler, notification outbox (logs below)\n"
            f"  日志 Logs:                               {settings.var_dir / 'logs'}\n"
            "  演示账号 Demo logins: "
            + ", ".join(f"{u} / {p} ({r})" for u, p, _n, r in DEMO_STAFF)
            + "\n按 Ctrl-C 停止 / Press Ctrl-C to stop.",
            flush=True,
        )
        while not stopping:
            for process in stack.processes:
                code = process.exited()
                if code is not None:
                    print(f"{process.name} exited with {code}:\n{process.log_tail()}", flush=True)
                    return 1
            time.sleep(0.5)
        return 0
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("stopping …", flush=True)
        stack.stop()
