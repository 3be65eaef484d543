"""Missions: a goal event with its training season, its lifecycle, phases and countdown.

A :class:`Mission` names the event (type, prep start, event start and end, an IANA time zone),
the goal in the owner's words, the constraints the daily coach must respect
(:class:`MissionConstraints`), the :class:`~app.coach.points.PointsSchema` and, for multi-day
events, the **stage plan**. Validation raises :class:`pydantic_core.PydanticCustomError` with a
stable code (``prep_after_event``, ``stage_outside_event``, …) and the values in its context,
as the plan models do; :func:`mission_errors` lists *every* problem with its place, for a draft
sent back to the model.

**Lifecycle** (``COACH.md``)::

    PREP ──Start (owner)──▶ TRAINING ──event starts (clock)──▶ EVENT_ACTIVE
      ▲                        │                                   │ event ended (clock)
      └────back (owner)────────┘                                   ▼
                                          ARCHIVED ◀──(owner)── MISSION_COMPLETE

The clock's moves happen at midnight in the mission's time zone: :func:`due_transitions`
returns every move due at a moment (several after downtime, in order, each with the midnight it
became due). :func:`transition` checks an owner's move and raises :class:`TransitionRefused`
with a code (the API answers 409). One active mission at a time is the services' rule;
:func:`is_active` and the ``other_states`` of :func:`transition` give the predicate.

**Phases** by days to the event (``COACH.md``): base > 42, build 42–22, peak 21–8, taper 7–1;
then the event and after it. A mission may carry its own phases (the draft's) instead.

Pure: ``today`` and ``now`` are parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from app.coach.plans import ShortText, Weekday
from app.coach.points import DEFAULT_POINTS, PointsSchema, Stage

MissionType = Literal[
    "road_stage_race",
    "gran_fondo",
    "gravel_ultra",
    "marathon",
    "triathlon",
    "time_trial_series",
    "custom",
]
MISSION_TYPES: tuple[MissionType, ...] = (
    "road_stage_race",
    "gran_fondo",
    "gravel_ultra",
    "marathon",
    "triathlon",
    "time_trial_series",
    "custom",
)
TrainingPhase = Literal["base", "build", "peak", "taper"]
TRAINING_PHASES: tuple[TrainingPhase, ...] = ("base", "build", "peak", "taper")
Phase = Literal["base", "build", "peak", "taper", "event", "after"]
EventStyle = Literal["gc", "steady", "breakaway"]
"""How the owner wants to ride the event: ``gc`` rides for the overall (every stage, a breakaway
when fresh), ``steady`` evenly without chasing points, ``breakaway`` chases stage points when
safety allows."""
NotifyBy = Literal["email", "push"]
"""How the owner is told of the morning decision besides the dashboard (push: ntfy, Gotify,
Telegram… through the notifications settings)."""

BUILD_FROM_DAYS = 42
"""Days to the event at which build starts (base above)."""
PEAK_FROM_DAYS = 21
TAPER_FROM_DAYS = 7
MAX_EVENT_DAYS = 60
MAX_PREP_DAYS = 104 * 7
MAX_STAGES = 60


class MissionState(StrEnum):
    PREP = "prep"
    TRAINING = "training"
    EVENT_ACTIVE = "event_active"
    MISSION_COMPLETE = "mission_complete"
    ARCHIVED = "archived"


Trigger = Literal["owner", "clock"]
OWNER_MOVES: frozenset[tuple[MissionState, MissionState]] = frozenset(
    {
        (MissionState.PREP, MissionState.TRAINING),
        (MissionState.TRAINING, MissionState.PREP),
        (MissionState.MISSION_COMPLETE, MissionState.ARCHIVED),
    }
)
CLOCK_MOVES: frozenset[tuple[MissionState, MissionState]] = frozenset(
    {
        (MissionState.TRAINING, MissionState.EVENT_ACTIVE),
        (MissionState.EVENT_ACTIVE, MissionState.MISSION_COMPLETE),
    }
)
ACTIVE_STATES = frozenset({MissionState.TRAINING, MissionState.EVENT_ACTIVE})
LOCKED_STATES = frozenset({MissionState.MISSION_COMPLETE, MissionState.ARCHIVED})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _error(code: str, message: str, **context: object) -> PydanticCustomError:
    return PydanticCustomError(code, message, context)


def zone_of(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``ValueError`` when there is none by that name)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {name!r}") from None


class MissionConstraints(_Strict):
    """What the daily coach must respect beyond the plan guardrails. A hard day is a pushed
    day, a hard session or a breakaway."""

    min_readiness: float | None = Field(
        default=None, ge=0, le=100, description="No hard day below this readiness (0-100)."
    )
    min_tsb: float | None = Field(
        default=None, ge=-100, le=100, description="No hard day below this form (TSB)."
    )
    max_hard_days_per_week: int | None = Field(
        default=None, ge=0, le=7, description="Most hard days in any seven days."
    )
    notes: str | None = Field(
        default=None, max_length=1000, description="Anything else, in the owner's words."
    )


class PhaseSpan(_Strict):
    """A training phase from ``start`` to ``end`` (both included)."""

    phase: TrainingPhase = Field(description="base, build, peak or taper.")
    start: date = Field(description="First day, YYYY-MM-DD.")
    end: date = Field(description="Last day, YYYY-MM-DD.")


@dataclass(frozen=True)
class MissionError:
    """One problem of a mission, placed (``loc``) in the mission's fields."""

    loc: tuple[str | int, ...]
    code: str
    template: str
    params: dict[str, Any]

    @property
    def message(self) -> str:
        return self.template.format(**self.params)

    def __str__(self) -> str:
        where = ".".join(str(part) for part in self.loc)
        return f"{where}: {self.message}" if where else self.message


