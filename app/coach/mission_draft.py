"""The mission builder's pure parts: the wizard's answers, the model's draft of the mission,
its conversion into a :class:`~app.coach.missions.Mission`, and the wrap-up after the event.

The owner answers the wizard (:class:`MissionWizard`: the event's name and dates, its type,
weekly hours, training days, current FTP or threshold pace, constraints, the event-mode style
and how to be told). The model drafts the rest in :class:`LlmMissionDraft` — a strict schema
made like the plan draft's (:mod:`app.coach.llm_schema`): the preparation's start, the phases,
the points schema (one row per stage type, the modes' thresholds, typed bonuses), the stage
plan, the constraints and notes. :func:`mission_from_draft` turns it into a validated mission
with the owner's answers winning (name, type, event dates, time zone, style), or raises
:class:`~app.coach.llm_schema.DraftInvalid` with every problem placed in the model's output,
ready for the one retry.

After the event, :func:`event_summary` computes the numbers the wrap-up prompt carries (stages,
modes, points, bonuses, loads) from the scored event; the model answers
:class:`LlmWrapUp` (a headline, what went well, what to change) and :func:`wrap_up_from_llm`
keeps the numbers next to its words, so they are never the model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.coach.llm_schema import (
    DraftError,
    DraftInvalid,
    errors_from_validation,
    parse_day,
    strict_json_schema,
)
from app.coach.missions import (
    EventStyle,
    Mission,
    MissionConstraints,
    MissionType,
    NotifyBy,
    PhaseSpan,
    TrainingPhase,
    mission_errors,
    zone_of,
)
from app.coach.plans import ShortText, Weekday
from app.coach.points import (
    RACING_STAGE_TYPES,
    BonusKind,
    BonusRule,
    EventScore,
    ModeThreshold,
    ModeThresholds,
    PointsSchema,
    RacingStageType,
    Stage,
    StagePoints,
    StagePointsTable,
    StageType,
)

MAX_WRAP_UP_ITEMS = 6
COUNTED_BONUSES = frozenset({"stages_in_row", "breakaways"})
"""Bonus kinds that need a ``count``."""
BONUS_RULE: TypeAdapter[BonusRule] = TypeAdapter(BonusRule)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _error(code: str, message: str, **context: object) -> PydanticCustomError:
    return PydanticCustomError(code, message, context)


# --------------------------------------------------------------------------------------------
# The wizard


class MissionWizard(_Strict):
    """The owner's answers to the mission builder."""

    event_name: ShortText = Field(description="The event, e.g. “Virtual Tour 2027”.")
    event_start: date = Field(description="The event's (first) day.")
    event_end: date | None = Field(
        default=None, description="The last day of a multi-day event; empty for one day."
    )
    type: MissionType
    time_zone: str = Field(description="IANA time zone of the event's days.")
    weekly_hours_min: float = Field(gt=0, le=40, description="Fewest training hours a week.")
    weekly_hours_max: float = Field(gt=0, le=40, description="Most training hours a week.")
    training_days: list[Weekday] = Field(min_length=1, max_length=7)
    ftp_w: float | None = Field(default=None, ge=30, le=2500, description="Current FTP in W.")
    threshold_pace_s_per_km: float | None = Field(
        default=None, ge=120, le=1200, description="Current threshold pace in seconds per km."
    )
    constraints: MissionConstraints = Field(default_factory=MissionConstraints)
    style: EventStyle = "gc"
    notify_by: list[NotifyBy] = Field(default_factory=list, max_length=2)

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

    @model_validator(mode="after")
    def _consistent(self) -> MissionWizard:
        if self.weekly_hours_min > self.weekly_hours_max:
            raise _error(
                "hours_order",
                "the fewest weekly hours ({low}) are more than the most ({high})",
                low=self.weekly_hours_min,
                high=self.weekly_hours_max,
            )
        if len(set(self.training_days)) != len(self.training_days):
            raise _error("weekday_repeated", "a weekday is listed twice in training_days")
        if self.event_end is not None and self.event_end < self.event_start:
            raise _error(
                "event_end_before_start",
                "the event ends ({end}) before it starts ({start})",
                end=self.event_end.isoformat(),
                start=self.event_start.isoformat(),
            )
        return self

    @property
    def last_day(self) -> date:
        return self.event_end or self.event_start


