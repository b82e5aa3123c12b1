"""Log records with the request and conversation ids: human-readable lines by default,
JSON lines (one object per line, for a log shipper) with `LOG_FORMAT=json`."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from portal.config import Settings
from portal.observability.context import conversation_id_var, request_id_var

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


def make_handler(log_format: str) -> logging.Handler:
    """A stderr handler with the ids filter and the chosen format."""
    handler = logging.StreamHandler()
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
    """Route the root logger through one handler of ours, in the configured format."""
    handler = make_handler(settings.log_format)
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
