"""Stages, ride modes and points: an event scored from the rides themselves, like a tour's
classification.

A multi-day event has a **stage plan** (:class:`Stage`: a number, a date and a type — ``flat``,
``hilly``, ``mountain``, ``itt``, ``mountain_itt`` or a ``rest`` day, which has no number, as a
tour counts its stages). Each racing stage is matched to the activity of its day in the
mission's time zone (:func:`match_activity`: the biggest load when there are several), and the
**ride mode** is detected from that ride by its intensity factor and load
(:func:`ride_mode`, thresholds in the :class:`PointsSchema`):

* ``breakaway`` — IF ≥ 0.85 and TSS ≥ 60 by default;
* ``gc`` — IF ≥ 0.70 and TSS ≥ 40 (riding the stage steadily, with the bunch);
* ``rest`` — anything easier: a spin that completes nothing.

Points come from the schema's table by stage type and mode (``COACH.md``: flat 5/8, hilly 7/11,
mountain 10/15, ITT 4/6, mountain ITT 6/9 for GC/breakaway), and **bonuses** from typed rules:
``stages_in_row`` (N stages in a row ridden in GC or breakaway; rest days neither count nor
break the run), ``breakaways`` (N stages in breakaway), ``mountains_in_breakaway`` (every
``mountain`` stage in breakaway), ``final_week`` (every stage of the event's last seven days
ridden) and ``all_stages`` (every stage ridden at least in GC). Each bonus is earned once, at the
stage that completes it. The owner can correct a stage — the activity that counts, or the mode
— with a reason (:class:`StageCorrection`); the correction is shown with the stage.

:func:`score_event` returns one row per stage (mode detected and counted, points, the activity,
the correction) with the bonuses earned at it and a running total. Everything here is pure: no
database, clock or network; ``today`` is a parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

StageType = Literal["flat", "hilly", "mountain", "itt", "mountain_itt", "rest"]
RacingStageType = Literal["flat", "hilly", "mountain", "itt", "mountain_itt"]
RACING_STAGE_TYPES: tuple[RacingStageType, ...] = (
    "flat",
    "hilly",
    "mountain",
    "itt",
    "mountain_itt",
)
RideMode = Literal["rest", "gc", "breakaway"]
RIDE_MODES: tuple[RideMode, ...] = ("rest", "gc", "breakaway")
MODE_RANK: Mapping[str, int] = {"rest": 0, "gc": 1, "breakaway": 2}
BonusKind = Literal[
    "stages_in_row", "breakaways", "mountains_in_breakaway", "final_week", "all_stages"
]
BONUS_KINDS: tuple[BonusKind, ...] = (
    "stages_in_row",
    "breakaways",
    "mountains_in_breakaway",
    "final_week",
    "all_stages",
)
StageStatus = Literal["done", "missed", "pending", "upcoming", "rest_day"]

MAX_STAGES = 60
MAX_POINTS = 1000
FINAL_WEEK_DAYS = 7
THRESHOLD_TOLERANCE = 1e-9
"""Thresholds are inclusive; a computed IF of 0.8499999999 is the 0.85 it was rounded from."""

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _error(code: str, message: str, **context: object) -> PydanticCustomError:
    return PydanticCustomError(code, message, context)


# --------------------------------------------------------------------------------------------
# Stages


class Stage(_Strict):
    """One day of the stage plan: a numbered racing stage, or a rest day (no number)."""

    number: int | None = Field(
        default=None,
        ge=1,
        le=MAX_STAGES,
        description="Stage number, 1 upwards in date order; null on rest days.",
    )
    date: dt.date = Field(
        description="The day of the stage (YYYY-MM-DD), in the event's time zone."
    )
    type: StageType = Field(
        description="flat, hilly, mountain, itt (individual time trial), mountain_itt or rest."
    )
    name: str | None = Field(
        default=None, max_length=120, description="A name, e.g. “Lille → Amiens”."
    )

    @model_validator(mode="after")
    def _numbered(self) -> Stage:
        if self.type == "rest" and self.number is not None:
            raise _error(
                "rest_day_numbered",
                "the rest day on {date} has a stage number ({number}); rest days have none",
                date=self.date.isoformat(),
                number=self.number,
            )
        if self.type != "rest" and self.number is None:
            raise _error(
                "stage_number_missing",
                "the {type} stage on {date} has no number",
                date=self.date.isoformat(),
                type=self.type,
            )
        return self

    @property
    def racing(self) -> bool:
        return self.type != "rest"


# --------------------------------------------------------------------------------------------
# The points schema


class StagePoints(_Strict):
    """Points for a stage ridden in GC and in breakaway."""

    gc: int = Field(ge=0, le=MAX_POINTS, description="Points for the stage ridden in GC mode.")
    breakaway: int = Field(
        ge=0, le=MAX_POINTS, description="Points for the stage ridden in breakaway mode."
    )


class StagePointsTable(_Strict):
    """Points by stage type (``COACH.md``'s example table by default)."""

    flat: StagePoints = StagePoints(gc=5, breakaway=8)
    hilly: StagePoints = StagePoints(gc=7, breakaway=11)
    mountain: StagePoints = StagePoints(gc=10, breakaway=15)
    itt: StagePoints = StagePoints(gc=4, breakaway=6)
    mountain_itt: StagePoints = StagePoints(gc=6, breakaway=9)

    def points(self, stage_type: str, mode: str | None) -> int:
        """The points of a stage of ``stage_type`` ridden in ``mode`` (0 for rest, a rest day or
        no ride)."""
        if stage_type == "rest" or mode not in ("gc", "breakaway"):
            return 0
        row: StagePoints = getattr(self, stage_type)
        return row.gc if mode == "gc" else row.breakaway


class ModeThreshold(_Strict):
    """The least intensity factor and load a ride needs for a mode (both inclusive)."""

    min_if: float = Field(gt=0, le=2.0, description="Least intensity factor (IF), e.g. 0.85.")
    min_tss: float = Field(ge=0, le=1000, description="Least load (TSS), e.g. 60.")


class ModeThresholds(_Strict):
    """What a ride needs to count as GC or breakaway."""

    gc: ModeThreshold = ModeThreshold(min_if=0.70, min_tss=40.0)
    breakaway: ModeThreshold = ModeThreshold(min_if=0.85, min_tss=60.0)

    @model_validator(mode="after")
    def _ordered(self) -> ModeThresholds:
        if self.breakaway.min_if < self.gc.min_if or self.breakaway.min_tss < self.gc.min_tss:
            raise _error(
                "thresholds_order",
                "breakaway needs IF {b_if} and TSS {b_tss}, less than GC's IF {g_if} and TSS "
                "{g_tss}",
                b_if=self.breakaway.min_if,
                b_tss=self.breakaway.min_tss,
                g_if=self.gc.min_if,
                g_tss=self.gc.min_tss,
            )
        return self


class StagesInRowBonus(_Strict):
    """``count`` stages in a row ridden in GC or breakaway (rest days do not break the run)."""

    kind: Literal["stages_in_row"] = Field(description="stages_in_row")
    count: int = Field(ge=2, le=MAX_STAGES, description="Stages in a row needed.")
    points: int = Field(ge=0, le=MAX_POINTS, description="Points of the bonus.")


class BreakawaysBonus(_Strict):
    """``count`` stages ridden in breakaway."""

    kind: Literal["breakaways"] = Field(description="breakaways")
    count: int = Field(ge=1, le=MAX_STAGES, description="Breakaways needed.")
    points: int = Field(ge=0, le=MAX_POINTS, description="Points of the bonus.")


class MountainsInBreakawayBonus(_Strict):
    """Every ``mountain`` stage ridden in breakaway."""

    kind: Literal["mountains_in_breakaway"] = Field(description="mountains_in_breakaway")
    points: int = Field(ge=0, le=MAX_POINTS, description="Points of the bonus.")


class FinalWeekBonus(_Strict):
    """Every stage of the event's last seven days ridden in GC or breakaway."""

    kind: Literal["final_week"] = Field(description="final_week")
    points: int = Field(ge=0, le=MAX_POINTS, description="Points of the bonus.")


class AllStagesBonus(_Strict):
    """Every stage ridden at least in GC."""

    kind: Literal["all_stages"] = Field(description="all_stages")
    points: int = Field(ge=0, le=MAX_POINTS, description="Points of the bonus.")


BonusRule = Annotated[
    StagesInRowBonus
    | BreakawaysBonus
    | MountainsInBreakawayBonus
    | FinalWeekBonus
    | AllStagesBonus,
    Field(discriminator="kind"),
]


def _default_bonuses() -> list[BonusRule]:
    return [
        StagesInRowBonus(kind="stages_in_row", count=5, points=5),
        BreakawaysBonus(kind="breakaways", count=10, points=15),
        MountainsInBreakawayBonus(kind="mountains_in_breakaway", points=10),
        FinalWeekBonus(kind="final_week", points=10),
        AllStagesBonus(kind="all_stages", points=25),
    ]


class PointsSchema(_Strict):
    """How an event scores: points per stage type and mode, the modes' thresholds, bonuses.

    The defaults are ``COACH.md``'s example (Lanterne Rouge's tour simulation)."""

    stage_points: StagePointsTable = Field(
        default_factory=StagePointsTable, description="Points by stage type and ride mode."
    )
    thresholds: ModeThresholds = Field(
        default_factory=ModeThresholds, description="What a ride needs to count as each mode."
    )
    bonuses: list[BonusRule] = Field(
        default_factory=_default_bonuses, max_length=20, description="Bonus rules."
    )


DEFAULT_POINTS = PointsSchema()


def _at_least(value: float, threshold: float) -> bool:
    return value >= threshold - THRESHOLD_TOLERANCE


def ride_mode(intensity_factor: float | None, tss: float | None, schema: PointsSchema) -> RideMode:
    """The mode a ride was ridden in: ``breakaway`` when its IF and TSS both reach the
    breakaway thresholds, else ``gc`` when both reach GC's, else ``rest``. A ride without an IF
    or a load (no power, heart rate or pace to compute them from) counts as ``rest``."""
    if intensity_factor is None or tss is None:
        return "rest"
    thresholds = schema.thresholds
    for mode, threshold in (("breakaway", thresholds.breakaway), ("gc", thresholds.gc)):
        if _at_least(intensity_factor, threshold.min_if) and _at_least(tss, threshold.min_tss):
            return mode  # type: ignore[return-value]
    return "rest"


# --------------------------------------------------------------------------------------------
# Activities and corrections


@dataclass(frozen=True)
class StageActivity:
    """A recorded activity that may be a stage: when it started (aware), its sport, its load and
    intensity factor as the activity page shows them."""

    activity_id: str
    start: dt.datetime
    sport: str
    tss: float | None
    intensity_factor: float | None
    duration_s: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("an activity's start needs a time zone (UTC)")

    def local_day(self, zone: ZoneInfo) -> dt.date:
        return self.start.astimezone(zone).date()

    def as_dict(self) -> dict[str, Any]:
        return {
            "activity_id": self.activity_id,
            "start": self.start.isoformat(),
            "sport": self.sport,
            "tss": self.tss,
            "intensity_factor": self.intensity_factor,
            "duration_s": self.duration_s,
            "name": self.name,
        }


def _zone(time_zone: str | ZoneInfo) -> ZoneInfo:
    return time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)