def wizard_errors(wizard: MissionWizard, *, today: date) -> list[DraftError]:
    """What the answers cannot be on ``today`` (the owner's local day): an event already
    started. Empty when they are fine."""
    if wizard.event_start <= today:
        return [
            DraftError(
                ("event_start",),
                "event_in_past",
                f"the event starts on {wizard.event_start.isoformat()}, not after today "
                f"({today.isoformat()})",
                {"date": wizard.event_start.isoformat(), "today": today.isoformat()},
            )
        ]
    return []


# --------------------------------------------------------------------------------------------
# The model's draft


class _Llm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LlmPhase(_Llm):
    """A training phase."""

    phase: TrainingPhase = Field(description="base, build, peak or taper (in this order).")
    start: str = Field(description="First day, YYYY-MM-DD (the first phase: prep_start).")
    end: str = Field(description="Last day, YYYY-MM-DD (the last phase: the day before the event).")


class LlmStagePoints(_Llm):
    """Points for one stage type."""

    stage_type: RacingStageType = Field(description="flat, hilly, mountain, itt or mountain_itt.")
    gc: int = Field(description="Points for the stage ridden in GC mode (0-1000).")
    breakaway: int = Field(description="Points for the stage ridden in breakaway (0-1000).")


class LlmBonus(_Llm):
    """A bonus rule."""

    kind: BonusKind = Field(
        description="stages_in_row (count stages in a row in GC or breakaway), breakaways "
        "(count breakaways), mountains_in_breakaway (every mountain stage in breakaway), "
        "final_week (every stage of the last seven days ridden), all_stages (every stage "
        "ridden at least in GC)."
    )
    count: int | None = Field(description="The count for stages_in_row and breakaways; else null.")
    points: int = Field(description="Points of the bonus (0-1000).")


class LlmPoints(_Llm):
    """The points schema."""

    stages: list[LlmStagePoints] = Field(description="One row for each of the five stage types.")
    gc_min_if: float = Field(description="Least intensity factor of a GC ride, e.g. 0.70.")
    gc_min_tss: float = Field(description="Least TSS of a GC ride, e.g. 40.")
    breakaway_min_if: float = Field(description="Least IF of a breakaway, e.g. 0.85.")
    breakaway_min_tss: float = Field(description="Least TSS of a breakaway, e.g. 60.")
    bonuses: list[LlmBonus] = Field(description="Bonus rules.")


class LlmStage(_Llm):
    """A day of the stage plan."""

    number: int | None = Field(description="Stage number, 1 upwards by date; null on rest days.")
    date: str = Field(description="The stage's day, YYYY-MM-DD, within the event.")
    type: StageType = Field(
        description="flat, hilly, mountain, itt (individual time trial), mountain_itt or rest."
    )
    name: str | None = Field(description="A short name, e.g. start → finish, or null.")


class LlmConstraints(_Llm):
    """What the daily coach must respect."""

    min_readiness: float | None = Field(description="No hard day below this readiness, or null.")
    min_tsb: float | None = Field(description="No hard day below this form (TSB), or null.")
    max_hard_days_per_week: int | None = Field(
        description="Most hard days in any seven days, or null."
    )
    notes: str | None = Field(description="Other constraints in words, or null.")


