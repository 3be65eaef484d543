"""The mission builder: the owner's answers → the model drafts the mission → checked → stored in
preparation for the owner to read, change (export, edit, import) and start.

The wizard's answers are checked first (:class:`~app.coach.mission_draft.MissionWizard`,
:func:`~app.coach.mission_draft.wizard_errors`); the draft runs in the background on the work
runner (the page follows it), through the one recorded, budgeted client with the strict schema
and one re-ask with every problem; the owner's answers win over the model's
(:func:`~app.coach.mission_draft.mission_from_draft`). A draft that stays invalid, no model or a
spent budget stores nothing and says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from app.coach import mission_prompt as prompt
from app.coach.llm_messages import NOT_CONFIGURED, failure_sentence
from app.coach.llm_schema import DraftInvalid, errors_from_validation
from app.coach.messages import describe_error
from app.coach.mission_draft import (
    LlmMissionDraft,
    MissionWizard,
    llm_mission_schema,
    mission_from_draft,
    wizard_errors,
)
from app.config import Settings
from app.i18n import _
from app.models.owner import get_owner
from app.security.keys import SecretBox
from app.services.coach import llm
from app.services.coach.config import load_config
from app.services.coach.context import build_snapshot
from app.services.metrics.recompute import owner_today
from app.services.missions.lifecycle import MissionProblem, import_mission, notify_from_form
from app.services.plans.athlete import thresholds_on
from app.services.plans.page import weekday_names

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WizardInvalid(ValueError):
    def __init__(self, problems: list[MissionProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


class DraftFailed(RuntimeError):
    def __init__(self, sentence: str) -> None:
        self.sentence = sentence
        super().__init__(sentence)


@dataclass(frozen=True)
class Prefill:
    """What the wizard starts from: the owner's time zone and today's thresholds."""

    time_zone: str
    ftp_w: float | None
    threshold_pace_s_per_km: float | None


def weekday_choices() -> list[tuple[str, str]]:
    """The training days' checkboxes: (value, name in the owner's language)."""
    return weekday_names()


def prefill(session: Session) -> Prefill:
    owner = get_owner(session)
    today = owner_today(session)
    thresholds = thresholds_on(session, today)
    return Prefill(
        (owner.timezone if owner is not None else None) or "UTC",
        None if thresholds.ftp_w is None else round(thresholds.ftp_w),
        None
        if thresholds.threshold_pace_s_per_km is None
        else round(thresholds.threshold_pace_s_per_km),
    )


def _number(text: str | None) -> float | None:
    text = (text or "").strip().replace(",", ".")
    return float(text) if text else None


def wizard_from_form(form: Mapping[str, Any], days: list[str], today: date) -> MissionWizard:
    """The wizard's answers from the page's form, or :class:`WizardInvalid` with every
    problem in the owner's language."""
    data: dict[str, Any] = {
        "event_name": (form.get("event_name") or "").strip(),
        "event_start": form.get("event_start") or None,
        "event_end": form.get("event_end") or None,
        "type": form.get("type") or "custom",
        "time_zone": (form.get("time_zone") or "").strip(),
        "training_days": [d for d in days if d in WEEKDAYS],
        "style": form.get("style") or "gc",
        "notify_by": notify_from_form(str(form.get("notify") or "")),
    }
    problems: list[MissionProblem] = []
    for name in ("weekly_hours_min", "weekly_hours_max", "ftp_w", "threshold_pace_s_per_km"):
        try:
            value = _number(form.get(name))
        except ValueError:
            problems.append(MissionProblem(name, "not_a_number", _("Enter a number.")))
            continue
        if value is not None:
            data[name] = value
    constraints: dict[str, float] = {}
    for name in ("min_readiness", "min_tsb", "max_hard_days_per_week"):
        try:
            value = _number(form.get(name))
        except ValueError:
            problems.append(MissionProblem(name, "not_a_number", _("Enter a number.")))
            continue
        if value is not None:
            constraints[name] = int(value) if name == "max_hard_days_per_week" else value
    if constraints:
        data["constraints"] = constraints
    if problems:
        raise WizardInvalid(problems)
    try:
        wizard = MissionWizard.model_validate(data)
    except ValidationError as error:
        raise WizardInvalid(
            [
                MissionProblem(
                    ".".join(str(p) for p in e.loc),
                    e.code,
                    describe_error(e.code, e.params, e.message),
                )
                for e in errors_from_validation(error, ())
            ]
        ) from None
    late = wizard_errors(wizard, today=today)
    if late:
        raise WizardInvalid(
            [
                MissionProblem(
                    ".".join(str(p) for p in e.loc),
                    e.code,
                    describe_error(e.code, e.params, e.message),
                )
                for e in late
            ]
        )
    return wizard


def draft_mission(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    wizard: MissionWizard,
    *,
    language: str,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
) -> int:
    """Ask the model for the mission and store it in preparation; its id. Raises
    :class:`DraftFailed` with the owner's sentence (nothing stored)."""
    with sessions() as session:
        config = load_config(session, settings, box)
        if not config.configured:
            raise DraftFailed(failure_sentence(NOT_CONFIGURED))
        today = owner_today(session)
        context = build_snapshot(session, today=today, withheld=config.withheld)
    result = llm.call_structured(
        sessions,
        settings,
        box,
        purpose=prompt.PURPOSE,
        prompt_version=prompt.PROMPT_VERSION,
        messages=prompt.build_messages(
            wizard, today=today, language=language, context_text=context.text
        ),
        output=LlmMissionDraft,
        schema=llm_mission_schema(),
        validate=lambda draft: prompt.draft_problems(draft, wizard),
        clock=clock,
    )
    if result.value is None:
        assert result.failure is not None
        raise DraftFailed(result.failure.sentence)
    try:
        mission = mission_from_draft(result.value, wizard)
    except DraftInvalid:
        raise DraftFailed(
            _(
                "The coach's draft could not become a mission after a second try; nothing was "
                "stored. Try again, or import a mission file."
            )
        ) from None
    return import_mission(sessions, mission.model_dump(mode="json"), origin="llm")


def submit_draft(
    runner: Any,
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    wizard: MissionWizard,
    *,
    language: str,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
) -> None:
    """Queue the draft on the work runner; the Missions page follows it."""
    runner.submit_mission_draft(
        lambda: draft_mission(sessions, settings, box, wizard, language=language, clock=clock)
    )
