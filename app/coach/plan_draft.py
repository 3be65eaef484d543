"""Drafting a plan with the model, the pure part: the owner's questionnaire, the split into
mesocycles (so each call stays small), the prompt of each call and the check of each answer.

Each call drafts the weeks of one mesocycle in the model's flat schema
(:class:`app.coach.llm_schema.LlmPlanDraft`); :func:`draft_problems` says why an answer cannot
continue the plan (wrong weeks, invalid workouts) for the client's one retry, and
:func:`app.coach.llm_schema.plan_from_draft` appends it to what was drafted before. Durations,
distances and loads are Domestique's (the estimates); the guardrails check the whole plan at
the end. No database, network or clock here.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.coach.llm_schema import DraftInvalid, LlmPlanDraft, plan_from_draft
from app.coach.plans import MAX_WEEKS, Availability, Constraints, Goal, Plan

PROMPT_VERSION = "plan-draft-1"
PURPOSE = "plan_draft"
MESOCYCLE_WEEKS = 4
"""Weeks drafted per call (a mesocycle; the last may be shorter)."""

LANGUAGE_NAMES = {"en": "English", "ko": "Korean (한국어)"}


class Questionnaire(BaseModel):
    """What the owner says before a draft: the goal, when the plan starts and how long it
    runs (up to the event's week when there is an event), availability and constraints."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    goal: Goal
    availability: Availability
    constraints: Constraints = Field(default_factory=Constraints)
    start: date
    weeks: int = Field(ge=1, le=MAX_WEEKS)

    @model_validator(mode="after")
    def _event_inside(self) -> Questionnaire:
        event = self.goal.event_date
        if event is not None and not self.start <= event <= self.last_day:
            raise ValueError("the event date must fall inside the plan's weeks")
        return self

    @property
    def last_day(self) -> date:
        return self.start + timedelta(days=7 * self.weeks - 1)


def weeks_until(start: date, event: date) -> int:
    """Weeks from ``start`` whose last one holds ``event``."""
    return max(1, (event - start).days // 7 + 1)


def mesocycles(weeks: int, size: int = MESOCYCLE_WEEKS) -> list[tuple[int, int]]:
    """``(first week index, number of weeks)`` of each call, in order."""
    return [(first, min(size, weeks - first)) for first in range(0, weeks, size)]


SYSTEM = """You are Domestique's endurance coach. Draft part of a training plan for one athlete \
as JSON in the schema given.
Rules:
- Draft exactly the weeks asked for, each starting 7 days after the one before, with a focus \
(base, build, peak, taper, recovery), a short rationale and the week's workouts.
- Workouts only on the available weekdays, never on the days off; respect the weekly hours, the \
injuries and the equipment. About 80 % of the time easy; at most two hard days in a row; a \
recovery week every 3-4 weeks; taper before the event; the event itself is a workout with \
race true on its date.
- Describe each workout as steps with targets (heart-rate zones, paces, power); do not compute \
durations, distances or loads of whole workouts: Domestique computes them and checks the plan \
with deterministic guardrails before the athlete approves it.
- Base the volume on the athlete's recent training in the snapshot (never invent history).
- Names, purposes and rationales in {language}. Set a new workout's id to null.
Return JSON only."""


def _previous_block(previous: Plan | None) -> str:
    if previous is None:
        return "Weeks drafted so far: none (this is the start of the plan)."
    lines = ["Weeks drafted so far (focus and sessions):"]
    for week in previous.weeks:
        sessions = [w for w in previous.workouts if week.holds(w.date)]
        names = ", ".join(f"{w.date.strftime('%a')} {w.sport} {w.name}" for w in sessions)
        lines.append(f"- {week.start.isoformat()} {week.focus}: {names or 'rest'}")
    return "\n".join(lines)


def build_messages(
    questionnaire: Questionnaire,
    *,
    first: int,
    count: int,
    language: str,
    snapshot_text: str,
    previous: Plan | None = None,
) -> list[dict[str, str]]:
    """One call's messages: the rules, the questionnaire, the snapshot and the weeks drafted so
    far as the system message; the weeks to draft as the user's."""
    q = questionnaire
    system = "\n\n".join(
        [
            SYSTEM.format(language=LANGUAGE_NAMES.get(language, "English")),
            "Goal, availability and constraints (JSON):\n"
            + q.model_dump_json(include={"goal", "availability", "constraints"}),
            f"The plan runs {q.weeks} weeks from {q.start.isoformat()} to "
            f"{q.last_day.isoformat()}.",
            f"Athlete snapshot (JSON):\n{snapshot_text}",
            _previous_block(previous),
        ]
    )
    begin = q.start + timedelta(days=7 * first)
    ask = (
        f"Draft weeks {first + 1} to {first + count} of {q.weeks}: {count} weeks starting "
        f"{begin.isoformat()}."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": ask}]


def extend(questionnaire: Questionnaire, draft: LlmPlanDraft, previous: Plan | None) -> Plan:
    """The plan so far with ``draft``'s weeks appended (raises :class:`DraftInvalid`)."""
    q = questionnaire
    return plan_from_draft(
        draft,
        title=q.title,
        goal=q.goal,
        availability=q.availability,
        constraints=q.constraints,
        previous=previous,
    )


def draft_problems(
    questionnaire: Questionnaire,
    draft: LlmPlanDraft,
    *,
    first: int,
    count: int,
    previous: Plan | None,
) -> list[str]:
    """Why ``draft`` cannot be the weeks ``first`` … ``first + count - 1`` of the plan (empty:
    it can)."""
    expected = [
        (questionnaire.start + timedelta(days=7 * (first + i))).isoformat() for i in range(count)
    ]
    starts = [week.start for week in draft.weeks]
    if starts != expected:
        return [
            f"the weeks must start on {', '.join(expected)} (got {', '.join(starts) or 'none'})"
        ]
    try:
        extend(questionnaire, draft, previous)
    except DraftInvalid as invalid:
        return [str(error) for error in invalid.errors]
    return []