class LlmMissionDraft(_Llm):
    """The mission's season and scoring, drafted from the owner's answers."""

    prep_start: str = Field(description="First day of the preparation, YYYY-MM-DD.")
    event_start: str = Field(description="The event's first day, YYYY-MM-DD, as the owner gave.")
    event_end: str = Field(description="The event's last day, YYYY-MM-DD.")
    goal: str = Field(description="The goal in one or two sentences, in the owner's language.")
    phases: list[LlmPhase] = Field(description="The phases from prep_start to the event.")
    points: LlmPoints = Field(description="How the event scores.")
    stages: list[LlmStage] = Field(
        description="The stage plan of a multi-day event, by date (empty for one day)."
    )
    constraints: LlmConstraints = Field(description="Constraints for the daily coach.")
    notes: str | None = Field(description="Notes for the owner, or null.")


def llm_mission_schema() -> dict[str, Any]:
    """The strict schema of :class:`LlmMissionDraft`."""
    return strict_json_schema(LlmMissionDraft)


def _validate(
    model: type[BaseModel], data: dict[str, Any], loc: tuple[str | int, ...], errors: list
) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        errors.extend(errors_from_validation(error, loc))
        return None


def _day(text: str, loc: tuple[str | int, ...], errors: list[DraftError]) -> date | None:
    try:
        return parse_day(text, loc)
    except DraftInvalid as invalid:
        errors.extend(invalid.errors)
        return None


def _points(points: LlmPoints, errors: list[DraftError]) -> PointsSchema | None:
    loc: tuple[str | int, ...] = ("points",)
    rows: dict[str, StagePoints] = {}
    for index, row in enumerate(points.stages):
        here = (*loc, "stages", index)
        if row.stage_type in rows:
            errors.append(
                DraftError(
                    (*here, "stage_type"),
                    "stage_points_repeated",
                    f"{row.stage_type} has a second row",
                    {"stage_type": row.stage_type},
                )
            )
            continue
        parsed = _validate(StagePoints, {"gc": row.gc, "breakaway": row.breakaway}, here, errors)
        if parsed is not None:
            rows[row.stage_type] = parsed
    for stage_type in RACING_STAGE_TYPES:
        if stage_type not in rows and not any(r.stage_type == stage_type for r in points.stages):
            errors.append(
                DraftError(
                    (*loc, "stages"),
                    "stage_points_missing",
                    f"no row for {stage_type} stages",
                    {"stage_type": stage_type},
                )
            )
    thresholds = None
    gc = _validate(
        ModeThreshold, {"min_if": points.gc_min_if, "min_tss": points.gc_min_tss}, loc, errors
    )
    breakaway = _validate(
        ModeThreshold,
        {"min_if": points.breakaway_min_if, "min_tss": points.breakaway_min_tss},
        loc,
        errors,
    )
    if gc is not None and breakaway is not None:
        thresholds = _validate(ModeThresholds, {"gc": gc, "breakaway": breakaway}, loc, errors)
    bonuses: list[BonusRule] = []
    for index, bonus in enumerate(points.bonuses):
        here = (*loc, "bonuses", index)
        data: dict[str, Any] = {"kind": bonus.kind, "points": bonus.points}
        if bonus.kind in COUNTED_BONUSES:
            if bonus.count is None:
                errors.append(
                    DraftError(
                        (*here, "count"),
                        "bonus_count_missing",
                        f"a {bonus.kind} bonus needs a count",
                        {"bonus": bonus.kind},
                    )
                )
                continue
            data["count"] = bonus.count
        try:
            bonuses.append(BONUS_RULE.validate_python(data))
        except ValidationError as error:
            errors.extend(
                DraftError(
                    (*here, *[part for part in item.loc[1:]]), item.code, item.message, item.params
                )
                for item in errors_from_validation(error)
            )
    if len(rows) != len(RACING_STAGE_TYPES) or thresholds is None:
        return None
    try:
        return PointsSchema(
            stage_points=StagePointsTable(**rows), thresholds=thresholds, bonuses=bonuses
        )
    except ValidationError as error:
        errors.extend(errors_from_validation(error, loc))
        return None


