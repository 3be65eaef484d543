"""The owner's own guardrail limits (Settings → Coach → Guardrails) and whether an adaptation
that only makes training easier is approved by itself.

Every limit of :class:`app.coach.guardrails.GuardrailLimits` (whose rules cite their sources)
is editable — the taper's length once per event type — with its default, a range it must stay
in and how the page shows it (a fraction as a percentage, seconds as minutes, metres as km);
a few must stay in order (:data:`ORDERED_PAIRS`). Only values that differ from the default are
stored, so a later release's better default reaches owners who never changed it. Every plan
check, adaptation and the daily coach's safety rules read the same limits (:func:`load_limits`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.coach.guardrails import GuardrailLimits
from app.i18n import _
from app.models import CoachSettings

DEFAULTS = GuardrailLimits()
TAPER_PREFIX = "taper_days."
"""Stored and form names of the taper lengths: ``taper_days.<event type>``."""


@dataclass(frozen=True)
class Editable:
    """One limit of :class:`GuardrailLimits` (or one event type's taper length) as the page
    edits it: the range it must stay in (in the stored unit), and ``factor`` to show it
    (100 for a percentage, 1/60 for seconds shown as minutes, 1/1000 for metres as km)."""

    name: str
    label: Callable[[], str]
    low: float
    high: float
    section: str
    factor: float = 1.0
    integer: bool = False
    choice: bool = False
    """A yes/no limit (``low`` and ``high`` unused)."""

    @property
    def percent(self) -> bool:
        return self.factor == 100


def _event_words() -> dict[str, str]:
    return {
        "run_5k": _("5 k run"),
        "run_10k": _("10 k run"),
        "half_marathon": _("Half marathon"),
        "marathon": _("Marathon"),
        "ultramarathon": _("Ultramarathon"),
        "gran_fondo": _("Gran fondo"),
        "road_race": _("Road race"),
        "time_trial": _("Time trial"),
        "stage_race": _("Stage race"),
        "triathlon_sprint": _("Sprint triathlon"),
        "triathlon_olympic": _("Olympic triathlon"),
        "triathlon_half": _("Half-distance triathlon"),
        "triathlon_full": _("Full-distance triathlon"),
        "open_water_swim": _("Open-water swim"),
        "other": _("Other event"),
    }


def _taper_label(event: str) -> Callable[[], str]:
    return lambda: _("Taper before a race: %(event)s (days)", event=_event_words()[event])


SECTIONS: tuple[tuple[str, Callable[[], str]], ...] = (
    ("ramp", lambda: _("Weekly CTL ramp")),
    ("spike", lambda: _("Longest run")),
    ("hard", lambda: _("Hard days")),
    ("recovery", lambda: _("Recovery weeks")),
    ("taper", lambda: _("Taper")),
    ("distribution", lambda: _("Intensity distribution")),
    ("availability", lambda: _("Availability")),
    ("readiness", lambda: _("Readiness and HRV")),
)

EDITABLE: tuple[Editable, ...] = (
    Editable("ramp_at_low_ctl", lambda: _("Weekly CTL rise at low fitness"), 1, 15, "ramp"),
    Editable(
        "ramp_low_ctl", lambda: _("Low fitness: CTL at or below"), 10, 100, "ramp", integer=True
    ),
    Editable("ramp_at_high_ctl", lambda: _("Weekly CTL rise at high fitness"), 1, 15, "ramp"),
    Editable(
        "ramp_high_ctl",
        lambda: _("High fitness: CTL at or above"),
        20,
        150,
        "ramp",
        integer=True,
    ),
    Editable(
        "ramp_min_scale",
        lambda: _("Shortest a ramp cut may leave a session (else the plan is blocked)"),
        0.2,
        0.9,
        "ramp",
        factor=100,
    ),
    Editable(
        "spike_ratio",
        lambda: _("Longest run, against the longest of the days before"),
        1.0,
        1.5,
        "spike",
        factor=100,
    ),
    Editable(
        "spike_window_days",
        lambda: _("Days looked back for the longest run"),
        7,
        90,
        "spike",
        integer=True,
    ),
    Editable(
        "spike_floor_m",
        lambda: _("Longest first run after those days without a run (km)"),
        1000,
        21100,
        "spike",
        factor=0.001,
    ),
    Editable(
        "max_hard_days_in_row", lambda: _("Hard days in a row, at most"), 1, 4, "hard", integer=True
    ),
    Editable(
        "hard_min_s",
        lambda: _("Time above the first threshold that makes a session hard (minutes)"),
        60,
        1800,
        "hard",
        factor=1 / 60,
    ),
    Editable(
        "easy_max_s",
        lambda: _("Longest easy session that replaces a hard one (minutes)"),
        1200,
        10800,
        "hard",
        factor=1 / 60,
        integer=True,
    ),
    Editable(
        "max_loading_weeks",
        lambda: _("Loading weeks before a recovery week, at most"),
        2,
        6,
        "recovery",
        integer=True,
    ),
    Editable(
        "recovery_cut",
        lambda: _("How much lighter a recovery week is made"),
        0.15,
        0.6,
        "recovery",
        factor=100,
    ),
    Editable(
        "recovery_cut_min",
        lambda: _("How much lighter a week must be to count as a recovery week"),
        0.1,
        0.5,
        "recovery",
        factor=100,
    ),
    *(
        Editable(TAPER_PREFIX + event, _taper_label(event), 3, 35, "taper", integer=True)
        for event in DEFAULTS.taper_days
    ),
    Editable(
        "taper_cut_min",
        lambda: _("Least average cut of a taper (a shallower one is made deeper)"),
        0.1,
        0.6,
        "taper",
        factor=100,
    ),
    Editable(
        "taper_cut_max",
        lambda: _("Deepest taper cut before it is reported"),
        0.3,
        0.9,
        "taper",
        factor=100,
    ),
    Editable(
        "taper_first_half_cut",
        lambda: _("Cut in the first half of a taper Domestique makes"),
        0.1,
        0.8,
        "taper",
        factor=100,
    ),
    Editable(
        "taper_second_half_cut",
        lambda: _("Cut in the second half of a taper Domestique makes"),
        0.1,
        0.8,
        "taper",
        factor=100,
    ),
    Editable(
        "taper_reference_days",
        lambda: _("Days before the taper its load is compared with"),
        14,
        56,
        "taper",
        integer=True,
    ),
    Editable(
        "easy_share_target",
        lambda: _("Easy share of training time"),
        0.5,
        0.95,
        "distribution",
        factor=100,
    ),
    Editable(
        "easy_share_tolerance",
        lambda: _("Shortfall of the easy share that is still fine"),
        0.0,
        0.2,
        "distribution",
        factor=100,
    ),
    Editable(
        "hours_tolerance",
        lambda: _("How far a week may go over your available hours"),
        0.0,
        0.5,
        "availability",
        factor=100,
    ),
    Editable(
        "move_unavailable",
        lambda: _("A session on a day you are not available"),
        0,
        1,
        "availability",
        choice=True,
    ),
    Editable(
        "readiness_min",
        lambda: _("Readiness below which a hard session becomes easy"),
        0,
        100,
        "readiness",
    ),
    Editable(
        "readiness_window_days",
        lambda: _("Days from today whose hard session low readiness eases"),
        1,
        7,
        "readiness",
        integer=True,
    ),
    Editable(
        "hrv_min_readings",
        lambda: _("Nights of HRV in the last 7 needed to judge it"),
        1,
        7,
        "readiness",
        integer=True,
    ),
)
_BY_NAME = {e.name: e for e in EDITABLE}

ORDERED_PAIRS: tuple[tuple[str, str], ...] = (
    ("ramp_low_ctl", "ramp_high_ctl"),
    ("recovery_cut_min", "recovery_cut"),
    ("taper_cut_min", "taper_cut_max"),
)
"""Limits that must stay in order: the first below the second."""


def _default(name: str) -> Any:
    if name.startswith(TAPER_PREFIX):
        return DEFAULTS.taper_days[name.removeprefix(TAPER_PREFIX)]
    return getattr(DEFAULTS, name)


def _current(limits: GuardrailLimits, name: str) -> Any:
    if name.startswith(TAPER_PREFIX):
        return limits.taper_days[name.removeprefix(TAPER_PREFIX)]
    return getattr(limits, name)


def _out_of_order(values: Mapping[str, Any]) -> list[str]:
    """The second names of :data:`ORDERED_PAIRS` that ``values`` (over the defaults) break."""
    broken = []
    for first, second in ORDERED_PAIRS:
        low, high = values.get(first, _default(first)), values.get(second, _default(second))
        if low >= high:
            broken.append(second)
    return broken


@dataclass(frozen=True)
class LimitRow:
    """One limit as the page shows it: its :class:`Editable`, its label in the owner's
    language, the value in force and the default."""

    editable: Editable
    label: str
    value: float
    default: float

    def __getattr__(self, name: str) -> Any:
        """The editable's own fields: name, low, high, section, factor, integer, choice,
        percent."""
        if name.startswith("__") or name == "editable":  # copying, unpickling
            raise AttributeError(name)
        return getattr(self.editable, name)

    def _shown(self, value: float) -> float:
        shown = value * self.factor
        return round(shown) if self.integer or self.percent else round(shown, 2)

    @property
    def shown(self) -> float:
        return self._shown(self.value)

    @property
    def shown_default(self) -> float:
        return self._shown(self.default)

    @property
    def shown_low(self) -> float:
        return self._shown(self.low)

    @property
    def shown_high(self) -> float:
        return self._shown(self.high)

    @property
    def step(self) -> str:
        return "1" if self.integer or self.percent else "0.1" if self.factor != 1 else "0.5"


@dataclass(frozen=True)
class LimitSection:
    key: str
    title: str
    rows: list[LimitRow]


@dataclass(frozen=True)
class GuardrailSettings:
    rows: list[LimitRow]
    auto_approve_easier: bool
    errors: Mapping[str, str]

    @property
    def sections(self) -> list[LimitSection]:
        return [
            LimitSection(key, title(), [r for r in self.rows if r.section == key])
            for key, title in SECTIONS
        ]


def _row(session: Session) -> CoachSettings | None:
    return session.get(CoachSettings, 1)


def _valid(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The stored values still valid (a later release may narrow a range or drop a limit)."""
    kept: dict[str, Any] = {}
    for name, value in stored.items():
        editable = _BY_NAME.get(name)
        if editable is None:
            continue
        if editable.choice:
            if isinstance(value, bool):
                kept[name] = value
        elif (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and editable.low <= value <= editable.high
        ):
            kept[name] = int(value) if editable.integer else float(value)
    for name in _out_of_order(kept):
        for pair in ORDERED_PAIRS:
            if name == pair[1]:
                kept.pop(pair[0], None)
                kept.pop(pair[1], None)
    return kept


def load_limits(session: Session) -> GuardrailLimits:
    """The guardrail limits in force: the defaults with the owner's changes."""
    row = _row(session)
    if row is None or not row.guardrails:
        return DEFAULTS
    values = _valid(row.guardrails)
    taper = {
        name.removeprefix(TAPER_PREFIX): values.pop(name)
        for name in list(values)
        if name.startswith(TAPER_PREFIX)
    }
    if taper:
        values["taper_days"] = MappingProxyType({**DEFAULTS.taper_days, **taper})
    return replace(DEFAULTS, **values)


def auto_approve_easier(session: Session) -> bool:
    row = _row(session)
    return bool(row is not None and row.auto_approve_easier)


def guardrail_settings(
    session: Session, errors: Mapping[str, str] | None = None
) -> GuardrailSettings:
    limits = load_limits(session)
    rows = [
        LimitRow(e, e.label(), float(_current(limits, e.name)), float(_default(e.name)))
        for e in EDITABLE
    ]
    return GuardrailSettings(rows, auto_approve_easier(session), dict(errors or {}))


def _parse(e: Editable, text: str) -> tuple[Any, str | None]:
    """(the stored value, or the problem in words) of one field as typed."""
    if e.choice:
        if text not in ("yes", "no"):
            return None, _("Choose one of the options.")
        return text == "yes", None
    try:
        number = float(text)
    except ValueError:
        return None, _("Enter a number.")
    value = round(number / e.factor, 6)  # 5 minutes are 300 s, not 300.00000000000006
    if not (e.low - 1e-9 <= value <= e.high + 1e-9) or (e.integer and value != int(value)):
        low, high = round(e.low * e.factor, 2), round(e.high * e.factor, 2)
        return None, _("Between %(low)s and %(high)s.", low=f"{low:g}", high=f"{high:g}")
    value = min(max(value, e.low), e.high)
    return (int(value) if e.integer else value), None


def save(
    sessions: sessionmaker[Session], form: Mapping[str, str], *, auto_approve: bool
) -> dict[str, str]:
    """Store the owner's limits from the page's form (as shown: percentages, minutes, km);
    returns the problems by field (nothing is stored when there is one). A field left empty
    keeps its default."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for e in EDITABLE:
        text = (form.get(e.name) or "").strip().replace(",", ".")
        if not text:
            continue
        value, problem = _parse(e, text)
        if problem is not None:
            errors[e.name] = problem
        elif value != _default(e.name):
            values[e.name] = value
    for name in _out_of_order(values):
        first = next(pair[0] for pair in ORDERED_PAIRS if pair[1] == name)
        errors.setdefault(name, _("Must be above “%(other)s”.", other=_BY_NAME[first].label()))
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
