"""The plan chat, the pure part: what the model answers when the owner asks to change the plan
("move the long run to Sunday", "I have a cold until Thursday") — a short answer in words and a
**change set** (:class:`app.coach.changes.ChangeSet`), or ``null`` when the message asks for an
explanation only — and the prompt: the rules, today, the athlete's snapshot and the plan the
change applies to, in the model's flat schema (:func:`app.coach.llm_schema.draft_from_plan`,
so workouts show their ids).

The change set is applied by code (:func:`app.coach.changes.apply`), checked by the guardrails
and kept as a PROPOSED revision; :func:`change_problems` lets the client re-ask once with the
reasons a change set cannot be applied. No database, network or clock here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.coach import changes
from app.coach.llm_schema import draft_from_plan, strict_json_schema
from app.coach.plans import Plan

PROMPT_VERSION = "plan-change-1"
PURPOSE = "plan_change"
MAX_MESSAGE_CHARS = 2000

LANGUAGE_NAMES = {"en": "English", "ko": "Korean (한국어)"}


class PlanChatReply(BaseModel):
    """What the model must return: both fields, nothing else."""

    model_config = ConfigDict(extra="forbid")

    answer: str = Field(
        description="What you changed and why, or the explanation asked for, in a few sentences "
        "in the athlete's language."
    )
    change_set: changes.ChangeSet | None = Field(
        description="The changes to the plan, or null when the athlete asked for no change."
    )


def reply_schema() -> dict[str, Any]:
    return strict_json_schema(PlanChatReply)


SYSTEM = """You are Domestique's endurance coach. The athlete talks to you about their \
training plan (below, with each workout's id).
Rules:
- When the athlete asks for a change, or reports an illness, an injury, a day off or a new race, \
answer with a change set: operations on workouts and weeks, in order, referring to workouts by \
their id. Change only what the message calls for; dates are YYYY-MM-DD, today is {today}, and \
past days cannot change (reporting an illness may name them).
- When the athlete only asks a question, explain in "answer" and set "change_set" to null.
- Do not compute durations, distances or loads: Domestique computes them and checks every change \
with its guardrails; the athlete approves the result before anything reaches the calendar.
- Answer in {language}, briefly, supportive and direct, never guilt. You do not diagnose; for \
pain, fever or chest symptoms, advise seeing a doctor.
Return JSON only, in the schema given."""


def build_messages(
    message: str,
    *,
    plan: Plan,
    today: date,
    language: str,
    snapshot_text: str,
) -> list[dict[str, str]]:
    """The rules, the athlete's snapshot and the plan as the system message, then the
    athlete's message."""
    system = "\n\n".join(
        [
            SYSTEM.format(
                today=today.isoformat(), language=LANGUAGE_NAMES.get(language, "English")
            ),
            f"Athlete snapshot (JSON):\n{snapshot_text}",
            f"The plan (JSON):\n{draft_from_plan(plan).model_dump_json()}",
        ]
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": message.strip()}]


def change_problems(plan: Plan, reply: PlanChatReply, today: date) -> list[str]:
    """Why the reply's change set cannot be applied to ``plan`` (empty: it can, or there is
    none) — what the client sends back for its one retry."""
    if reply.change_set is None or not reply.change_set.operations:
        return []
    try:
        changes.apply(plan, reply.change_set, today=today)
    except changes.ChangeSetInvalid as invalid:
        return [str(error) for error in invalid.errors]
    return []
