"""Starts the whole product (portal, Rasa server, action server, the SLA scheduler and the
notification outbox worker), waits until it is healthy, and stops it cleanly. Used by
`make run` and by the end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from portal import wiring
from portal.config import ROOT, Settings
from portal.conversations.rasa import rasa_auth_headers
from portal.demo.seed import DEMO_STAFF, seed
from portal.i18n import both
from portal.migrate import upgrade

MODEL_SCRIPT = ROOT / "scripts" / "bot_model.py"
# Starts `rasa run` with RASA_TOKEN from the environment, so no secret is in `ps`.
RASA_LAUNCHER = ROOT / "scripts" / "rasa_run.py"
# The portal's own secrets, which the bot's processes have no use for.
PORTAL_ONLY_ENV = (
    "SECRET_KEY",
    "DATABASE_URL",
    "WECHAT_APP_SECRET",
    "WECHAT_TOKEN",
    "WECHAT_AES_KEY",
    "SMS_API_KEY",
    "METRICS_TOKEN",
)


def rasa_command(settings: Settings) -> list[str]:
    """`rasa run` through the launcher; the token travels in the environment (RASA_TOKEN)."""
    return [str(settings.bot_env / "bin" / "python"), str(RASA_LAUNCHER)]


def bot_environment(env: dict[str, str]) -> dict[str, str]:
    """The environment for Rasa and the action server: without the portal's own secrets."""
    return {k: v for k, v in env.items() if k not in PORTAL_ONLY_ENV}


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

    def terminate(self) -> None:
        """SIGTERM the whole group, without waiting."""
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)

    def wait_stopped(self, timeout: float = 15.0) -> None:
        """Wait for it to exit after `terminate`; SIGKILL the group when it will not."""
        if self.popen is None:
            return
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the whole group, then SIGKILL what is left."""
        self.terminate()
        self.wait_stopped(timeout)


def stop_together(processes: list[Process], timeout: float = 15.0) -> None:
    """Stop several processes at once: each gets SIGTERM, then they share one deadline."""
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        process.wait_stopped(max(0.0, deadline - time.monotonic()))


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
                **bot_environment(env),
                "PORTAL_URL": portal_url,
                "PORTAL_SERVICE_TOKEN": settings.bot_service_token,
                "ACTION_SERVER_HOST": a_host,
                "ACTION_SERVER_URL": f"{settings.action_server_url.rstrip('/')}/webhook",
                # endpoints.yml reads these; Rasa resolves a relative path from bot/.
                "TRACKER_STORE_DIALECT": "sqlite",
                "TRACKER_STORE_DB": str(Path(settings.var_dir).resolve() / "rasa_tracker.db"),
                "RASA_TELEMETRY_ENABLED": "false",
            }
            self.processes.append(
                Process(
                    "actions",
                    # Our server, not `rasa run actions`: it checks ACTION_SERVER_SECRET.
                    [
                        str(bot_bin / "python"),
                        "-m",
                        "actions.server",
                        "--host",
                        a_host,
                        "--port",
                        str(a_port),
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
                        *rasa_command(settings),
                        "--enable-api",
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
                    # Ours (portal.access) logs each request without its query string.
                    "--no-access-log",
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
        """Stop every process: what takes traffic (the proxy, the portal) first, so no new
        turn reaches the bot, then all the others together."""

        def front(p: Process) -> bool:
            return p.name == "nginx" or p.name.startswith("portal")

        stop_together([p for p in self.processes if front(p)])
        stop_together([p for p in reversed(self.processes) if not front(p)])


def prepare(settings: Settings, *, demo: str = "full") -> None:
    """Migrate the database and, in demo mode only, load the demo data once ("full", or
    "minimal": staff only). Outside demo mode nothing is seeded: no demo logins, ever."""
    upgrade(settings.effective_database_url)
    if not settings.demo_mode:
        print(" / ".join(both("config.no_seed")), flush=True)
        return
    # Wired like the app: the demo's history reaches the lifecycle's subscribers.
    db = wiring.database(settings)
    with db.session() as session:
        if seed(session, size=demo):
            print("已载入演示数据 demo data loaded", flush=True)
    db.dispose()


def _logins_line(settings: Settings) -> str:
    """The demo logins (demo mode only), else how to make the first account."""
    if not settings.demo_mode:
        return "  " + " / ".join(both("config.no_seed"))
    return "  演示模式 DEMO MODE. 演示账号 Demo logins: " + ", ".join(
        f"{u} / {p} ({r})" for u, p, _n, r in DEMO_STAFF
    )


def run_forever(settings: Settings, *, with_bot: bool = True) -> int:
    """`make run`: prepare, start, print where everything is, stop on Ctrl-C."""
    prepare(settings)
    model = ensure_model(settings) if with_bot else None
    stack = Stack(settings, model=model, with_bot=with_bot)
    url = stack.portal_url
    banner = (
        "\n售后服务平台已启动 / After-sales platform is up\n"
        f"  客户演示页 Demo page with chat widget: {url}/\n"
        f"  工单列表 Ticket list (staff):           {url}/tickets\n"
        f"  API docs:                               {url}/docs  ({url}/openapi.json)\n"
        f"  健康检查 Health:                         {url}/healthz\n"
        f"  Rasa server:                            {settings.rasa_url}\n"
        f"  Action server:                          {settings.action_server_url}\n"
        "  Workers: SLA scheduler, notification outbox (logs below)\n"
        f"  日志 Logs:                               {settings.var_dir / 'logs'}\n"
        + _logins_line(settings)
        + "\n按 Ctrl-C 停止 / Press Ctrl-C to stop."
    )
    return serve(stack, starting="starting portal, Rasa and the action server …", banner=banner)


def serve(stack: Stack, *, starting: str, banner: str, timeout: float = 300.0) -> int:
    """Start `stack`, print `banner` once it is healthy, and run until Ctrl-C or until a
    process exits (then 1); the processes are stopped in every case."""
    stopping = False

    def _stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(starting, flush=True)
    stack.start()
    try:
        stack.wait_healthy(timeout=timeout)
        print(banner, flush=True)
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


# ---------------------------------------------------------------- the scaled topology

NGINX = Path("/usr/sbin/nginx")

NGINX_CONF = """\
# Written by `python -m portal run --scaled`; docs/deploy.md explains each part.
worker_processes 1;
pid {var}/nginx.pid;
error_log {var}/logs/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    # One request id from the proxy to the worker's log lines: the client's X-Request-ID,
    # else nginx's own. The access log shows it with the worker that answered and how long
    # the worker and the whole request took.
    map $http_x_request_id $req_id {{ default $http_x_request_id; '' $request_id; }}
    # "$request_method $uri", not "$request": the query string (the widget's visitor id,
    # WeChat's openid and signature) stays out of the log.
    log_format timed '$remote_addr [$time_local] "$request_method $uri $server_protocol" '
                     '$status $body_bytes_sent '
                     'req=$req_id upstream=$upstream_addr '
                     'upstream_s=$upstream_response_time request_s=$request_time';
    access_log {var}/logs/nginx-access.log timed;
    client_body_temp_path {var}/nginx-tmp/body;
    proxy_temp_path {var}/nginx-tmp/proxy;
    fastcgi_temp_path {var}/nginx-tmp/fastcgi;
    uwsgi_temp_path {var}/nginx-tmp/uwsgi;
    scgi_temp_path {var}/nginx-tmp/scgi;
    client_max_body_size 12m;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream portal {{
{portal_servers}
    }}
    upstream rasa {{
{rasa_servers}
    }}
    server {{
        listen {host}:{port};
        location / {{
            proxy_pass http://portal;
            proxy_http_version 1.1;
            # WebSockets (widget, agent console) need the upgrade headers passed on and a
            # read timeout longer than the clients' ping interval.
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-ID $req_id;
            proxy_read_timeout 120s;
            # A dead worker's connection is refused: try the next one (never for a POST
            # that reached a worker, so nothing is stored twice).
            proxy_next_upstream error timeout;
        }}
    }}
    server {{
        listen {rasa_host}:{rasa_port};
        location / {{
            proxy_pass http://rasa;
            proxy_http_version 1.1;
            proxy_read_timeout 60s;
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""

ENDPOINTS = """\
# Written by `python -m portal run --scaled`: every Rasa server shares the trackers
# (SQL on PostgreSQL) and the per-conversation locks (Redis), so any server can answer
# any conversation.
action_endpoint:
  url: {action_url}
  headers:
    X-Action-Secret: ${{ACTION_SERVER_SECRET}}
tracker_store:
  type: SQL
  dialect: postgresql
  url: {pg_host}
  port: {pg_port}
  db: {pg_db}
  username: {pg_user}
{pg_password}lock_store:
  type: redis
  url: {redis_host}
  port: {redis_port}
  db: {redis_db}
  key_prefix: {redis_prefix}
"""


@dataclass(frozen=True)
class Topology:
    """How many of each, and where: N portal workers, M Rasa servers, behind nginx."""

    workers: int = 2
    rasa_servers: int = 2
    first_port: int = 8100  # workers take first_port.., Rasa servers first_port+50..
    database: str = "aftersales_scaled"


def rasa_lock_prefix(redis_prefix: str) -> str:
    """The Rasa lock store's key prefix for our Redis prefix: Rasa ignores a prefix that is not
    purely alphanumeric (falling back to one shared `lock:`), so everything else is dropped."""
    return re.sub(r"[^0-9A-Za-z]", "", redis_prefix) + "rasa"


def ensure_database(admin_url: str, name: str) -> str:
    """Create the PostgreSQL database `name` when missing; returns its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


class ScaledStack(Stack):
    """The production topology on one machine: nginx in front of N portal workers and M Rasa
    servers, one action server, the scheduler and outbox workers, PostgreSQL and Redis."""

    def __init__(self, settings: Settings, *, model: Path, topology: Topology) -> None:
        from sqlalchemy.engine import make_url

        if not settings.redis_url or not settings.database_url.startswith("postgresql"):
            raise StackError("the scaled topology needs DATABASE_URL (PostgreSQL) and REDIS_URL")
        if not NGINX.exists():
            raise StackError(f"nginx is missing at {NGINX}: apt-get install nginx-light")
        self.settings = settings
        self.topology = topology
        self.with_bot = True
        self.processes = []
        var = Path(settings.var_dir).resolve() / "scaled"
        logs = var / "logs"
        metrics = var / "metrics"
        for folder in (logs, var / "nginx-tmp", metrics):
            folder.mkdir(parents=True, exist_ok=True)
        for stale in metrics.glob("*.db"):
            stale.unlink()  # Prometheus multiprocess files of a previous run
        env = {
            **os.environ,
            **settings.as_env(),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        }
        self.worker_urls = [
            f"http://127.0.0.1:{topology.first_port + i}" for i in range(topology.workers)
        ]
        self.rasa_urls = [
            f"http://127.0.0.1:{topology.first_port + 50 + i}" for i in range(topology.rasa_servers)
        ]
        r_host, r_port = _host_port(settings.rasa_url)
        a_host, a_port = _host_port(settings.action_server_url)
        pg = make_url(settings.database_url)
        rasa_db = pg.set(database=f"{pg.database}_rasa")
        redis = urlsplit(settings.redis_url)
        endpoints = var / "endpoints.yml"
        endpoints.write_text(
            ENDPOINTS.format(
                action_url=f"{settings.action_server_url.rstrip('/')}/webhook",
                pg_host=pg.host or "127.0.0.1",
                pg_port=pg.port or 5432,
                pg_db=rasa_db.database,
                pg_user=pg.username or "postgres",
                pg_password=f"  password: {pg.password}\n" if pg.password else "",
                redis_host=redis.hostname or "127.0.0.1",
                redis_port=redis.port or 6379,
                redis_db=(redis.path or "/0").strip("/") or "0",
                redis_prefix=rasa_lock_prefix(settings.redis_prefix),
            )
        )
        (var / "nginx.conf").write_text(
            NGINX_CONF.format(
                var=var,
                host=settings.portal_host,
                port=settings.portal_port,
                rasa_host=r_host,
                rasa_port=r_port,
                portal_servers="\n".join(
                    f"        server {u.removeprefix('http://')} max_fails=1 fail_timeout=5s;"
                    for u in self.worker_urls
                ),
                rasa_servers="\n".join(
                    f"        server {u.removeprefix('http://')} max_fails=1 fail_timeout=5s;"
                    for u in self.rasa_urls
                ),
            )
        )
        bot_bin = settings.bot_env / "bin"
        bot_env = {
            **bot_environment(env),
            "PORTAL_URL": self.portal_url,
            "PORTAL_SERVICE_TOKEN": settings.bot_service_token,
            "ACTION_SERVER_HOST": a_host,
            "RASA_TELEMETRY_ENABLED": "false",
        }
        self.processes.append(
            Process(
                "nginx",
                [str(NGINX), "-p", str(var), "-c", str(var / "nginx.conf"), "-g", "daemon off;"],
                var,
                env,
                logs / "nginx.log",
            )
        )
        self.processes.append(
            Process(
                "actions",
                # Our server, not `rasa run actions`: it checks ACTION_SERVER_SECRET.
                [str(bot_bin / "python"), "-m", "actions.server", "--host", a_host]
                + ["--port", str(a_port)],
                settings.bot_dir,
                bot_env,
                logs / "actions.log",
            )
        )
        for i, url in enumerate(self.rasa_urls):
            host, port = _host_port(url)
            self.processes.append(
                Process(
                    f"rasa-{i + 1}",
                    [*rasa_command(settings), "--enable-api", "-i", host, "-p", str(port)]
                    + ["--model", str(model)]
                    + ["--endpoints", str(endpoints), "--credentials", "credentials.yml"],
                    settings.bot_dir,
                    bot_env,
                    logs / f"rasa-{i + 1}.log",
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
        for i, url in enumerate(self.worker_urls):
            host, port = _host_port(url)
            self.processes.append(
                Process(
                    f"portal-{i + 1}",
                    [sys.executable, "-m", "uvicorn", "portal.main:create_app", "--factory"]
                    + ["--host", host, "--port", str(port), "--no-access-log"],
                    ROOT,
                    env,
                    logs / f"portal-{i + 1}.log",
                )
            )
        self.logs = logs

    def wait_healthy(self, timeout: float = 300.0) -> None:
        """Block until every worker and Rasa server answers, and the proxy says healthy."""
        deadline = time.monotonic() + timeout
        pending = {
            **{f"{u}/healthz": "portal" for u in self.worker_urls},
            **{f"{u}/status": "rasa" for u in self.rasa_urls},
            f"{self.portal_url}/healthz": "proxy",
        }
        last = "no answer yet"
        while time.monotonic() < deadline:
            for process in self.processes:
                code = process.exited()
                if code is not None:
                    raise StackError(
                        f"{process.name} exited with {code}; its log "
                        f"({process.log_path}):\n{process.log_tail()}"
                    )
            for url in list(pending):
                # Rasa's /status wants its token: a JWT in the header, never in the URL.
                headers = (
                    rasa_auth_headers(self.settings.rasa_token) if pending[url] == "rasa" else {}
                )
                try:
                    response = httpx.get(url, timeout=5, headers=headers)
                except httpx.HTTPError as exc:
                    last = f"{url}: {exc!r}"
                    continue
                if response.status_code == 200:
                    del pending[url]
                else:
                    last = f"{url}: {response.status_code} {response.text[:200]}"
            if not pending:
                return
            time.sleep(1)
        raise StackError(f"not healthy after {timeout:.0f}s: {last}")


def scaled_settings(settings: Settings, topology: Topology) -> Settings:
    """The settings for the scaled topology: its own PostgreSQL database, Redis on."""
    admin = settings.database_url or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    if not admin.startswith("postgresql"):
        admin = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    url = ensure_database(admin, topology.database)
    ensure_database(admin, f"{topology.database}_rasa")
    return settings.model_copy(
        update={
            "database_url": url,
            "redis_url": settings.redis_url or "redis://127.0.0.1:6379/0",
        }
    )


def run_scaled(settings: Settings, topology: Topology) -> int:
    """`make run-scaled`: the production topology on this machine, until Ctrl-C."""
    try:
        settings = scaled_settings(settings, topology)
    except Exception as exc:  # PostgreSQL not there: say so plainly
        print(f"error: PostgreSQL is not reachable: {exc}", file=sys.stderr, flush=True)
        return 1
    prepare(settings)
    model = ensure_model(settings)
    try:
        stack = ScaledStack(settings, model=model, topology=topology)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    url = stack.portal_url
    banner = (
        "\n售后服务平台（多进程）已启动 / After-sales platform (scaled) is up\n"
        f"  入口 Entry (nginx):           {url}/   (agent console {url}/console)\n"
        f"  门户进程 Portal workers:       {', '.join(stack.worker_urls)}\n"
        f"  Rasa (nginx → servers):       {settings.rasa_url} → {', '.join(stack.rasa_urls)}\n"
        f"  Action server:                {settings.action_server_url}\n"
        f"  PostgreSQL:                   {settings.database_url} (+ _rasa trackers)\n"
        f"  Redis:                        {settings.redis_url}\n"
        f"  指标 Metrics / health:         {url}/metrics, {url}/readyz, {url}/healthz\n"
        f"  日志 Logs:                     {stack.logs}\n"
        + _logins_line(settings)
        + "\n按 Ctrl-C 停止 / Press Ctrl-C to stop."
    )
    starting = (
        f"starting nginx, {topology.workers} portal workers, {topology.rasa_servers} Rasa "
        "servers, the action server and the workers …"
    )
    return serve(stack, starting=starting, banner=banner, timeout=600)
