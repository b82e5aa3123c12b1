"""Settings: the only place that reads the environment (and an optional `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

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


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