def _load_order(activity: StageActivity) -> tuple[float, float, float, str]:
    """Biggest load first; then the higher IF, the earlier start, the smaller id (stable)."""
    return (
        -(activity.tss or 0.0),
        -(activity.intensity_factor or 0.0),
        activity.start.timestamp(),
        activity.activity_id,
    )


def match_activity(
    stage: Stage,
    candidates: Iterable[StageActivity],
    time_zone: str | ZoneInfo,
    *,
    sports: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
) -> StageActivity | None:
    """The activity that rode ``stage``: of the candidates started on the stage's date in
    ``time_zone`` (of ``sports`` when given, not in ``exclude``), the one with the biggest
    load; ``None`` for a rest day or a day without one."""
    if not stage.racing:
        return None
    zone = _zone(time_zone)
    allowed = None if sports is None else set(sports)
    excluded = set(exclude)
    that_day = [
        activity
        for activity in candidates
        if activity.local_day(zone) == stage.date
        and (allowed is None or activity.sport in allowed)
        and activity.activity_id not in excluded
    ]
    return min(that_day, key=_load_order, default=None)


class StageCorrection(_Strict):
    """The owner's correction of a stage: the activity that counts and/or the mode, and why."""

    stage: int = Field(ge=1, le=MAX_STAGES, description="The stage number.")
    activity_id: str | None = Field(
        default=None,
        max_length=64,
        description="The activity that rode the stage, if not the matched one.",
    )
    mode: RideMode | None = Field(
        default=None, description="The mode to count, if not the detected one."
    )
    reason: Reason = Field(description="Why, in the owner's words.")

    @model_validator(mode="after")
    def _changes_something(self) -> StageCorrection:
        if self.activity_id is None and self.mode is None:
            raise _error(
                "correction_empty",
                "the correction of stage {stage} names neither an activity nor a mode",
                stage=self.stage,
            )
        return self