def mission_from_draft(draft: LlmMissionDraft, wizard: MissionWizard) -> Mission:
    """The mission the draft describes, with the owner's answers: name, type, event dates, time
    zone, style and how to be told are the owner's (a draft that moves the event is refused
    with ``event_date_changed``); constraints the owner set win over the model's. Raises
    :class:`DraftInvalid` listing every problem in place."""
    errors: list[DraftError] = []
    prep_start = _day(draft.prep_start, ("prep_start",), errors)
    event_start = _day(draft.event_start, ("event_start",), errors)
    event_end = _day(draft.event_end, ("event_end",), errors)
    for loc, given, expected in (
        (("event_start",), event_start, wizard.event_start),
        (("event_end",), event_end, wizard.last_day),
    ):
        if given is not None and given != expected:
            errors.append(
                DraftError(
                    loc,
                    "event_date_changed",
                    f"{given.isoformat()} is not the owner's date {expected.isoformat()}",
                    {"date": given.isoformat(), "expected": expected.isoformat()},
                )
            )
    phases: list[PhaseSpan] = []
    phase_index: list[int] = []
    for index, llm_phase in enumerate(draft.phases):
        here: tuple[str | int, ...] = ("phases", index)
        start = _day(llm_phase.start, (*here, "start"), errors)
        end = _day(llm_phase.end, (*here, "end"), errors)
        if start is None or end is None:
            continue
        span = _validate(
            PhaseSpan, {"phase": llm_phase.phase, "start": start, "end": end}, here, errors
        )
        if span is not None:
            phases.append(span)
            phase_index.append(index)
    stages: list[Stage] = []
    stage_index: list[int] = []
    for index, llm_stage in enumerate(draft.stages):
        here = ("stages", index)
        day = _day(llm_stage.date, (*here, "date"), errors)
        if day is None:
            continue
        stage = _validate(
            Stage,
            {
                "number": llm_stage.number,
                "date": day,
                "type": llm_stage.type,
                "name": llm_stage.name,
            },
            here,
            errors,
        )
        if stage is not None:
            stages.append(stage)
            stage_index.append(index)
    points = _points(draft.points, errors)
    model_constraints = _validate(
        MissionConstraints, draft.constraints.model_dump(), ("constraints",), errors
    )
    if prep_start is not None:
        for problem in mission_errors(
            prep_start=prep_start,
            event_start=wizard.event_start,
            event_end=wizard.last_day,
            stages=stages,
            phases=phases if len(phases) == len(draft.phases) else (),
            check_numbers=len(stages) == len(draft.stages),
        ):
            loc = problem.loc
            if loc and loc[0] == "stages" and len(loc) > 1 and isinstance(loc[1], int):
                loc = ("stages", stage_index[loc[1]], *loc[2:])
            elif loc and loc[0] == "phases" and len(loc) > 1 and isinstance(loc[1], int):
                loc = ("phases", phase_index[loc[1]], *loc[2:])
            if loc in (("event_end",),) and problem.code == "event_end_before_start":
                continue  # the owner's dates were checked by the wizard
            errors.append(DraftError(loc, problem.code, problem.message, problem.params))
    if errors or prep_start is None or points is None or model_constraints is None:
        raise DraftInvalid(errors)
    constraints = _merged_constraints(model_constraints, wizard.constraints)
    try:
        return Mission(
            name=wizard.event_name,
            type=wizard.type,
            prep_start=prep_start,
            event_start=wizard.event_start,
            event_end=wizard.last_day,
            time_zone=wizard.time_zone,
            goal=draft.goal.strip(),
            constraints=constraints,
            points=points,
            stages=stages,
            phases=phases,
            style=wizard.style,
            weekly_hours_min=wizard.weekly_hours_min,
            weekly_hours_max=wizard.weekly_hours_max,
            training_days=wizard.training_days,
            notify_by=wizard.notify_by,
            notes=draft.notes or None,
        )
    except ValidationError as error:
        raise DraftInvalid(errors_from_validation(error)) from None


