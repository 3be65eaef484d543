"""A training plan: goal, availability, constraints, health reports, weeks and planned workouts.

This is the **import/export format** (``app/coach/plan.schema.json`` is generated from
:class:`Plan` and committed; ``python -m app.coach.schema`` rewrites it) and the shape every
revision of a plan is stored in. What the plan holds is what the owner (questionnaire, import)
or the model (weeks and workouts) provides. Numbers Domestique computes — duration, distance
and load of each workout — are never part of it: they live in
:class:`app.coach.estimate.PlanEstimates`, computed from the owner's thresholds.

Weeks are seven-day periods one after the other (the first may start on any weekday); a
workout belongs to the week whose seven days hold its date. Workouts carry a **stable id** that
survives moves and edits, so revisions can be compared (:mod:`app.coach.diff`) and the watch
keeps its scheduled copy (issue 19).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from datetime import date, timedelta
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from app.coach.workouts import WorkoutSport, WorkoutStructure, sport_errors

SCHEMA_VERSION = 1
PLAN_SCHEMA_ID = "urn:domestique:schema:plan:1"

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WeekFocus = Literal["base", "build", "peak", "taper", "recovery"]
GoalSport = Literal["run", "ride", "swim", "triathlon", "other"]
EventType = Literal[
    "run_5k",
    "run_10k",
    "half_marathon",
    "marathon",
    "ultramarathon",
    "gran_fondo",
    "road_race",
    "time_trial",
    "stage_race",
    "triathlon_sprint",
    "triathlon_olympic",
    "triathlon_half",
    "triathlon_full",
    "open_water_swim",
    "other",
]
HealthKind = Literal["illness", "injury"]

WorkoutId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$", min_length=1, max_length=40)
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]

MAX_WEEKS = 104
MAX_WORKOUTS = 1500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _error(code: str, message: str, **context: object) -> PydanticCustomError:
    return PydanticCustomError(code, message, context)


def weekday_of(day: date) -> Weekday:
    return WEEKDAYS[day.weekday()]


class Goal(_Strict):
    """What the plan builds towards."""

    name: ShortText = Field(description="The event or goal, e.g. “Seoul Marathon 2027”.")
    event_date: date | None = Field(
        default=None, description="The day of the event (YYYY-MM-DD); empty for a fitness goal."
    )
    event_type: EventType = Field(
        default="other",
        description="The kind of event; it sets the taper's length and depth.",
    )
    sport: GoalSport = Field(description="The goal's sport: run, ride, swim, triathlon or other.")
    target: str | None = Field(
        default=None, max_length=300, description="The target in words, e.g. “finish under 3:30”."
    )
    target_time_s: int | None = Field(
        default=None, gt=0, le=14 * 24 * 3600, description="A target finishing time in seconds."
    )


class Availability(_Strict):
    """When the athlete can train."""

    weekdays: list[Weekday] = Field(
        min_length=1, max_length=7, description="Days of the week available for training."
    )
    hours_per_week: float = Field(
        gt=0, le=40, description="Most training hours a week (estimated duration of workouts)."
    )
    long_session_day: Weekday | None = Field(
        default=None, description="The preferred day for the long run or ride."
    )
    days_off: list[date] = Field(
        default_factory=list, description="Single dates without training (travel, family, …)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Availability:
        if len(set(self.weekdays)) != len(self.weekdays):
            raise _error("weekday_repeated", "a weekday is listed twice in weekdays")
        if self.long_session_day is not None and self.long_session_day not in self.weekdays:
            raise _error(
                "long_day_unavailable",
                "long_session_day {day} is not one of the available weekdays",
                day=self.long_session_day,
            )
        if len(set(self.days_off)) != len(self.days_off):
            raise _error("day_off_repeated", "a date is listed twice in days_off")
        return self

    def is_available(self, day: date) -> bool:
        return weekday_of(day) in self.weekdays and day not in self.days_off


class Constraints(_Strict):
    """What limits the training, in words and as flags the guardrails and mappings read."""

    injuries: str | None = Field(
        default=None, max_length=1000, description="Injuries and niggles to respect, in words."
    )
    equipment: str | None = Field(
        default=None, max_length=1000, description="Equipment at hand, in words."
    )
    notes: str | None = Field(
        default=None, max_length=2000, description="Anything else the coach should know."
    )
    indoor_trainer: bool = Field(default=False, description="An indoor trainer is available.")
    power_meter: bool = Field(default=False, description="Rides can be paced by power.")
    pool_access: bool = Field(default=False, description="A pool is available for swims.")


class HealthReport(_Strict):
    """An illness or injury the owner reported. Training rests from ``start`` until the owner
    clears it (``cleared_on``); ``end`` is the day they expect it to be over."""

    id: WorkoutId = Field(description="Stable id of the report.")
    kind: HealthKind = Field(description="illness or injury.")
    start: date = Field(description="First day affected.")
    end: date | None = Field(
        default=None, description="Last day the owner expects to be affected; empty: open."
    )
    cleared_on: date | None = Field(
        default=None, description="The day the owner said they are well again."
    )
    sports: list[WorkoutSport] | None = Field(
        default=None,
        description="For an injury: the sports it rules out (empty: every sport).",
    )
    note: str | None = Field(default=None, max_length=500, description="What the owner said.")

    @model_validator(mode="after")
    def _ordered(self) -> HealthReport:
        if self.end is not None and self.end < self.start:
            raise _error(
                "health_end_before_start",
                "health report {id}: end {end} is before start {start}",
                id=self.id,
                end=self.end.isoformat(),
                start=self.start.isoformat(),
            )
        if self.cleared_on is not None and self.cleared_on < self.start:
            raise _error(
                "health_cleared_before_start",
                "health report {id}: cleared_on {cleared} is before start {start}",
                id=self.id,
                cleared=self.cleared_on.isoformat(),
                start=self.start.isoformat(),
            )
        return self

    def rest_until(self) -> date | None:
        """The last day of rest: the day before clearing, else ``end``; ``None`` when open."""
        if self.cleared_on is not None:
            return self.cleared_on - timedelta(days=1)
        return self.end

    def affects(self, sport: str) -> bool:
        return self.sports is None or sport in self.sports


class Citation(_Strict):
    """A passage of the coach's library a week's rationale rests on."""

    doc: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,60}$")] = Field(
        description="The library document's slug, e.g. “tapering”."
    )
    section: ShortText = Field(description="The section heading, as written in the document.")


class Week(_Strict):
    """Seven days of the plan with their focus and why."""

    start: date = Field(description="First day of the week (YYYY-MM-DD).")
    focus: WeekFocus = Field(description="base, build, peak, taper or recovery.")
    rationale: str = Field(
        default="", max_length=2000, description="Why this week looks the way it does."
    )
    citations: list[Citation] = Field(
        default_factory=list, max_length=10, description="Library passages the rationale cites."
    )

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end


class PlannedWorkout(_Strict):
    """One session on one day."""

    id: WorkoutId = Field(
        description="Stable id (letters, digits, - and _): it survives moves and edits."
    )
    date: dt.date = Field(description="The day of the session (YYYY-MM-DD).")
    sport: WorkoutSport = Field(description="run, ride, swim, strength or other.")
    name: ShortText = Field(description="Short name shown on the calendar and the watch.")
    purpose: str = Field(
        default="", max_length=500, description="What the session is for, in a sentence."
    )
    key: bool = Field(
        default=False,
        description="A key session of the week (long run, main intervals): kept when the "
        "guardrails trim others, and followed by an easy day.",
    )
    race: bool = Field(
        default=False, description="A race or event: never shortened or moved by the guardrails."
    )
    structure: WorkoutStructure = Field(description="The steps of the session.")
    notes: str | None = Field(default=None, max_length=2000, description="Notes for the athlete.")

    @model_validator(mode="after")
    def _fits_sport(self) -> PlannedWorkout:
        errors = sport_errors(self.sport, self.structure)
        if errors:
            first = errors[0]
            raise PydanticCustomError(
                first.type,
                f"workout {self.id}: " + first.message_template,
                {**(first.context or {}), "workout": self.id},
            )
        return self


class Plan(_Strict):
    """A training plan in Domestique's import/export format."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Domestique training plan",
        json_schema_extra={"$id": PLAN_SCHEMA_ID},
    )

    schema_version: Literal[1] = Field(
        default=SCHEMA_VERSION, description="Version of this format (1)."
    )
    title: ShortText = Field(description="Name of the plan.")
    goal: Goal = Field(description="The goal: event, date, sport and target.")
    availability: Availability = Field(description="The days and hours available for training.")
    constraints: Constraints = Field(
        default_factory=Constraints, description="Injuries, equipment and other limits."
    )
    health: list[HealthReport] = Field(
        default_factory=list, description="Illnesses and injuries the owner reported."
    )
    weeks: list[Week] = Field(
        min_length=1,
        max_length=MAX_WEEKS,
        description="The weeks in order, each starting seven days after the one before.",
    )
    workouts: list[PlannedWorkout] = Field(
        default_factory=list, max_length=MAX_WORKOUTS, description="Every planned session."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Plan:
        for before, after in pairwise(self.weeks):
            if after.start != before.start + timedelta(days=7):
                raise _error(
                    "weeks_not_consecutive",
                    "week starting {start} should start on {expected}, seven days after the "
                    "week before",
                    start=after.start.isoformat(),
                    expected=(before.start + timedelta(days=7)).isoformat(),
                )
        repeated = [key for key, count in Counter(w.id for w in self.workouts).items() if count > 1]
        if repeated:
            raise _error(
                "workout_id_repeated", "workout id {id} is used twice", id=sorted(repeated)[0]
            )
        first, last = self.first_day, self.last_day
        for workout in self.workouts:
            if not first <= workout.date <= last:
                raise _error(
                    "workout_outside_plan",
                    "workout {id} on {date} is outside the plan ({first} to {last})",
                    id=workout.id,
                    date=workout.date.isoformat(),
                    first=first.isoformat(),
                    last=last.isoformat(),
                )
        health_ids = [report.id for report in self.health]
        if len(set(health_ids)) != len(health_ids):
            raise _error("health_id_repeated", "a health report id is used twice")
        return self

    @property
    def first_day(self) -> date:
        return self.weeks[0].start

    @property
    def last_day(self) -> date:
        return self.weeks[-1].end

    def week_index(self, day: date) -> int | None:
        """Index of the week holding ``day``; ``None`` outside the plan."""
        offset = (day - self.first_day).days
        if offset < 0 or day > self.last_day:
            return None
        return offset // 7

    def workout(self, workout_id: str) -> PlannedWorkout | None:
        return next((w for w in self.workouts if w.id == workout_id), None)

    def sorted_workouts(self) -> list[PlannedWorkout]:
        """Workouts by date, then by id (a stable order for every consumer)."""
        return sorted(self.workouts, key=lambda w: (w.date, w.id))
