"""Keeps secrets out of logs: every secret the process handles is registered here, and a
logging filter replaces each occurrence with ``***`` before any handler formats the record.

Two nets. Each secret *value* is registered where it is decrypted or received
(``register_secret``, or ``register_secrets_in`` for a token document: each token in it, not the
document whole, which never appears in a log as such). And values under a secret-looking *name*
are redacted even when nobody registered them: names ending in ``token``, containing ``secret``
or ``signature``, ``password``/``passwd``, ``api_key`` and ``authorization`` — as ``name=value``
(query strings, ``key=value`` lines), ``name: value`` (headers, YAML) and ``"name": "value"``
(JSON, Python reprs).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

_MIN_LENGTH = 6  # shorter values would redact ordinary words
_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

# A key name that holds a secret (matched whole, case-insensitively).
SECRET_NAME = re.compile(
    r"(?i)[\w.-]*(?:token|secret[\w.-]*|signature|password|passwd|api[_-]?key)|authorization"
)
# Values under such a name, even when nobody registered them.
_ASSIGNMENTS = re.compile(
    r"(?i)(?<![\w.-])([\w.-]*(?:token|secret[\w.-]*|signature|password|passwd|api[_-]?key)"
    r"|(?:proxy-)?authorization)"
    r"(['\"]?\s*[:=]\s*['\"]?)"
    r"((?:bearer|basic|oauth)\s+)?([^\s\"',;&}\]]+)"
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


def register_secrets_in(value: Any) -> None:
    """Register each secret in a credential: the values under secret names of a JSON document
    (or a mapping or list; also base64-wrapped JSON, garth's format), or a plain string whole."""
    document = _document(value) if isinstance(value, str) else value
    if document is None:
        register_secret(value)
        return
    if isinstance(value, str) and not value.lstrip().startswith(("{", "[")):
        register_secret(value)  # the base64 wrapping travels as it is (in headers, say)
    _walk(document)


def _walk(node: Any, secret: bool = False) -> None:
    if isinstance(node, Mapping):
        for key, item in node.items():
            _walk(item, secret or bool(SECRET_NAME.fullmatch(str(key))))
    elif isinstance(node, list | tuple):
        for item in node:
            _walk(item, secret)
    elif isinstance(node, str):
        nested = _document(node)
        if nested is not None:
            _walk(nested, secret)
        elif secret:
            register_secret(node)


def _document(text: str) -> Mapping[str, Any] | list[Any] | None:
    """``text`` as a JSON object or array (possibly base64-wrapped), else None."""
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        try:
            stripped = base64.b64decode(stripped, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict | list) else None


def redact(text: str) -> str:
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub("***", text)
    return _ASSIGNMENTS.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}***", text)


def redact_error(error: BaseException) -> str:
    """An exception's text fit for a log line or a stored error message."""
    return redact(str(error))


class RedactingFilter(logging.Filter):
    """Formats the message once, redacted; also redacts exception and stack text."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