def _merged_constraints(model: MissionConstraints, owner: MissionConstraints) -> MissionConstraints:
    """The owner's constraints where they set one, the model's elsewhere; notes joined."""
    notes = [text for text in (owner.notes, model.notes) if text]
    return MissionConstraints(
        min_readiness=owner.min_readiness
        if owner.min_readiness is not None
        else model.min_readiness,
        min_tsb=owner.min_tsb if owner.min_tsb is not None else model.min_tsb,
        max_hard_days_per_week=owner.max_hard_days_per_week
        if owner.max_hard_days_per_week is not None
        else model.max_hard_days_per_week,
        notes="\n".join(notes)[:1000] or None,
    )


# --------------------------------------------------------------------------------------------
# The wrap-up


@dataclass(frozen=True)
class EventSummary:
    """The event in numbers, computed from the scored stages (the wrap-up prompt carries it)."""

    stages_total: int
    stages_ridden: int
    """Stages ridden in GC or breakaway."""
    stages_missed: int
    breakaways: int
    gc: int
    rest_rides: int
    """Stages with a ride too easy to count (mode rest)."""
    corrected: int
    stage_points: int
    bonus_points: int
    total_points: int
    best_stage_points: int
    """The stage points had every stage been ridden in breakaway."""
    bonuses_earned: tuple[str, ...]
    bonuses_missed: tuple[str, ...]
    longest_streak: int
    total_tss: float
    total_hours: float
    mean_if: float | None
    """Duration-weighted over the stages' rides that have both."""
    hardest_stage: int | None
    hardest_tss: float | None
    ctl_start: float | None = None
    ctl_end: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "stages_total": self.stages_total,
            "stages_ridden": self.stages_ridden,
            "stages_missed": self.stages_missed,
            "breakaways": self.breakaways,
            "gc": self.gc,
            "rest_rides": self.rest_rides,
            "corrected": self.corrected,
            "stage_points": self.stage_points,
            "bonus_points": self.bonus_points,
            "total_points": self.total_points,
            "best_stage_points": self.best_stage_points,
            "bonuses_earned": list(self.bonuses_earned),
            "bonuses_missed": list(self.bonuses_missed),
            "longest_streak": self.longest_streak,
            "total_tss": round(self.total_tss),
            "total_hours": round(self.total_hours, 1),
            "mean_if": None if self.mean_if is None else round(self.mean_if, 2),
            "hardest_stage": self.hardest_stage,
            "hardest_tss": None if self.hardest_tss is None else round(self.hardest_tss),
            "ctl_start": None if self.ctl_start is None else round(self.ctl_start, 1),
            "ctl_end": None if self.ctl_end is None else round(self.ctl_end, 1),
        }