@dataclass(frozen=True)
class CorrectionError:
    """Why a correction cannot apply: its index in the list, a code and plain params."""

    index: int
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


class CorrectionsInvalid(ValueError):
    def __init__(self, errors: Sequence[CorrectionError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"correction {e.index}: {e.code}" for e in self.errors))


def correction_errors(
    stages: Sequence[Stage],
    candidates: Sequence[StageActivity],
    corrections: Sequence[StageCorrection],
) -> list[CorrectionError]:
    """Every correction that cannot apply (empty when they all can): an unknown stage, a
    second correction of one stage, an unknown activity, one activity named for two stages."""
    numbers = {stage.number for stage in stages if stage.number is not None}
    known = {activity.activity_id for activity in candidates}
    errors: list[CorrectionError] = []
    seen_stages: set[int] = set()
    seen_activities: dict[str, int] = {}
    for index, correction in enumerate(corrections):
        if correction.stage not in numbers:
            errors.append(
                CorrectionError(index, "correction_unknown_stage", {"stage": correction.stage})
            )
        elif correction.stage in seen_stages:
            errors.append(
                CorrectionError(index, "correction_repeated", {"stage": correction.stage})
            )
        seen_stages.add(correction.stage)
        activity = correction.activity_id
        if activity is None:
            continue
        if activity not in known:
            errors.append(
                CorrectionError(
                    index,
                    "correction_unknown_activity",
                    {"stage": correction.stage, "activity_id": activity},
                )
            )
        elif activity in seen_activities:
            errors.append(
                CorrectionError(
                    index,
                    "correction_activity_repeated",
                    {
                        "stage": correction.stage,
                        "other_stage": seen_activities[activity],
                        "activity_id": activity,
                    },
                )
            )
        else:
            seen_activities[activity] = correction.stage
    return errors


