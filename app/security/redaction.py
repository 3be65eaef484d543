"""Keeps secrets out of logs: every secret the process handles is registered here, and a
logging filter replaces each occurrence with ``***`` before any handler formats the record."""

from __future__ import annotations

import logging
import re
import threading

_MIN_LENGTH = 6  # shorter values would redact ordinary words
_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
# Values that look like credentials even when nobody registered them.
_ASSIGNMENTS = re.compile(
    r"(?i)\b(password|passwd|secret|token|api[_-]?key|authorization)(\"?\s*[:=]\s*\"?)"
    r"(bearer\s+)?([^\s\"',;&]+)"
)


def register_secret(value: str | None) -> None:
    global _pattern
    if not value or len(value) < _MIN_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(item) for item in ordered))


def redact(text: str) -> str:
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub("***", text)
    return _ASSIGNMENTS.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}***", text)


class RedactingFilter(logging.Filter):
    """Formats the message once, redacted; also redacts exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        return True
