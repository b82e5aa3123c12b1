"""Settings: the only place that reads the environment (and an optional `.env`)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


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
    demo_mode: bool = Field(
        default=True, description="Log one-time codes instead of only sending them (demo)."
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
    wechat_template_id: str = Field(
        default="", description="Template message id for ticket status updates."
    )
    sms_url: str = Field(
        default="", description="SMS provider endpoint (JSON POST); empty: only logged (demo mode)."
    )
    sms_api_key: str = Field(default="", description="Bearer key for the SMS provider.")

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
    kb_reload_s: float = Field(
        default=2.0, ge=0, description="Poll the FAQ files for changes this often; 0: never."
    )
    kb_answer_threshold: float = Field(
        default=0.0, ge=0, le=1, description="Answer directly from this score; 0: calibrated."
    )
    kb_suggest_threshold: float = Field(
        default=0.0, ge=0, le=1, description="Suggest from this score; 0: calibrated."
    )

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the SQLite file under var/."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'portal.db'}"

    def as_env(self) -> dict[str, str]:
        """These settings as environment variables, for child processes."""
        return {name.upper(): str(value) for name, value in self.model_dump().items()}

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