# --------------------------------------------------------------------------------------------
# Scoring


@dataclass(frozen=True)
class BonusAward:
    """A bonus earned: its rule (index in the schema and kind), points, and the stage that
    completed it."""

    rule: int
    kind: str
    points: int
    stage: int
    date: dt.date
    count: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "points": self.points,
            "stage": self.stage,
            "date": self.date.isoformat(),
            "count": self.count,
        }


@dataclass(frozen=True)
class StageResult:
    """One row of the stage table.

    ``status``: ``done`` (ridden — in whatever mode — or corrected), ``missed`` (a past stage
    without a ride), ``pending`` (today's stage, no ride yet), ``upcoming``, ``rest_day``.
    ``detected_mode`` comes from the ride; ``mode`` is what counts (the correction's when there
    is one). ``total`` is the running total after this stage's points and bonuses."""

    stage: Stage
    status: StageStatus
    activity: StageActivity | None
    detected_mode: RideMode | None
    mode: RideMode | None
    points: int
    bonuses: tuple[BonusAward, ...]
    total: int
    correction: StageCorrection | None = None

    @property
    def bonus_points(self) -> int:
        return sum(award.points for award in self.bonuses)

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.stage.number,
            "date": self.stage.date.isoformat(),
            "type": self.stage.type,
            "name": self.stage.name,
            "status": self.status,
            "activity": None if self.activity is None else self.activity.as_dict(),
            "detected_mode": self.detected_mode,
            "mode": self.mode,
            "points": self.points,
            "bonuses": [award.as_dict() for award in self.bonuses],
            "total": self.total,
            "correction": None if self.correction is None else self.correction.model_dump(),
        }