def event_summary(
    score: EventScore, *, ctl_start: float | None = None, ctl_end: float | None = None
) -> EventSummary:
    """The numbers of a finished (or ongoing) event from its stage table. ``ctl_start`` and
    ``ctl_end``: fitness before the first stage and after the last, when the service has
    them."""
    racing = score.racing()
    done = [r for r in racing if r.status == "done"]
    ridden = [r for r in done if r.mode in ("gc", "breakaway")]
    streak = longest = 0
    for result in racing:
        if result.status in ("pending", "upcoming"):
            break
        streak = streak + 1 if result in ridden else 0
        longest = max(longest, streak)
    activities = [r.activity for r in racing if r.activity is not None]
    total_tss = sum(a.tss or 0.0 for a in activities)
    hours = sum((a.duration_s or 0.0) for a in activities) / 3600.0
    weighted = [
        (a.intensity_factor, a.duration_s)
        for a in activities
        if a.intensity_factor is not None and a.duration_s
    ]
    seconds = sum(d for _, d in weighted)
    mean_if = sum(f * d for f, d in weighted) / seconds if seconds else None
    hardest = max(
        (r for r in racing if r.activity is not None and r.activity.tss is not None),
        key=lambda r: r.activity.tss,  # type: ignore[union-attr]
        default=None,
    )
    earned_rules = {award.rule for award in score.bonuses}
    table = score.schema.stage_points
    return EventSummary(
        stages_total=len(racing),
        stages_ridden=len(ridden),
        stages_missed=sum(1 for r in racing if r.status == "missed"),
        breakaways=score.count("breakaway"),
        gc=score.count("gc"),
        rest_rides=score.count("rest"),
        corrected=sum(1 for r in racing if r.correction is not None),
        stage_points=score.stage_points,
        bonus_points=score.bonus_points,
        total_points=score.total,
        best_stage_points=sum(table.points(r.stage.type, "breakaway") for r in racing),
        bonuses_earned=tuple(award.kind for award in score.bonuses),
        bonuses_missed=tuple(
            rule.kind
            for index, rule in enumerate(score.schema.bonuses)
            if index not in earned_rules
        ),
        longest_streak=longest,
        total_tss=total_tss,
        total_hours=hours,
        mean_if=mean_if,
        hardest_stage=None if hardest is None else hardest.stage.number,
        hardest_tss=None if hardest is None or hardest.activity is None else hardest.activity.tss,
        ctl_start=ctl_start,
        ctl_end=ctl_end,
    )


class LlmWrapUp(_Llm):
    """The coach's look back at the event (the numbers are given; do not restate them all)."""

    headline: str = Field(description="One sentence on the event, in the owner's language.")
    went_well: list[str] = Field(description="What went well, 1-6 short points citing numbers.")
    to_change: list[str] = Field(description="What to change next time, 1-6 short points.")


def llm_wrap_up_schema() -> dict[str, Any]:
    """The strict schema of :class:`LlmWrapUp`."""
    return strict_json_schema(LlmWrapUp)


class WrapUp(_Strict):
    """The wrap-up as stored: the coach's words and the numbers computed by code."""

    headline: str = Field(min_length=1, max_length=300)
    went_well: list[str] = Field(min_length=1, max_length=MAX_WRAP_UP_ITEMS)
    to_change: list[str] = Field(min_length=1, max_length=MAX_WRAP_UP_ITEMS)
    numbers: dict[str, Any]

    @field_validator("went_well", "to_change")
    @classmethod
    def _short(cls, value: list[str]) -> list[str]:
        for item in value:
            if len(item) > 500:
                raise _error(
                    "text_too_long",
                    "a point is {length} characters long; 500 at most",
                    length=len(item),
                )
        return value


def wrap_up_from_llm(llm: LlmWrapUp, summary: EventSummary) -> WrapUp:
    """The wrap-up with the computed numbers; raises :class:`DraftInvalid` with every problem
    placed (an empty headline or list, too many or too long points)."""
    errors: list[DraftError] = []
    if not llm.headline.strip():
        errors.append(DraftError(("headline",), "text_missing", "the headline is empty"))
    for name in ("went_well", "to_change"):
        items: Sequence[str] = getattr(llm, name)
        if not [item for item in items if item.strip()]:
            errors.append(DraftError((name,), "wrap_up_empty", f"{name} has no point"))
    if errors:
        raise DraftInvalid(errors)
    try:
        return WrapUp(
            headline=llm.headline.strip(),
            went_well=[item.strip() for item in llm.went_well if item.strip()],
            to_change=[item.strip() for item in llm.to_change if item.strip()],
            numbers=summary.as_dict(),
        )
    except ValidationError as error:
        raise DraftInvalid(errors_from_validation(error)) from None


__all__ = [
    "EventSummary",
    "LlmMissionDraft",
    "LlmWrapUp",
    "MissionWizard",
    "WrapUp",
    "event_summary",
    "llm_mission_schema",
    "llm_wrap_up_schema",
    "mission_from_draft",
    "wizard_errors",
    "wrap_up_from_llm",
]
