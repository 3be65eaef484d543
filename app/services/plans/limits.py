"""The owner's own guardrail limits (Settings → Coach → Guardrails) and whether an adaptation
that only makes training easier is approved by itself.

Each editable limit has its default from :class:`app.coach.guardrails.GuardrailLimits` (whose
rules cite their sources), a range it must stay in and how the page shows it (a percentage is
shown as one). Only values that differ from the default are stored, so a later release's
better default reaches owners who never changed it. Every plan check, adaptation and the daily
coach's safety rules read the same limits (:func:`load_limits`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.coach.guardrails import GuardrailLimits
from app.i18n import _
from app.models import CoachSettings

DEFAULTS = GuardrailLimits()


@dataclass(frozen=True)
class Editable:
    name: str
    label: Callable[[], str]
    low: float
    high: float
    percent: bool = False
    integer: bool = False


EDITABLE: tuple[Editable, ...] = (
    Editable("ramp_at_low_ctl", lambda: _("Weekly CTL rise at CTL 45 or below"), 1, 15),
    Editable("ramp_at_high_ctl", lambda: _("Weekly CTL rise at CTL 70 or above"), 1, 15),
    Editable(
        "spike_ratio",
        lambda: _("Longest run, against the longest of the 30 days before"),
        1.0,
        1.5,
        percent=True,
    ),
    Editable("max_hard_days_in_row", lambda: _("Hard days in a row, at most"), 1, 4, integer=True),
    Editable(
        "max_loading_weeks",
        lambda: _("Loading weeks before a recovery week, at most"),
        2,
        6,
        integer=True,
    ),
    Editable(
        "easy_share_target", lambda: _("Easy share of training time"), 0.5, 0.95, percent=True
    ),
    Editable(
        "readiness_min", lambda: _("Readiness below which a hard session becomes easy"), 0, 100
    ),
)
_BY_NAME = {e.name: e for e in EDITABLE}


@dataclass(frozen=True)
class LimitRow:
    name: str
    label: str
    value: float
    default: float
    low: float
    high: float
    percent: bool
    integer: bool

    @property
    def shown(self) -> float:
        return round(self.value * 100) if self.percent else self.value

    @property
    def shown_default(self) -> float:
        return round(self.default * 100) if self.percent else self.default

    @property
    def shown_low(self) -> float:
        return round(self.low * 100) if self.percent else self.low

    @property
    def shown_high(self) -> float:
        return round(self.high * 100) if self.percent else self.high


@dataclass(frozen=True)
class GuardrailSettings:
    rows: list[LimitRow]
    auto_approve_easier: bool
    errors: Mapping[str, str]


def _row(session: Session) -> CoachSettings | None:
    return session.get(CoachSettings, 1)


def _valid(stored: Mapping[str, Any]) -> dict[str, float]:
    kept = {}
    for name, value in stored.items():
        editable = _BY_NAME.get(name)
        usable = editable is not None and isinstance(value, int | float)
        if usable and editable.low <= value <= editable.high:
            kept[name] = int(value) if editable.integer else float(value)
    return kept


def load_limits(session: Session) -> GuardrailLimits:
    """The guardrail limits in force: the defaults with the owner's changes."""
    row = _row(session)
    if row is None or not row.guardrails:
        return DEFAULTS
    return replace(DEFAULTS, **_valid(row.guardrails))


def auto_approve_easier(session: Session) -> bool:
    row = _row(session)
    return bool(row is not None and row.auto_approve_easier)


def guardrail_settings(
    session: Session, errors: Mapping[str, str] | None = None
) -> GuardrailSettings:
    limits = load_limits(session)
    rows = [
        LimitRow(
            e.name,
            e.label(),
            float(getattr(limits, e.name)),
            float(getattr(DEFAULTS, e.name)),
            e.low,
            e.high,
            e.percent,
            e.integer,
        )
        for e in EDITABLE
    ]
    return GuardrailSettings(rows, auto_approve_easier(session), dict(errors or {}))


def save(
    sessions: sessionmaker[Session], form: Mapping[str, str], *, auto_approve: bool
) -> dict[str, str]:
    """Store the owner's limits from the page's form (percentages as shown); returns the
    problems by field (nothing is stored when there is one)."""
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    for e in EDITABLE:
        text = (form.get(e.name) or "").strip().replace(",", ".")
        if not text:
            continue
        try:
            number = float(text)
        except ValueError:
            errors[e.name] = _("Enter a number.")
            continue
        value = number / 100 if e.percent else number
        if not (e.low <= value <= e.high) or (e.integer and number != int(number)):
            low, high = (e.low * 100, e.high * 100) if e.percent else (e.low, e.high)
            errors[e.name] = _("Between %(low)s and %(high)s.", low=f"{low:g}", high=f"{high:g}")
            continue
        if value != getattr(DEFAULTS, e.name):
            values[e.name] = int(value) if e.integer else value
    if errors:
        return errors
    with sessions.begin() as session:
        row = _row(session)
        if row is None:
            row = CoachSettings(id=1, prices={}, withheld=[])
            session.add(row)
        row.guardrails = values
        row.auto_approve_easier = auto_approve
    return {}
