"""Secrets and personal data out of the logs: a filter on every handler that masks phone
numbers (138****8000), one-time codes, tokens, widget visitor ids and WeChat openids in each
record's message, its exception text and the access log's path, and drops query strings from
access lines. Log shippers and whoever reads the files see the masked text only.

Masking is by shape (a mainland mobile number, an openid, a `token=` pair ...) and by value:
the configured secrets are replaced wherever they appear, whatever surrounds them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "****"

# A mainland mobile number, also written 138-1234-5678 or 138 1234 5678; not part of a longer
# number (order numbers, timestamps).
PHONE = re.compile(r"(?<![\d])(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![\d])")
# WeChat openids: "o" and 27 base64url characters.
OPENID = re.compile(r"(?<![A-Za-z0-9_-])(o[A-Za-z0-9_-]{3})[A-Za-z0-9_-]{24}(?![A-Za-z0-9_-])")
# The widget's visitor ids: "v" and 32 hex digits (widget.js randomId).
VISITOR = re.compile(r"(?<![A-Za-z0-9_-])(v[0-9a-f]{3})[0-9a-f]{29}(?![A-Za-z0-9_-])")
# `name=value`, `name: value` and JSON `"name": "value"` of anything secret or identifying.
SECRET_NAMES = (
    r"access_token|refresh_token|auth_token|token|secret|app_?secret|password|passwd|api_?key"
    r"|signature|msg_signature|sign|code|otp|openid|visitor_id|x-csrf-token|csrf_token"
)
PAIR = re.compile(
    rf"""(?P<name>(?<![A-Za-z0-9_])(?:{SECRET_NAMES}))(?P<sep>["']?\s*[=:]\s*["']?)"""
    r"""(?P<value>[^\s"'&,;)}\]]+)""",
    re.IGNORECASE,
)
# Authorization headers and bearer tokens, wherever they are printed.
BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
# One-time codes said in words: 验证码 123456, one-time code 123456, code for 138****8000 is
# 123456 (phones are masked first, so a masked one may stand between the word and the code).
CODE_WORDS = re.compile(
    r"(?i)(验证码|校验码|(?<![A-Za-z_])(?:one-time code|verification code|code))"
    r"((?:\D|\d{3}\*{4}\d{4}){0,30}?)(?<!\d)(\d{4,8})(?!\d)"
)


def mask_phone(phone: str) -> str:
    """138****8000 for 13800138000; other strings unchanged."""
    return PHONE.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", phone)


class Masker:
    """Masks one text: by shape, and the configured secret values wherever they appear."""

    def __init__(self, secrets: Iterable[str] = (), *, reveal_codes: bool = False) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)
        # Demo mode logs one-time codes on purpose (nothing is sent); everything else stays.
        self.reveal_codes = reveal_codes

    def _pair(self, match: re.Match[str]) -> str:
        name = match.group("name")
        if self.reveal_codes and name.lower() in ("code", "otp"):
            return match.group(0)
        return f"{name}{match.group('sep')}{MASK}"

    def __call__(self, text: str) -> str:
        """The text with every secret and identifier masked."""
        if not text:
            return text
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
        text = PAIR.sub(self._pair, text)
        text = PHONE.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
        if not self.reveal_codes:
            text = CODE_WORDS.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
        text = OPENID.sub(lambda m: f"{m.group(1)}{MASK}", text)
        return VISITOR.sub(lambda m: f"{m.group(1)}{MASK}", text)


def without_query(path: str) -> str:
    """A request target without its query string."""
    return path.split("?", 1)[0]


class MaskingFilter(logging.Filter):
    """Masks each record before any handler formats it; never drops a record."""

    def __init__(self, masker: Masker) -> None:
        super().__init__()
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message (and path, exception) in masked form."""
        if getattr(record, "_masked_by", None) is self.masker:
            return True  # several of our handlers see the same record
        args = record.args
        # uvicorn's access line: (client, method, full path, http version, status).
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            record.args = (args[0], args[1], without_query(str(args[2])), args[3], args[4])
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken format string: mask what is there
            message = str(record.msg)
        record.msg = self.masker(message)
        record.args = None
        path = getattr(record, "path", None)
        if isinstance(path, str):
            record.path = self.masker(without_query(path))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.masker(record.exc_text)
        if record.stack_info:
            record.stack_info = self.masker(record.stack_info)
        record._masked_by = self.masker
        return True