@dataclass(frozen=True)
class EventScore:
    """The stage table with its running total, and the bonuses earned."""

    results: tuple[StageResult, ...]
    bonuses: tuple[BonusAward, ...]
    schema: PointsSchema
    today: dt.date | None

    @property
    def stage_points(self) -> int:
        return sum(result.points for result in self.results)

    @property
    def bonus_points(self) -> int:
        return sum(award.points for award in self.bonuses)

    @property
    def total(self) -> int:
        return self.stage_points + self.bonus_points

    def racing(self) -> list[StageResult]:
        return [result for result in self.results if result.stage.racing]

    def count(self, mode: str) -> int:
        """Stages done in ``mode``."""
        return sum(1 for r in self.results if r.status == "done" and r.mode == mode)

    def result(self, stage_number: int) -> StageResult | None:
        return next((r for r in self.results if r.stage.number == stage_number), None)

    def on(self, day: dt.date) -> StageResult | None:
        return next((r for r in self.results if r.stage.date == day), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "today": None if self.today is None else self.today.isoformat(),
            "stages": [result.as_dict() for result in self.results],
            "bonuses": [award.as_dict() for award in self.bonuses],
            "stage_points": self.stage_points,
            "bonus_points": self.bonus_points,
            "total": self.total,
        }


@dataclass(frozen=True)
class _Entry:
    stage: Stage
    status: StageStatus
    activity: StageActivity | None
    detected: RideMode | None
    mode: RideMode | None
    correction: StageCorrection | None


def _counts(mode: RideMode | None) -> bool:
    return mode in ("gc", "breakaway")


def _final_week_start(racing: Sequence[Stage]) -> dt.date | None:
    if not racing:
        return None
    return racing[-1].date - dt.timedelta(days=FINAL_WEEK_DAYS - 1)


def _tally(entries: Sequence[_Entry], schema: PointsSchema, today: dt.date | None) -> EventScore:
    """Points, bonuses and the running total of stages whose outcome is known."""
    racing = [entry.stage for entry in entries if entry.stage.racing]
    final_from = _final_week_start(racing)
    last_mountain = max((s.date for s in racing if s.type == "mountain"), default=None)
    last_racing = racing[-1].date if racing else None
    streak = 0
    breakaways = 0
    broken = {"all_stages": False, "final_week": False, "mountains_in_breakaway": False}
    earned: set[int] = set()
    awards: list[BonusAward] = []
    results: list[StageResult] = []
    total = 0
    gap = False  # a racing stage still to come: no bonus after it is decided yet
    for entry in entries:
        stage = entry.stage
        known = entry.status in ("done", "missed")
        points = schema.stage_points.points(stage.type, entry.mode) if known else 0
        stage_awards: list[BonusAward] = []
        if stage.racing and not known:
            gap = True
        if stage.racing and known and not gap:
            assert stage.number is not None
            counted = entry.status == "done" and _counts(entry.mode)
            streak = streak + 1 if counted else 0
            breakaways += entry.status == "done" and entry.mode == "breakaway"
            if not counted:
                broken["all_stages"] = True
                if final_from is not None and stage.date >= final_from:
                    broken["final_week"] = True
            if stage.type == "mountain" and not (
                entry.status == "done" and entry.mode == "breakaway"
            ):
                broken["mountains_in_breakaway"] = True
            for index, rule in enumerate(schema.bonuses):
                if index in earned:
                    continue
                done = False
                count: int | None = None
                if isinstance(rule, StagesInRowBonus):
                    done, count = streak >= rule.count, rule.count
                elif isinstance(rule, BreakawaysBonus):
                    done, count = breakaways >= rule.count, rule.count
                elif isinstance(rule, MountainsInBreakawayBonus):
                    done = stage.date == last_mountain and not broken["mountains_in_breakaway"]
                elif isinstance(rule, FinalWeekBonus):
                    done = stage.date == last_racing and not broken["final_week"]
                else:
                    done = stage.date == last_racing and not broken["all_stages"]
                if done:
                    earned.add(index)
                    stage_awards.append(
                        BonusAward(index, rule.kind, rule.points, stage.number, stage.date, count)
                    )
        total += points + sum(award.points for award in stage_awards)
        awards.extend(stage_awards)
        results.append(
            StageResult(
                stage=stage,
                status=entry.status,
                activity=entry.activity,
                detected_mode=entry.detected,
                mode=entry.mode,
                points=points,
                bonuses=tuple(stage_awards),
                total=total,
                correction=entry.correction,
            )
        )
    return EventScore(tuple(results), tuple(awards), schema, today)


