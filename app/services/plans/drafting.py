"""Drafting a new plan with the language model, mesocycle by mesocycle, as one piece of
background work (``WorkRunner.submit_plan_draft``, recorded in ``work_run`` with its
progress): each call drafts up to four weeks, checked and sent back once when it cannot continue
the plan; the whole plan is then checked by the guardrails and kept as a PROPOSED revision
(origin ``llm``) of a new plan — nothing reaches the calendar before the owner approves it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from app.coach import plan_draft as prompt
from app.coach.llm_messages import NOT_CONFIGURED, failure_sentence
from app.coach.llm_schema import LlmPlanDraft, errors_from_validation, llm_plan_schema
from app.coach.messages import describe_error
from app.coach.plans import Plan
from app.config import Settings
from app.i18n import _
from app.security.keys import SecretBox
from app.services.coach import llm
from app.services.coach.config import load_config
from app.services.coach.context import build_snapshot
from app.services.metrics.recompute import owner_today
from app.services.plans import revisions


class DraftFailed(Exception):
    """The draft stopped; ``code`` and ``params`` say why (``sentence`` in the owner's words).
    What was drafted before is not kept."""

    def __init__(self, code: str, sentence: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.sentence = sentence
        self.params = {"sentence": sentence, **params}


def draft_plan(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    questionnaire: prompt.Questionnaire,
    *,
    language: str,
    progress: Callable[[int, int], None] = lambda done, total: None,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
    plan_id: int | None = None,
    mission_id: int | None = None,
) -> revisions.Stored:
    """Draft the plan the questionnaire describes; ``progress(done, total)`` after each
    mesocycle. The draft is a PROPOSED revision of a new plan (of ``mission_id`` when a mission
    seeds it) or of ``plan_id``. Raises :class:`DraftFailed` (no model, a call that failed, an
    answer that could not continue the plan after its retry)."""
    with sessions() as session:
        config = load_config(session, settings, box)
        if not config.configured:
            raise DraftFailed(NOT_CONFIGURED, failure_sentence(NOT_CONFIGURED))
        snapshot = build_snapshot(session, withheld=config.withheld)
    blocks = prompt.mesocycles(questionnaire.weeks)
    plan: Plan | None = None
    progress(0, len(blocks))
    for done, (first, count) in enumerate(blocks, start=1):
        previous = plan
        result = llm.call_structured(
            sessions,
            settings,
            box,
            purpose=prompt.PURPOSE,
            prompt_version=prompt.PROMPT_VERSION,
            messages=prompt.build_messages(
                questionnaire,
                first=first,
                count=count,
                language=language,
                snapshot_text=snapshot.text,
                previous=previous,
            ),
            output=LlmPlanDraft,
            schema=llm_plan_schema(),
            validate=lambda draft, first=first, count=count, previous=previous: (
                prompt.draft_problems(
                    questionnaire, draft, first=first, count=count, previous=previous
                )
            ),
            clock=clock,
        )
        if result.value is None:
            failure = result.failure
            assert failure is not None
            raise DraftFailed(failure.code, failure.sentence, weeks_drafted=first)
        plan = prompt.extend(questionnaire, result.value, previous)
        progress(done, len(blocks))
    assert plan is not None
    return revisions.import_plan(
        sessions, plan, origin="llm", plan_id=plan_id, mission_id=mission_id
    )


# --- the questionnaire on the Plan page ------------------------------------------------------


@dataclass(frozen=True)
class DraftForm:
    """The questionnaire as the page's form sends it (strings; parsed here)."""

    title: str = ""
    goal_name: str = ""
    sport: str = "run"
    event_type: str = "other"
    event_date: str = ""
    start: str = ""
    weeks: str = ""
    weekdays: tuple[str, ...] = ()
    hours_per_week: str = ""
    long_day: str = ""
    injuries: str = ""
    notes: str = ""


class DraftFormInvalid(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        raise DraftFormInvalid([_("Write dates as YYYY-MM-DD.")]) from None


def questionnaire_from(form: DraftForm, today: date) -> prompt.Questionnaire:
    """The questionnaire the form describes (the plan starts next Monday unless the form says
    otherwise; it runs to the event's week, or the number of weeks given)."""
    start = _day(form.start) or today + timedelta(days=7 - today.weekday())
    event = _day(form.event_date)
    if event is not None:
        weeks = prompt.weeks_until(start, event)
    elif form.weeks.strip().isdigit():
        weeks = int(form.weeks.strip())
    else:
        raise DraftFormInvalid([_("Give the event's date or the number of weeks.")])
    try:
        return prompt.Questionnaire.model_validate(
            {
                "title": form.title or form.goal_name,
                "goal": {
                    "name": form.goal_name,
                    "sport": form.sport,
                    "event_type": form.event_type or "other",
                    "event_date": event,
                },
                "availability": {
                    "weekdays": list(form.weekdays),
                    "hours_per_week": form.hours_per_week.strip() or "0",
                    "long_session_day": form.long_day or None,
                },
                "constraints": {
                    "injuries": form.injuries.strip() or None,
                    "notes": form.notes.strip() or None,
                },
                "start": start,
                "weeks": weeks,
            }
        )
    except ValidationError as error:
        problems = []
        for item in errors_from_validation(error):
            where = ".".join(str(part) for part in item.loc)
            message = describe_error(item.code, item.params, fallback=item.message)
            problems.append(f"{where}: {message}" if where else message)
        raise DraftFormInvalid(problems) from None


def submit_draft(
    runner: Any,
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    form: DraftForm,
    *,
    language: str,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
) -> None:
    """Check the questionnaire and queue the draft on the work runner (raises
    :class:`DraftFormInvalid`)."""
    with sessions() as session:
        today = owner_today(session)
    questionnaire = questionnaire_from(form, today)

    def work(progress: Callable[[int, int], None]) -> revisions.Stored:
        return draft_plan(
            sessions,
            settings,
            box,
            questionnaire,
            language=language,
            progress=progress,
            clock=clock,
        )

    runner.submit_plan_draft(work)
