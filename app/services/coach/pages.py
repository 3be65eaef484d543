"""The read models of Settings → Coach and *What the coach sees*, and the one service call
behind each of their forms (routes parse, call one of these, render)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.coach.context import GROUPS
from app.coach.llm_messages import purpose_label
from app.config import Settings
from app.i18n import _
from app.models import LlmCall
from app.security.keys import SecretBox
from app.services.coach import audit, config, library_page, llm
from app.services.coach.context import Snapshot, build_snapshot, strava_only_count


@dataclass(frozen=True)
class SettingsPage:
    config: config.LlmConfig
    usage: audit.Usage
    budget: llm.Budget
    form: config.SettingsForm | None = None  # what was typed, when it could not be saved
    error: str | None = None
    test: llm.ConnectionTest | None = None

    @property
    def typed(self) -> dict[str, Any]:
        """The inputs' values: what was typed, else what was entered here before."""
        if self.form is not None:
            return {
                "base_url": self.form.base_url,
                "model": self.form.model,
                "embedding_model": self.form.embedding_model,
                "timeout_s": self.form.timeout_s,
                "token_budget": self.form.token_budget,
                "cost_budget_usd": self.form.cost_budget_usd,
                "retention_days": self.form.retention_days,
                "language": self.form.language,
            }
        e = self.config.entered
        return {
            "base_url": e.get("base_url") or "",
            "model": e.get("model") or "",
            "embedding_model": e.get("embedding_model") or "",
            "timeout_s": _plain(e.get("timeout_s")),
            "token_budget": _plain(e.get("monthly_token_budget")),
            "cost_budget_usd": _plain(e.get("monthly_cost_budget_usd")),
            "retention_days": _plain(e.get("audit_retention_days")),
            "language": e.get("language") or "",
        }

    @property
    def price_rows(self) -> list[tuple[str, str, str]]:
        """The price table's rows, and one empty row to add a model."""
        if self.form is not None:
            rows = [row for row in self.form.prices if any(part.strip() for part in row)]
        else:
            rows = [
                (model, _plain(p.prompt_usd_per_m), _plain(p.completion_usd_per_m))
                for model, p in sorted(self.config.prices.items())
            ]
        return [*rows, ("", "", "")]

    @staticmethod
    def purpose_label(purpose: str) -> str:
        return purpose_label(purpose)

    @property
    def budget_used_pct(self) -> float | None:
        if not self.budget.token_budget:
            return None
        return 100.0 * self.budget.tokens_used / self.budget.token_budget


def _plain(value: Any) -> str:
    """A stored number as the input shows it (no thousands separators, no trailing .0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _now() -> datetime:
    return datetime.now(UTC)


def settings_page(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    form: config.SettingsForm | None = None,
    error: str | None = None,
    test: llm.ConnectionTest | None = None,
) -> SettingsPage:
    now = now or _now()
    with sessions() as session:
        current = config.load_config(session, settings)
        spent = llm.budget(session, current, now)
        used = audit.usage(session, spent.month)
    return SettingsPage(current, used, spent, form, error, test)


def _embedding_model(sessions: sessionmaker[Session], settings: Settings) -> str | None:
    with sessions() as session:
        current = config.load_config(session, settings)
    return current.embedding_model.value if current.configured else None


def save(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    form: config.SettingsForm,
    *,
    runner: library_page.ReembedRunner | None = None,
) -> SettingsPage | None:
    """Store the form; ``None`` when saved, else the page with the reason and what was typed.
    When the embedding model in force changes, the library is re-embedded in the background
    (``runner``)."""
    before = _embedding_model(sessions, settings)
    try:
        config.save_settings(sessions, box, form)
    except config.CoachSettingsError as error:
        return settings_page(sessions, settings, form=form, error=str(error))
    if runner is not None and _embedding_model(sessions, settings) not in (None, before):
        library_page.queue_reembed(sessions, settings, box, runner)
    return None


def save_and_test(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    form: config.SettingsForm,
    *,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
    runner: library_page.ReembedRunner | None = None,
) -> SettingsPage:
    """*Test connection*: what the form says is saved first, then tried."""
    refused = save(sessions, settings, box, form, runner=runner)
    if refused is not None:
        return refused
    result = llm.test_connection(sessions, settings, box, clock=clock)
    return settings_page(sessions, settings, now=clock.now(), test=result)


# --- What the coach sees -------------------------------------------------------------------


@dataclass(frozen=True)
class ShownRequest:
    """One recorded request as the page shows it: its figures and its texts pretty-printed."""

    row: LlmCall
    request: str | None
    response: str | None


@dataclass(frozen=True)
class ShownCall:
    purpose: str
    created_at: datetime
    requests: list[ShownRequest]


@dataclass(frozen=True)
class ContextPage:
    snapshot: Snapshot
    withheld: tuple[str, ...]
    groups: tuple[str, ...]
    calls: list[ShownCall] = field(default_factory=list)
    strava_only: int = 0
    configured: bool = False
    retention_days: int = 30

    @staticmethod
    def purpose_label(purpose: str) -> str:
        return purpose_label(purpose)

    @staticmethod
    def status_label(row: LlmCall) -> str:
        if row.status == "ok":
            return _("answered")
        if row.status == "refused":
            return _("refused by the budget")
        if row.status == "invalid":
            return _("answer rejected")
        return _("failed")


def _pretty(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=2)
    except ValueError:
        return text


def context_page(
    sessions: sessionmaker[Session], settings: Settings, *, today: date | None = None
) -> ContextPage:
    with sessions() as session:
        current = config.load_config(session, settings)
        snapshot = build_snapshot(session, today=today, withheld=current.withheld)
        calls = [
            ShownCall(
                call.purpose,
                call.created_at,
                [ShownRequest(r, _pretty(r.request), _pretty(r.response)) for r in call.requests],
            )
            for call in audit.last_calls(session)
        ]
        excluded = strava_only_count(session)
    return ContextPage(
        snapshot,
        current.withheld,
        GROUPS,
        calls,
        excluded,
        current.configured,
        int(current.retention_days.value),
    )


def save_withheld(sessions: sessionmaker[Session], groups: Sequence[str]) -> tuple[str, ...]:
    return config.save_withheld(sessions, groups)
