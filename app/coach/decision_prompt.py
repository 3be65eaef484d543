"""The morning decision's prompt: the rules, the athlete's day as JSON, the library's
passages, in the owner's language. Pure (no clock, database or network).

The model answers :class:`app.coach.decision.LlmDecision` (strict schema); the service checks it
with :func:`app.coach.decision.decision_from_llm` — whose problems go back to the model once
(:func:`decision_problems`) — and then the safety rules have the last word
(:func:`app.coach.decision.apply_safety`). Points are never asked of the model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from app.coach.decision import DecisionSnapshot, LlmDecision, decision_from_llm
from app.coach.llm_schema import DraftInvalid, llm_workout

PROMPT_VERSION = "daily-decision-1"
PURPOSE = "daily_decision"
LANGUAGE_NAMES = {"en": "English", "ko": "Korean (한국어)"}

SYSTEM = """You are Domestique's endurance coach. Every morning you decide today's training \
for one athlete from the data below (their own measurements; Domestique computed every load, \
form and point; some groups may be withheld by the athlete — decide without them).
Rules:
- Choose one action: rest, recover, ease, maintain (as planned) or push.
- Ground the reason on the numbers given: readiness, the 7-day HRV against the athlete's \
normal band, sleep, form (TSB), the CTL ramp, the last sessions, today's planned workout, the \
mission's phase. Two or three sentences, in {language}, addressed to the athlete.
- The workout: null when the plan's session stands as it is or on a rest day; otherwise today's \
session ({today}) as steps, keeping the plan's workout id when you adjust it.
- On a stage day of the event choose the ride mode (rest, gc or breakaway) and say why; on \
other days ride_mode is null. Do not compute points: Domestique does.
- Safety first: low readiness, HRV below the band, deep fatigue or an illness mean easier, \
not harder. Domestique's safety rules check your answer and overrule what is unsafe.
- Cite nothing you were not given; if data are missing, say so and decide conservatively."""


def today_block(snapshot: DecisionSnapshot) -> dict[str, object]:
    """What the model needs about today beyond the coach's context snapshot: the planned
    workout and the mission's countdown (phase, days to the event, today's stage). Nothing
    here comes from an activity's data: the context snapshot is the only part built from
    recordings, and it leaves out what may not reach a model (Strava API data, the groups the
    owner withheld)."""
    return {
        "today": snapshot.today.isoformat(),
        "planned": None
        if snapshot.planned is None
        else llm_workout(snapshot.planned).model_dump(mode="json"),
        "mission": None if snapshot.countdown is None else snapshot.countdown.as_dict(),
        "stage_day": snapshot.stage is not None,
    }


def build_messages(
    snapshot: DecisionSnapshot,
    *,
    context_text: str,
    language: str,
    passages: Sequence[str] = (),
) -> list[dict[str, str]]:
    """The rules and the library's passages as the system message; the coach's context
    snapshot (``context_text``: the AI-safe JSON of ``app.services.coach.context``) and
    today's block as the user message."""
    parts = [
        SYSTEM.format(
            today=snapshot.today.isoformat(), language=LANGUAGE_NAMES.get(language, "English")
        )
    ]
    if passages:
        parts.append("Guidelines from the coaching library:\n" + "\n\n".join(passages))
    today = json.dumps(today_block(snapshot), ensure_ascii=False, sort_keys=True)
    return [
        {"role": "system", "content": "\n\n".join(parts)},
        {
            "role": "user",
            "content": f"Athlete snapshot (JSON):\n{context_text}\n\nToday (JSON):\n{today}",
        },
    ]


def decision_problems(llm: LlmDecision, snapshot: DecisionSnapshot) -> list[str]:
    """Why the model's answer cannot be today's decision (empty: it can) — sent back once."""
    try:
        decision_from_llm(llm, snapshot)
    except DraftInvalid as invalid:
        return [str(error) for error in invalid.errors]
    return []