def _problem(loc: tuple[str | int, ...], code: str, template: str, **params: Any) -> MissionError:
    return MissionError(loc, code, template, params)


def mission_errors(
    *,
    prep_start: date,
    event_start: date,
    event_end: date,
    stages: Sequence[Stage] = (),
    phases: Sequence[PhaseSpan] = (),
    check_numbers: bool = True,
) -> list[MissionError]:
    """Every problem of a mission's dates, stage plan and phases, each placed by the index the
    stage or phase has in the sequence given. ``check_numbers=False`` leaves the numbering
    alone (a draft whose stages did not all parse would only show its gaps)."""
    errors: list[MissionError] = []
    if prep_start > event_start:
        errors.append(
            _problem(
                ("prep_start",),
                "prep_after_event",
                "the preparation starts ({prep}) after the event ({start})",
                prep=prep_start.isoformat(),
                start=event_start.isoformat(),
            )
        )
    elif (event_start - prep_start).days > MAX_PREP_DAYS:
        errors.append(
            _problem(
                ("prep_start",),
                "prep_too_long",
                "the preparation lasts {days} days; at most {max} are allowed",
                days=(event_start - prep_start).days,
                max=MAX_PREP_DAYS,
            )
        )
    if event_end < event_start:
        errors.append(
            _problem(
                ("event_end",),
                "event_end_before_start",
                "the event ends ({end}) before it starts ({start})",
                end=event_end.isoformat(),
                start=event_start.isoformat(),
            )
        )
    elif (event_end - event_start).days + 1 > MAX_EVENT_DAYS:
        errors.append(
            _problem(
                ("event_end",),
                "event_too_long",
                "the event lasts {days} days; at most {max} are allowed",
                days=(event_end - event_start).days + 1,
                max=MAX_EVENT_DAYS,
            )
        )
    seen: dict[date, int] = {}
    expected = 1
    for index, stage in sorted(enumerate(stages), key=lambda item: (item[1].date, item[0])):
        loc: tuple[str | int, ...] = ("stages", index)
        day = stage.date.isoformat()
        if not event_start <= stage.date <= event_end:
            errors.append(
                _problem(
                    (*loc, "date"),
                    "stage_outside_event",
                    "the stage on {date} is outside the event ({start} to {end})",
                    date=day,
                    start=event_start.isoformat(),
                    end=event_end.isoformat(),
                )
            )
        if stage.date in seen:
            errors.append(
                _problem((*loc, "date"), "stage_date_repeated", "two stages on {date}", date=day)
            )
        seen.setdefault(stage.date, index)
        if stage.number is None or not check_numbers:
            continue
        if stage.number != expected:
            errors.append(
                _problem(
                    (*loc, "number"),
                    "stage_number_order",
                    "the stage on {date} is number {number}; in date order it should be {expected}",
                    date=day,
                    number=stage.number,
                    expected=expected,
                )
            )
        expected += 1
    if phases:
        errors.extend(_phase_errors(prep_start, event_start, phases))
    return errors