def _entries(
    stages: Sequence[Stage],
    activities: Sequence[StageActivity],
    schema: PointsSchema,
    corrections: Sequence[StageCorrection],
    time_zone: str | ZoneInfo,
    today: dt.date | None,
    sports: Iterable[str] | None,
) -> list[_Entry]:
    zone = _zone(time_zone)
    by_id = {activity.activity_id: activity for activity in activities}
    corrected = {c.stage: c for c in corrections}
    claimed = {c.activity_id for c in corrections if c.activity_id is not None}
    allowed = None if sports is None else tuple(sports)
    entries: list[_Entry] = []
    for stage in sorted(stages, key=lambda s: s.date):
        if not stage.racing:
            entries.append(_Entry(stage, "rest_day", None, None, None, None))
            continue
        assert stage.number is not None
        correction = corrected.get(stage.number)
        if correction is not None and correction.activity_id is not None:
            activity: StageActivity | None = by_id[correction.activity_id]
        else:
            activity = match_activity(stage, activities, zone, sports=allowed, exclude=claimed)
        detected = (
            None if activity is None else ride_mode(activity.intensity_factor, activity.tss, schema)
        )
        mode = correction.mode if correction is not None and correction.mode else detected
        status: StageStatus
        if mode is not None:
            status = "done"
        elif today is not None and stage.date > today:
            status = "upcoming"
        elif today is not None and stage.date == today:
            status = "pending"
        else:
            status = "missed"
        entries.append(_Entry(stage, status, activity, detected, mode, correction))
    return entries


def score_event(
    stages: Sequence[Stage],
    activities: Sequence[StageActivity],
    schema: PointsSchema = DEFAULT_POINTS,
    corrections: Sequence[StageCorrection] = (),
    *,
    time_zone: str | ZoneInfo = "UTC",
    today: dt.date | None = None,
    sports: Iterable[str] | None = None,
) -> EventScore:
    """The event's stage table: each racing stage matched to its day's activity in
    ``time_zone`` (biggest load; of ``sports`` when given), its mode detected from the ride,
    corrections applied, points and bonuses in stage order with a running total.

    ``today``: stages after it are ``upcoming`` and today's stage without a ride ``pending``
    (neither scores nor breaks a run yet); ``None`` scores the whole event as finished. A stage
    corrected to an activity takes it even from another day; no other stage is matched to an
    activity a correction names. Raises :class:`CorrectionsInvalid` when a correction cannot
    apply (:func:`correction_errors`).
    """
    errors = correction_errors(stages, activities, corrections)
    if errors:
        raise CorrectionsInvalid(errors)
    entries = _entries(stages, activities, schema, corrections, time_zone, today, sports)
    return _tally(entries, schema, today)


def expected_points(score: EventScore, stage_number: int, mode: RideMode) -> int:
    """What riding stage ``stage_number`` in ``mode`` adds to the total: the stage's points
    from the schema and every bonus that ride would complete, the other stages as they
    stand. Computed, never taken from a model."""
    target = score.result(stage_number)
    if target is None:
        raise ValueError(f"no stage {stage_number}")
    without = []
    with_mode = []
    for result in score.results:
        entry = _Entry(
            result.stage,
            result.status,
            result.activity,
            result.detected_mode,
            result.mode,
            result.correction,
        )
        if result.stage.number == stage_number:
            without.append(replace(entry, status="pending", mode=None))
            with_mode.append(replace(entry, status="done", mode=mode))
        else:
            without.append(entry)
            with_mode.append(entry)
    before = _tally(without, score.schema, score.today).total
    after = _tally(with_mode, score.schema, score.today).total
    return after - before


