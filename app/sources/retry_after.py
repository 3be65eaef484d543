"""The ``Retry-After`` header every service client reads on a 429 (RFC 9110 §10.2.3)."""

from __future__ import annotations

import email.utils
from datetime import UTC


def retry_after_s(value: str | None, now: float) -> float | None:
    """Seconds to wait per a ``Retry-After`` value — delay-seconds or an HTTP date, measured
    from ``now`` (Unix seconds) — never negative; None when absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