def _phase_errors(
    prep_start: date, event_start: date, phases: Sequence[PhaseSpan]
) -> list[MissionError]:
    errors: list[MissionError] = []
    rank = {name: order for order, name in enumerate(TRAINING_PHASES)}
    for index, span in enumerate(phases):
        loc: tuple[str | int, ...] = ("phases", index)
        if span.end < span.start:
            errors.append(
                _problem(
                    (*loc, "end"),
                    "phase_end_before_start",
                    "the {phase} phase ends ({end}) before it starts ({start})",
                    phase=span.phase,
                    end=span.end.isoformat(),
                    start=span.start.isoformat(),
                )
            )
        if index == 0:
            if span.start != prep_start:
                errors.append(
                    _problem(
                        (*loc, "start"),
                        "phases_start",
                        "the first phase starts on {start}, not on the preparation's first day "
                        "({expected})",
                        start=span.start.isoformat(),
                        expected=prep_start.isoformat(),
                    )
                )
            continue
        before = phases[index - 1]
        if rank[span.phase] <= rank[before.phase]:
            errors.append(
                _problem(
                    (*loc, "phase"),
                    "phases_order",
                    "the {phase} phase comes after the {before} phase; phases go base, build, "
                    "peak, taper, each once",
                    phase=span.phase,
                    before=before.phase,
                )
            )
        if span.start != before.end + timedelta(days=1):
            errors.append(
                _problem(
                    (*loc, "start"),
                    "phases_not_consecutive",
                    "the {phase} phase starts on {start}; it should start on {expected}, the day "
                    "after the phase before ends",
                    phase=span.phase,
                    start=span.start.isoformat(),
                    expected=(before.end + timedelta(days=1)).isoformat(),
                )
            )
    last, last_index = phases[-1], len(phases) - 1
    if last.end != event_start - timedelta(days=1):
        errors.append(
            _problem(
                ("phases", last_index, "end"),
                "phases_end",
                "the last phase ends on {end}; it should end on {expected}, the day before the "
                "event",
                end=last.end.isoformat(),
                expected=(event_start - timedelta(days=1)).isoformat(),
            )
        )
    return errors


class Mission(_Strict):
    """A goal event, its season and how it is scored."""

    name: ShortText = Field(description="The event, e.g. “Virtual Tour 2027”.")
    type: MissionType = Field(
        description="road_stage_race, gran_fondo, gravel_ultra, marathon, triathlon, "
        "time_trial_series or custom."
    )
    prep_start: date = Field(description="First day of the preparation (YYYY-MM-DD).")
    event_start: date = Field(description="First day of the event.")
    event_end: date = Field(description="Last day of the event (the start for one day).")
    time_zone: str = Field(description="IANA time zone of the event's days, e.g. Asia/Seoul.")
    goal: str = Field(default="", max_length=1000, description="The goal in the owner's words.")
    constraints: MissionConstraints = Field(default_factory=MissionConstraints)
    points: PointsSchema = Field(default=DEFAULT_POINTS, description="How the event scores.")
    stages: list[Stage] = Field(
        default_factory=list, max_length=MAX_STAGES, description="The stage plan, by date."
    )
    phases: list[PhaseSpan] = Field(
        default_factory=list,
        max_length=4,
        description="Training phases from prep_start to the day before the event; empty: by "
        "days to the event.",
    )
    style: EventStyle = Field(default="gc", description="gc, steady or breakaway.")
    weekly_hours_min: float | None = Field(
        default=None, gt=0, le=40, description="Fewest training hours a week (the builder's)."
    )
    weekly_hours_max: float | None = Field(
        default=None, gt=0, le=40, description="Most training hours a week (the builder's)."
    )
    training_days: list[Weekday] = Field(
        default_factory=list, max_length=7, description="Days of the week to train; empty: any."
    )
    notify_by: list[NotifyBy] = Field(
        default_factory=list, max_length=2, description="email and/or push; empty: the dashboard."
    )
    notes: str | None = Field(default=None, max_length=2000, description="Notes.")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zone_of(value)
        except ValueError:
            raise _error(
                "time_zone_unknown", "{zone} is not an IANA time zone", zone=value
            ) from None
        return value

    @field_validator("notify_by")
    @classmethod
    def _once_each(cls, value: list[NotifyBy]) -> list[NotifyBy]:
        return list(dict.fromkeys(value))

    @field_validator("stages")
    @classmethod
    def _by_date(cls, value: list[Stage]) -> list[Stage]:
        return sorted(value, key=lambda stage: stage.date)

    @model_validator(mode="after")
    def _consistent(self) -> Mission:
        errors = mission_errors(
            prep_start=self.prep_start,
            event_start=self.event_start,
            event_end=self.event_end,
            stages=self.stages,
            phases=self.phases,
        )
        if errors:
            first = errors[0]
            raise PydanticCustomError(first.code, first.template, first.params)
        return self

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.time_zone)

    @property
    def event_days(self) -> int:
        return (self.event_end - self.event_start).days + 1

    @property
    def racing_stages(self) -> list[Stage]:
        return [stage for stage in self.stages if stage.racing]

    def stage_on(self, day: date) -> Stage | None:
        return next((stage for stage in self.stages if stage.date == day), None)

    def local_day(self, now_utc: datetime) -> date:
        """The calendar day ``now_utc`` falls on in the mission's time zone."""
        return _aware(now_utc).astimezone(self.zone).date()

    def midnight(self, day: date) -> datetime:
        """The first moment of ``day`` in the mission's time zone, in UTC."""
        return datetime.combine(day, time(0), tzinfo=self.zone).astimezone(UTC)


