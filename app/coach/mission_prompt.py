"""The mission builder's prompt: the owner's answers, the athlete's context snapshot and the
library's passages → :class:`app.coach.mission_draft.LlmMissionDraft`. Pure.

The model drafts the season (preparation start, phases), the scoring (points by stage type and
mode, the modes' thresholds, bonuses), the stage plan and constraints; the owner's answers win
(:func:`app.coach.mission_draft.mission_from_draft`), and what cannot become a mission goes back
once with every problem (:func:`draft_problems`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from app.coach.llm_schema import DraftInvalid
from app.coach.mission_draft import LlmMissionDraft, MissionWizard, mission_from_draft

PROMPT_VERSION = "mission-draft-1"
PURPOSE = "mission_draft"
LANGUAGE_NAMES = {"en": "English", "ko": "Korean (한국어)"}

SYSTEM = """You are Domestique's endurance coach. The athlete is building a mission: a goal \
event with its training season and, for a multi-day event, stages that score points. Today is \
{today}.
Draft from the athlete's answers and data below:
- prep_start: when the preparation starts (after today, long enough for the event; at most \
two years);
- phases: base, build, peak and taper in order, each once, from prep_start to the day before \
the event (a short preparation may start in a later phase);
- points: points per stage type for GC and breakaway rides, the intensity factor and TSS a \
ride needs for each mode, and bonuses;
- stages: for a multi-day event, every day from the first to the last, numbered 1, 2, 3… in \
date order, rest days without a number; none for a one-day event;
- constraints: least readiness and form (TSB) for a hard day, most hard days in a week;
- goal and notes: short, in {language}.
Keep the event's name, type and dates exactly as the athlete gave them."""


def build_messages(
    wizard: MissionWizard,
    *,
    today: date,
    language: str,
    context_text: str,
    passages: Sequence[str] = (),
) -> list[dict[str, str]]:
    parts = [
        SYSTEM.format(today=today.isoformat(), language=LANGUAGE_NAMES.get(language, "English"))
    ]
    if passages:
        parts.append("Guidelines from the coaching library:\n" + "\n\n".join(passages))
    answers = wizard.model_dump_json()
    return [
        {"role": "system", "content": "\n\n".join(parts)},
        {
            "role": "user",
            "content": f"The athlete's answers (JSON):\n{answers}\n\n"
            f"Athlete snapshot (JSON):\n{context_text}",
        },
    ]


def draft_problems(draft: LlmMissionDraft, wizard: MissionWizard) -> list[str]:
    """Why the draft cannot become the mission (empty: it can) — sent back once."""
    try:
        mission_from_draft(draft, wizard)
    except DraftInvalid as invalid:
        return [str(error) for error in invalid.errors]
    return []


__all__ = ["PROMPT_VERSION", "PURPOSE", "build_messages", "draft_problems"]
