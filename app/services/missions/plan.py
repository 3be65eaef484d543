"""A mission seeds a plan: the planner's questionnaire filled from the mission — its event
(date and type → the goal), the builder's weekly hours and training days, its constraints and
today's thresholds —, which the owner reads and may change on the mission's page (or
``domestique mission plan ID``), then the planner's own drafting
(:func:`app.services.plans.drafting.draft_plan`, in the background with its progress). The
draft is a PROPOSED revision like any other: the same guardrails, the same approval on the Plan
page. The plan records the mission it serves (``plan.mission_id``).

A mission in preparation or training may seed a plan when it has none yet, or when its plan
has no proposal waiting (the new draft is then a revision of that plan, and approving it
replaces the approved one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.coach import plan_draft as prompt
from app.coach.missions import Mission, MissionState, MissionType
from app.config import Settings
from app.i18n import _
from app.models import MissionRow, PlanRevision, TrainingPlan
from app.security.keys import SecretBox
from app.services.coach import llm
from app.services.metrics.recompute import owner_today
from app.services.plans import drafting, revisions
from app.services.plans.athlete import thresholds_on

SEEDING_STATES = (MissionState.PREP.value, MissionState.TRAINING.value)

SPORT_AND_EVENT: dict[MissionType, tuple[str, str]] = {
    "road_stage_race": ("ride", "stage_race"),
    "gran_fondo": ("ride", "gran_fondo"),
    "gravel_ultra": ("ride", "other"),
    "marathon": ("run", "marathon"),
    "triathlon": ("triathlon", "other"),
    "time_trial_series": ("ride", "time_trial"),
    "custom": ("other", "other"),
}
"""The planner's goal sport and event type of each mission type."""


class PlanRefused(ValueError):
    """The mission cannot seed a plan now; ``sentence`` says why in the owner's words."""

    def __init__(self, code: str, sentence: str) -> None:
        super().__init__(code)
        self.code = code
        self.sentence = sentence


@dataclass(frozen=True)
class MissionPlan:
    """What the mission's page shows of its plan and of drafting one."""

    plan_id: int | None
    title: str | None
    approved: bool
    waiting: bool
    """A proposed revision of the mission's plan waits for the owner's approval."""
    form: drafting.DraftForm
    """The questionnaire as the mission fills it (the page's form starts from it)."""
    refusal: str | None
    """Why no plan can be drafted now (``None``: it can)."""


def _weeks_words(mission: Mission) -> str:
    if mission.weekly_hours_min is None or mission.weekly_hours_max is None:
        return ""
    return _("Train %(low)s to %(high)s hours a week.") % {
        "low": f"{mission.weekly_hours_min:g}",
        "high": f"{mission.weekly_hours_max:g}",
    }


def _notes(session: Session, mission: Mission, today: date) -> str:
    """The mission's goal, hours, constraints and today's thresholds in the owner's words."""
    c = mission.constraints
    parts = [mission.goal.strip(), _weeks_words(mission)]
    if mission.stages:
        parts.append(
            _("A stage race: %(stages)s stages from %(start)s to %(end)s.")
            % {
                "stages": sum(1 for stage in mission.stages if stage.number),
                "start": mission.event_start.isoformat(),
                "end": mission.event_end.isoformat(),
            }
        )
    if c.min_readiness is not None:
        value = f"{c.min_readiness:g}"
        parts.append(_("No hard day below readiness %(value)s.") % {"value": value})
    if c.min_tsb is not None:
        parts.append(_("No hard day below form (TSB) %(value)s.") % {"value": f"{c.min_tsb:g}"})
    if c.max_hard_days_per_week is not None:
        parts.append(_("At most %(value)s hard days a week.") % {"value": c.max_hard_days_per_week})
    if c.notes:
        parts.append(c.notes.strip())
    thresholds = thresholds_on(session, today)
    if thresholds.ftp_w is not None:
        parts.append(_("Current FTP %(watts)s W.") % {"watts": round(thresholds.ftp_w)})
    pace = thresholds.threshold_pace_s_per_km
    if pace is not None:
        minutes, seconds = divmod(round(pace), 60)
        parts.append(
            _("Current threshold pace %(pace)s per km.") % {"pace": f"{minutes}:{seconds:02d}"}
        )
    return " ".join(part for part in parts if part)[:2000]


def form_for(session: Session, mission: Mission, today: date) -> drafting.DraftForm:
    """The planner's questionnaire filled from ``mission`` (as strings, like the page's form):
    the plan starts next Monday (or at the preparation's start, when later) and runs to the
    event's week."""
    sport, event_type = SPORT_AND_EVENT[mission.type]
    start = max(today + timedelta(days=7 - today.weekday()), mission.prep_start)
    hours = mission.weekly_hours_max
    return drafting.DraftForm(
        title=mission.name,
        goal_name=mission.name,
        sport=sport,
        event_type=event_type,
        event_date=mission.event_start.isoformat(),
        start=start.isoformat(),
        weekdays=tuple(mission.training_days),
        hours_per_week="" if hours is None else f"{hours:g}",
        notes=_notes(session, mission, today),
    )