class BonusOpportunity(_Strict):
    """A bonus still to be had: how far along it is and what today's stage can do for it."""

    rule: int = Field(description="Index of the rule in the points schema.")
    kind: BonusKind
    points: int
    progress: int = Field(description="Stages that count towards it so far.")
    needed: int = Field(description="Stages it needs in all.")
    mode: RideMode = Field(description="The least mode a stage must be ridden in to count.")
    completes_today: bool = Field(
        description="Riding today's stage in ``mode`` earns the bonus today."
    )


def bonus_opportunities(score: EventScore, stage_number: int | None) -> list[BonusOpportunity]:
    """The bonuses not yet earned and still possible, with their progress; for the stage
    ``stage_number`` (today's; ``None`` on a day without a stage) whether riding it in the
    rule's mode completes the bonus."""
    schema = score.schema
    earned = {award.rule for award in score.bonuses}
    racing = score.racing()
    final_from = _final_week_start([r.stage for r in racing])
    known = [r for r in racing if r.status in ("done", "missed")]
    opportunities: list[BonusOpportunity] = []
    for index, rule in enumerate(schema.bonuses):
        if index in earned:
            continue
        mode: RideMode = "gc"
        if isinstance(rule, StagesInRowBonus):
            progress = 0
            for result in known:
                progress = progress + 1 if result.status == "done" and _counts(result.mode) else 0
            needed = rule.count
            possible = len(racing) - len(known) + progress >= needed
        elif isinstance(rule, BreakawaysBonus):
            mode = "breakaway"
            progress = score.count("breakaway")
            needed = rule.count
            possible = len(racing) - len(known) + progress >= needed
        elif isinstance(rule, MountainsInBreakawayBonus):
            mode = "breakaway"
            relevant = [r for r in racing if r.stage.type == "mountain"]
            progress = sum(1 for r in relevant if r.status == "done" and r.mode == "breakaway")
            needed = len(relevant)
            possible = bool(relevant) and all(
                r.status not in ("done", "missed") or (r.status == "done" and r.mode == "breakaway")
                for r in relevant
            )
        else:
            if isinstance(rule, FinalWeekBonus):
                relevant = [
                    r for r in racing if final_from is not None and r.stage.date >= final_from
                ]
            else:
                relevant = racing
            progress = sum(1 for r in relevant if r.status == "done" and _counts(r.mode))
            needed = len(relevant)
            possible = bool(relevant) and all(
                r.status not in ("done", "missed") or (r.status == "done" and _counts(r.mode))
                for r in relevant
            )
        if not possible:
            continue
        completes = False
        if stage_number is not None and score.result(stage_number) is not None:
            completes = any(award.rule == index for award in _awards_if(score, stage_number, mode))
        opportunities.append(
            BonusOpportunity(
                rule=index,
                kind=rule.kind,
                points=rule.points,
                progress=progress,
                needed=needed,
                mode=mode,
                completes_today=completes,
            )
        )
    return opportunities


def _awards_if(score: EventScore, stage_number: int, mode: RideMode) -> tuple[BonusAward, ...]:
    entries = [
        _Entry(
            r.stage,
            "done" if r.stage.number == stage_number else r.status,
            r.activity,
            r.detected_mode,
            mode if r.stage.number == stage_number else r.mode,
            r.correction,
        )
        for r in score.results
    ]
    tallied = _tally(entries, score.schema, score.today)
    result = tallied.result(stage_number)
    return () if result is None else result.bonuses


__all__ = [
    "BONUS_KINDS",
    "DEFAULT_POINTS",
    "MODE_RANK",
    "RACING_STAGE_TYPES",
    "RIDE_MODES",
    "AllStagesBonus",
    "BonusAward",
    "BonusKind",
    "BonusOpportunity",
    "BonusRule",
    "BreakawaysBonus",
    "CorrectionError",
    "CorrectionsInvalid",
    "EventScore",
    "FinalWeekBonus",
    "ModeThreshold",
    "ModeThresholds",
    "MountainsInBreakawayBonus",
    "PointsSchema",
    "RideMode",
    "Stage",
    "StageActivity",
    "StageCorrection",
    "StagePoints",
    "StagePointsTable",
    "StageResult",
    "StageType",
    "StagesInRowBonus",
    "bonus_opportunities",
    "correction_errors",
    "expected_points",
    "match_activity",
    "ride_mode",
    "score_event",
]
