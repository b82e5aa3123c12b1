"""Log records with the request and conversation ids: human-readable lines by default,
JSON lines (one object per line, for a log shipper) with `LOG_FORMAT=json`."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

from portal.config import Settings
from portal.observability.context import conversation_id_var, request_id_var
from portal.observability.masking import Masker, MaskingFilter

# Our handler is marked so configuring again (one app per test) replaces it, not stacks it.
_MARK = "_portal_observability"
# uvicorn's loggers do not propagate to the root; in JSON mode they write through ours too.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class ContextFilter(logging.Filter):
    """Copies the current request and conversation ids onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always passes the record; only adds the ids."""
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        if not hasattr(record, "conversation_id"):
            record.conversation_id = conversation_id_var.get()
        return True


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [req=… conv=…]: message`, the ids only when there are some."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The line, with the ids in brackets."""
        ids = []
        request_id = getattr(record, "request_id", None)
        conversation_id = getattr(record, "conversation_id", None)
        if request_id:
            ids.append(f"req={request_id}")
        if conversation_id:
            ids.append(f"conv={conversation_id}")
        record.ids = f" [{' '.join(ids)}]" if ids else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, ids, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "conversation_id": getattr(record, "conversation_id", None),
        }
        for name in ("method", "path", "route", "status", "duration_ms"):
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def secret_values(settings: Settings) -> list[str]:
    """Every configured secret value, to be masked wherever a log line prints it."""
    values = [
        str(getattr(settings, name) or "")
        for name in type(settings).model_fields
        if name.endswith(("_secret", "_token", "_key"))
    ]
    for url in (settings.database_url, settings.redis_url):
        password = urlsplit(url).password if "://" in url else None
        if password:
            values.append(password)
    return [v for v in values if v]


def make_masker(settings: Settings) -> Masker:
    """The masker for these settings (demo mode keeps one-time codes readable in the log)."""
    return Masker(secret_values(settings), reveal_codes=settings.demo_mode)


def install_masking(masker: Masker) -> None:
    """Put the masking filter on every handler of the root and uvicorn loggers, ours or not."""
    for logger in (logging.getLogger(), *(logging.getLogger(n) for n in _UVICORN_LOGGERS)):
        for handler in logger.handlers:
            for old in [f for f in handler.filters if isinstance(f, MaskingFilter)]:
                handler.removeFilter(old)
            # First, so no other filter or formatter sees the unmasked record.
            handler.filters.insert(0, MaskingFilter(masker))


def make_handler(log_format: str, masker: Masker | None = None) -> logging.Handler:
    """A stderr handler with the masking and ids filters and the chosen format."""
    handler = logging.StreamHandler()
    handler.addFilter(MaskingFilter(masker or Masker()))
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    setattr(handler, _MARK, True)
    return handler


def _replace_ours(logger: logging.Logger, handler: logging.Handler | None) -> None:
    for old in [h for h in logger.handlers if getattr(h, _MARK, False)]:
        logger.removeHandler(old)
    if handler is not None:
        logger.addHandler(handler)


def configure_logging(settings: Settings) -> None:
    """Route the root logger through one handler of ours, in the configured format, and mask
    secrets and personal data on every handler."""
    masker = make_masker(settings)
    handler = make_handler(settings.log_format, masker)
    root = logging.getLogger()
    _replace_ours(root, handler)
    root.setLevel(settings.log_level.upper())
    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if settings.log_format == "json":
            # Only ours, so no plain-text line slips between the JSON ones.
            for other in [h for h in logger.handlers if not getattr(h, _MARK, False)]:
                logger.removeHandler(other)
            _replace_ours(logger, handler if not logger.propagate else None)
        else:
            _replace_ours(logger, None)
    install_masking(masker)