def _mission(session: Session, mission_id: int) -> tuple[MissionRow, Mission]:
    row = session.get(MissionRow, mission_id)
    if row is None:
        raise PlanRefused("mission_not_found", _("There is no such mission."))
    return row, Mission.model_validate(row.document)


def _plan_of(session: Session, mission_id: int) -> tuple[TrainingPlan | None, set[str]]:
    """The mission's newest plan and the states of its revisions."""
    plan = session.execute(
        select(TrainingPlan)
        .where(TrainingPlan.mission_id == mission_id)
        .order_by(TrainingPlan.created_at.desc(), TrainingPlan.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if plan is None:
        return None, set()
    states = set(
        session.scalars(select(PlanRevision.state).where(PlanRevision.plan_id == plan.id)).all()
    )
    return plan, states


def _refusal(row: MissionRow, states: set[str]) -> str | None:
    if row.state not in SEEDING_STATES:
        return _("Only a mission in preparation or training can seed a plan.")
    if "PROPOSED" in states:
        return _(
            "A plan drafted for this mission waits for your approval on the Plan page: approve "
            "or reject it before drafting another."
        )
    return None


def mission_plan(session: Session, mission_id: int, today: date) -> MissionPlan | None:
    """The mission's plan and the questionnaire for drafting one (``None``: no mission)."""
    try:
        row, mission = _mission(session, mission_id)
    except PlanRefused:
        return None
    plan, states = _plan_of(session, mission_id)
    return MissionPlan(
        plan_id=None if plan is None else plan.id,
        title=None if plan is None else plan.title,
        approved="APPROVED" in states,
        waiting="PROPOSED" in states,
        form=form_for(session, mission, today),
        refusal=_refusal(row, states),
    )


def questionnaire_for(
    sessions: sessionmaker[Session], mission_id: int, changes: dict[str, Any] | None = None
) -> tuple[prompt.Questionnaire, int | None]:
    """The questionnaire for the mission's plan — the mission's, with the owner's ``changes``
    to the availability, start and notes — and the plan it becomes a revision of (``None``:
    a new plan). Raises :class:`PlanRefused`, or
    :class:`~app.services.plans.drafting.DraftFormInvalid` with every problem."""
    with sessions() as session:
        row, mission = _mission(session, mission_id)
        plan, states = _plan_of(session, mission_id)
        refusal = _refusal(row, states)
        if refusal is not None:
            raise PlanRefused("not_now", refusal)
        today = owner_today(session)
        form = form_for(session, mission, today)
    allowed = {"start", "weekdays", "hours_per_week", "long_day", "injuries", "notes"}
    form = replace(form, **{k: v for k, v in (changes or {}).items() if k in allowed})
    if date.fromisoformat(form.event_date) < today:
        raise PlanRefused("event_past", _("The mission's event is over; there is nothing to plan."))
    return drafting.questionnaire_from(form, today), None if plan is None else plan.id


def _drafter(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    mission_id: int,
    changes: dict[str, Any] | None,
    *,
    language: str,
    clock: llm.Clock,
) -> Callable[[Callable[[int, int], None]], revisions.Stored]:
    """Check the questionnaire now (raises :class:`PlanRefused` or
    :class:`~app.services.plans.drafting.DraftFormInvalid`) and return the draft to run, which
    takes its progress callback."""
    questionnaire, plan_id = questionnaire_for(sessions, mission_id, changes)

    def work(progress: Callable[[int, int], None]) -> revisions.Stored:
        return drafting.draft_plan(
            sessions,
            settings,
            box,
            questionnaire,
            language=language,
            progress=progress,
            clock=clock,
            plan_id=plan_id,
            mission_id=mission_id,
        )

    return work


def draft_mission_plan(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    mission_id: int,
    changes: dict[str, Any] | None = None,
    *,
    language: str,
    progress: Callable[[int, int], None] = lambda done, total: None,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
) -> revisions.Stored:
    """Draft the mission's plan now (the command line; the page queues it with
    :func:`submit_mission_plan`). Raises :class:`PlanRefused`,
    :class:`~app.services.plans.drafting.DraftFormInvalid` or
    :class:`~app.services.plans.drafting.DraftFailed` (nothing stored)."""
    work = _drafter(sessions, settings, box, mission_id, changes, language=language, clock=clock)
    return work(progress)


def submit_mission_plan(
    runner: Any,
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    mission_id: int,
    changes: dict[str, Any] | None = None,
    *,
    language: str,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
) -> None:
    """Check the questionnaire and queue the draft on the work runner — the planner's own
    background run with its progress (raises :class:`PlanRefused` or
    :class:`~app.services.plans.drafting.DraftFormInvalid`)."""
    work = _drafter(sessions, settings, box, mission_id, changes, language=language, clock=clock)
    runner.submit_plan_draft(work, about={"mission_id": mission_id})
