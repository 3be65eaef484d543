"""The audit of the language model: every request recorded in ``llm_call`` (what the adapter's
``LlmAttempt`` says, plus the call's id, prompt version and cost), the ``/metrics`` counters,
the month's usage (the budget's measure, in the owner's time zone), the last call of each
purpose, and the daily purge of the texts past the audit retention.

The texts kept are the adapter's (credentials removed, the key scrubbed) passed once more
through the log redaction (``app.security.redaction.redact``: every registered secret, and
``api_key=…``-shaped values), so a secret that reached a prompt by accident is not stored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from prometheus_client import Counter
from sqlalchemy import distinct, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.models import LlmCall
from app.security.redaction import redact
from app.services.coach.config import Price, load_config
from app.sources.llm import LlmAttempt

log = logging.getLogger(__name__)

LLM_CALLS = Counter(
    "domestique_llm_calls_total",
    "Requests sent to the language model (a re-ask or a retry is another), by result; "
    "refused: stopped by the monthly budget before any request",
    ["purpose", "status"],
)
LLM_TOKENS = Counter(
    "domestique_llm_tokens_total", "Tokens of the language model's requests", ["purpose", "kind"]
)
REFUSED = "refused"


def _text(value: str | None) -> str | None:
    return None if value is None else redact(value)


def record_attempts(
    session: Session,
    attempts: Iterable[LlmAttempt],
    *,
    call_id: str,
    created_at: datetime,
    prompt_version: str | None,
    prices: Mapping[str, Price],
) -> list[LlmCall]:
    """One row per HTTP request of a call, and the counters."""
    rows = []
    for attempt in attempts:
        price = prices.get(attempt.model)
        has_tokens = attempt.prompt_tokens is not None or attempt.completion_tokens is not None
        cost = (
            price.cost(attempt.prompt_tokens, attempt.completion_tokens)
            if price is not None and has_tokens
            else None
        )
        row = LlmCall(
            call_id=call_id,
            created_at=created_at,
            purpose=attempt.purpose[:40],
            kind=attempt.kind,
            model=attempt.model,
            prompt_version=prompt_version,
            attempt=attempt.number,
            status=attempt.status,
            error_code=attempt.error_code,
            http_status=attempt.http_status,
            prompt_tokens=attempt.prompt_tokens,
            completion_tokens=attempt.completion_tokens,
            latency_ms=attempt.latency_ms,
            cost_usd=cost,
            prompt_sha256=attempt.prompt_sha256,
            temperature=attempt.temperature,
            finish_reason=attempt.finish_reason,
            wait_s=attempt.wait_s,
            request=_text(attempt.request),
            response=_text(attempt.response),
            detail=_text(attempt.detail),
        )
        session.add(row)
        rows.append(row)
        LLM_CALLS.labels(attempt.purpose, attempt.status).inc()
        if attempt.prompt_tokens:
            LLM_TOKENS.labels(attempt.purpose, "prompt").inc(attempt.prompt_tokens)
        if attempt.completion_tokens:
            LLM_TOKENS.labels(attempt.purpose, "completion").inc(attempt.completion_tokens)
    return rows


def record_refusal(
    session: Session,
    *,
    call_id: str,
    created_at: datetime,
    purpose: str,
    model: str,
    prompt_version: str | None,
    code: str,
    detail: str,
) -> None:
    """A call the budget stopped before any request: kept so the audit shows it."""
    session.add(
        LlmCall(
            call_id=call_id,
            created_at=created_at,
            purpose=purpose[:40],
            kind="chat",
            model=model,
            prompt_version=prompt_version,
            attempt=0,
            status=REFUSED,
            error_code=code,
            detail=detail,
        )
    )
    LLM_CALLS.labels(purpose, REFUSED).inc()


# --- the month -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Month:
    """A calendar month in the owner's time zone: its first day, the UTC instants it starts and
    ends, and the first day of the next one (when a used-up budget is new again)."""

    first_day: date
    starts_at: datetime
    ends_at: datetime

    @property
    def next_first_day(self) -> date:
        return _next_month(self.first_day)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_of(now: datetime, timezone: str) -> Month:
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    first = local.date().replace(day=1)
    following = _next_month(first)
    return Month(
        first,
        datetime.combine(first, time(), tzinfo=zone).astimezone(UTC),
        datetime.combine(following, time(), tzinfo=zone).astimezone(UTC),
    )


@dataclass(frozen=True, slots=True)
class PurposeUsage:
    purpose: str
    calls: int  # calls made (a call's re-asks and retries are one)
    requests: int  # HTTP requests sent
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # of the requests whose model had a price
    unpriced_requests: int  # requests with tokens but no price for their model
    refused: int  # calls the budget stopped

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Usage:
    month: Month
    purposes: list[PurposeUsage] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return sum(p.tokens for p in self.purposes)

    @property
    def prompt_tokens(self) -> int:
        return sum(p.prompt_tokens for p in self.purposes)

    @property
    def completion_tokens(self) -> int:
        return sum(p.completion_tokens for p in self.purposes)

    @property
    def calls(self) -> int:
        return sum(p.calls for p in self.purposes)

    @property
    def requests(self) -> int:
        return sum(p.requests for p in self.purposes)

    @property
    def refused(self) -> int:
        return sum(p.refused for p in self.purposes)

    @property
    def cost_usd(self) -> float | None:
        known = [p.cost_usd for p in self.purposes if p.cost_usd is not None]
        return sum(known) if known else None

    @property
    def unpriced_requests(self) -> int:
        return sum(p.unpriced_requests for p in self.purposes)


def usage(session: Session, month: Month) -> Usage:
    """Tokens, calls and cost of the month by purpose (one grouped query)."""
    sent = LlmCall.status != REFUSED
    rows = session.execute(
        select(
            LlmCall.purpose,
            func.count(distinct(LlmCall.call_id)).filter(sent),
            func.count().filter(sent),
            func.coalesce(func.sum(LlmCall.prompt_tokens), 0),
            func.coalesce(func.sum(LlmCall.completion_tokens), 0),
            func.sum(LlmCall.cost_usd),
            func.count()
            .filter(LlmCall.cost_usd.is_(None))
            .filter((LlmCall.prompt_tokens > 0) | (LlmCall.completion_tokens > 0)),
            func.count().filter(LlmCall.status == REFUSED),
        )
        .where(LlmCall.created_at >= month.starts_at, LlmCall.created_at < month.ends_at)
        .group_by(LlmCall.purpose)
        .order_by(LlmCall.purpose)
    ).all()
    return Usage(
        month,
        [
            PurposeUsage(
                purpose, calls, requests, int(prompt), int(completion), cost, unpriced, refused
            )
            for purpose, calls, requests, prompt, completion, cost, unpriced, refused in rows
        ],
    )


def month_totals(session: Session, month: Month) -> tuple[int, float]:
    """Tokens and known cost used in the month: what the budget is measured against."""
    tokens, cost = session.execute(
        select(
            func.coalesce(
                func.sum(
                    func.coalesce(LlmCall.prompt_tokens, 0)
                    + func.coalesce(LlmCall.completion_tokens, 0)
                ),
                0,
            ),
            func.coalesce(func.sum(LlmCall.cost_usd), 0.0),
        ).where(LlmCall.created_at >= month.starts_at, LlmCall.created_at < month.ends_at)
    ).one()
    return int(tokens), float(cost)


# --- reading back --------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedCall:
    """The requests of one call, in order."""

    call_id: str
    purpose: str
    created_at: datetime
    requests: list[LlmCall]

    @property
    def last(self) -> LlmCall:
        return self.requests[-1]


def last_calls(session: Session) -> list[RecordedCall]:
    """The most recent call of each purpose (its every request), newest first."""
    latest = (
        select(LlmCall.purpose, func.max(LlmCall.id).label("id"))
        .group_by(LlmCall.purpose)
        .subquery()
    )
    call_ids = select(LlmCall.call_id).join(latest, LlmCall.id == latest.c.id)
    rows = session.scalars(
        select(LlmCall).where(LlmCall.call_id.in_(call_ids)).order_by(LlmCall.id)
    ).all()
    calls: dict[str, RecordedCall] = {}
    for row in rows:
        call = calls.get(row.call_id)
        if call is None:
            call = calls[row.call_id] = RecordedCall(row.call_id, row.purpose, row.created_at, [])
        call.requests.append(row)
    return sorted(calls.values(), key=lambda c: (c.created_at, c.last.id), reverse=True)


# --- purge ---------------------------------------------------------------------------------


def purge(sessions: sessionmaker[Session], *, now: datetime, retention_days: int) -> int:
    """Empty the request, answer and detail texts of rows older than ``retention_days``; the
    figures stay (the monthly usage needs them). Returns the rows emptied."""
    cutoff = now - timedelta(days=retention_days)
    with sessions.begin() as session:
        result = session.execute(
            update(LlmCall)
            .where(LlmCall.created_at < cutoff, LlmCall.purged_at.is_(None))
            .values(request=None, response=None, detail=None, purged_at=now)
        )
    count = result.rowcount or 0
    if count:
        log.info("emptied the texts of %d LLM requests older than %d days", count, retention_days)
    return count


def purge_expired(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> int:
    """The daily job: :func:`purge` with the retention in force (Settings → Coach, else the
    environment, else 30 days)."""
    with sessions() as session:
        days = int(load_config(session, settings).retention_days.value)
    return purge(sessions, now=now or datetime.now(UTC), retention_days=days)