# --------------------------------------------------------------------------------------------
# Lifecycle


@dataclass(frozen=True)
class Transition:
    """A move of the lifecycle: who made it and, for the clock's, the midnight it became due."""

    source: MissionState
    target: MissionState
    trigger: Trigger
    due_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "target": self.target.value,
            "trigger": self.trigger,
            "due_at": None if self.due_at is None else self.due_at.isoformat(),
        }


class TransitionRefused(ValueError):
    """A move the lifecycle does not allow: ``code`` and ``params`` make the sentence."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(f"{code}: {params}")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("now_utc must be an aware datetime")
    return moment


def is_active(state: MissionState) -> bool:
    """A mission in training or in its event: only one may be at a time."""
    return state in ACTIVE_STATES


def is_locked(state: MissionState) -> bool:
    """A completed or archived mission no longer changes (its stages, points and wrap-up)."""
    return state in LOCKED_STATES


def may_start(other_states: Iterable[MissionState]) -> bool:
    """Whether a mission may become active beside missions in ``other_states``."""
    return not any(is_active(state) for state in other_states)


def transition(
    mission: Mission,
    state: MissionState,
    target: MissionState,
    *,
    now_utc: datetime,
    other_states: Iterable[MissionState] = (),
) -> Transition:
    """The owner's move from ``state`` to ``target``, or :class:`TransitionRefused`.

    The owner may Start (PREP → TRAINING) while no other mission is active and the event is
    not over, go back (TRAINING → PREP) before the event starts, and archive a completed
    mission. The event's start and end move the mission by themselves (refused here with
    ``transition_automatic``); every other move is ``transition_not_allowed``.
    """
    names = {"source": state.value, "target": target.value}
    if state == target:
        raise TransitionRefused("transition_same_state", **names)
    if state == MissionState.ARCHIVED:
        raise TransitionRefused("mission_archived", **names)
    if (state, target) in CLOCK_MOVES:
        raise TransitionRefused("transition_automatic", **names)
    if (state, target) not in OWNER_MOVES:
        raise TransitionRefused("transition_not_allowed", **names)
    today = mission.local_day(now_utc)
    if target == MissionState.TRAINING:
        if not may_start(other_states):
            raise TransitionRefused("another_mission_active", **names)
        if today > mission.event_end:
            raise TransitionRefused(
                "event_already_over", **names, event_end=mission.event_end.isoformat()
            )
    if target == MissionState.PREP and today >= mission.event_start:
        raise TransitionRefused(
            "event_started", **names, event_start=mission.event_start.isoformat()
        )
    return Transition(state, target, "owner")


def due_transitions(mission: Mission, state: MissionState, now_utc: datetime) -> list[Transition]:
    """Every move the clock owes the mission at ``now_utc`` (aware), in order: TRAINING →
    EVENT_ACTIVE from midnight of the event's first day, EVENT_ACTIVE → MISSION_COMPLETE from
    midnight after its last day, both in the mission's time zone. After downtime both can be
    due at once; each carries the midnight it became due. PREP waits for the owner's Start."""
    today = mission.local_day(now_utc)
    moves: list[Transition] = []
    if state == MissionState.TRAINING and today >= mission.event_start:
        moves.append(
            Transition(
                state, MissionState.EVENT_ACTIVE, "clock", mission.midnight(mission.event_start)
            )
        )
        state = MissionState.EVENT_ACTIVE
    if state == MissionState.EVENT_ACTIVE and today > mission.event_end:
        moves.append(
            Transition(
                state,
                MissionState.MISSION_COMPLETE,
                "clock",
                mission.midnight(mission.event_end + timedelta(days=1)),
            )
        )
    return moves


# --------------------------------------------------------------------------------------------
# Phases and the countdown


def phase_for_days(days_to_event: int) -> Phase:
    """The phase by days to the event's first day (``COACH.md``): base > 42, build 42-22,
    peak 21-8, taper 7-1, the event from 0."""
    if days_to_event > BUILD_FROM_DAYS:
        return "base"
    if days_to_event > PEAK_FROM_DAYS:
        return "build"
    if days_to_event > TAPER_FROM_DAYS:
        return "peak"
    if days_to_event >= 1:
        return "taper"
    return "event"


def phase_on(mission: Mission, day: date) -> Phase:
    """The mission's phase on ``day``: its own phases when it has them, else by days to the
    event; ``event`` during it, ``after`` once it is over."""
    if day > mission.event_end:
        return "after"
    if day >= mission.event_start:
        return "event"
    for span in mission.phases:
        if span.start <= day <= span.end:
            return span.phase
    return phase_for_days((mission.event_start - day).days)


def default_phases(prep_start: date, event_start: date) -> list[PhaseSpan]:
    """The phases by days to the event as spans from ``prep_start`` to the day before the
    event (a short preparation starts in a later phase)."""
    spans: list[PhaseSpan] = []
    day = prep_start
    while day < event_start:
        phase = phase_for_days((event_start - day).days)
        assert phase in TRAINING_PHASES
        if spans and spans[-1].phase == phase:
            spans[-1] = spans[-1].model_copy(update={"end": day})
        else:
            spans.append(PhaseSpan(phase=phase, start=day, end=day))  # type: ignore[arg-type]
        day += timedelta(days=1)
    return spans


@dataclass(frozen=True)
class Countdown:
    """Where ``day`` stands in the mission: days to the event, or the event's day number and
    today's stage, or days since it ended."""

    day: date
    phase: Phase
    days_to_event: int
    """Days until the first day of the event (0 on it, negative after)."""
    event_day: int | None
    """1 on the event's first day … ``event_days`` on its last; ``None`` outside it."""
    event_days: int
    days_after: int | None
    """Days since the event's last day; ``None`` until then."""
    stage: Stage | None
    stages_total: int
    stages_before: int
    """Racing stages dated before ``day``."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "phase": self.phase,
            "days_to_event": self.days_to_event,
            "event_day": self.event_day,
            "event_days": self.event_days,
            "days_after": self.days_after,
            "stage": None if self.stage is None else self.stage.model_dump(mode="json"),
            "stages_total": self.stages_total,
            "stages_before": self.stages_before,
        }


def countdown(mission: Mission, day: date) -> Countdown:
    """The countdown on ``day`` (the owner's local day)."""
    racing = mission.racing_stages
    during = mission.event_start <= day <= mission.event_end
    return Countdown(
        day=day,
        phase=phase_on(mission, day),
        days_to_event=(mission.event_start - day).days,
        event_day=(day - mission.event_start).days + 1 if during else None,
        event_days=mission.event_days,
        days_after=(day - mission.event_end).days if day > mission.event_end else None,
        stage=mission.stage_on(day),
        stages_total=len(racing),
        stages_before=sum(1 for stage in racing if stage.date < day),
    )


__all__ = [
    "ACTIVE_STATES",
    "MISSION_TYPES",
    "Countdown",
    "EventStyle",
    "Mission",
    "MissionConstraints",
    "MissionError",
    "MissionState",
    "MissionType",
    "NotifyBy",
    "Phase",
    "PhaseSpan",
    "Transition",
    "TransitionRefused",
    "countdown",
    "default_phases",
    "due_transitions",
    "is_active",
    "is_locked",
    "may_start",
    "mission_errors",
    "phase_for_days",
    "phase_on",
    "transition",
]
