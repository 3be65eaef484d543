"""The daily coach: a decision every morning, and on demand.

:func:`run_day` reads the day (:func:`decision_snapshot`: the guardrails' context — readiness,
HRV against the owner's band, loads, CTL/ATL —, form and ramp, sleep, the last seven days'
sessions, today's planned workout from the followed plan, the active mission's countdown and,
during its event, the stage table), asks the model through the one recorded, budgeted client
(:func:`app.services.coach.llm.call_structured`, strict schema, one re-ask with the problems
:func:`app.coach.decision_prompt.decision_problems` finds), then **the safety rules have the
last word** (:func:`app.coach.decision.apply_safety` with the mission's constraints) and the day
is stored in ``coach_day`` — the model's proposal, the decision, every overrule, the snapshot's
hash, the tokens. When no decision can be made (no model, the budget, an answer that stays
invalid) the day is stored as failed with the reason, never a made-up fallback.

What reaches the model is the coach's context snapshot (:mod:`app.services.coach.context`: only
activities a model may see, without the groups the owner withheld) plus today's planned workout
and the mission's countdown; the safety rules, which never leave Domestique, read everything.
Points are computed here, never by the model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from app.coach import decision_prompt as prompt
from app.coach.changes import ChangeSet, ReplaceWorkout
from app.coach.decision import (
    Decision,
    DecisionSnapshot,
    LlmDecision,
    SessionSummary,
    apply_safety,
    decision_from_llm,
    llm_decision_schema,
)
from app.coach.estimate import estimate_workout
from app.coach.llm_messages import NOT_CONFIGURED, failure_sentence
from app.coach.llm_schema import DraftInvalid, llm_workout
from app.coach.matching import family_of
from app.coach.messages import action_name, describe_finding, phase_name, ride_mode_name
from app.coach.missions import Countdown, Mission, MissionState, countdown
from app.coach.plans import Plan, PlannedWorkout
from app.config import Settings
from app.i18n import _
from app.models import (
    Activity,
    ActivityMetrics,
    CoachDay,
    DailyMetrics,
    DailyWellness,
    MissionRow,
    PlanRevision,
)
from app.models import (
    PlannedWorkout as PlannedWorkoutRow,
)
from app.models.owner import get_owner
from app.security.keys import SecretBox
from app.services.coach import llm
from app.services.coach.config import load_config
from app.services.coach.context import build_snapshot
from app.services.coach.library import search
from app.services.metrics.recompute import owner_today
from app.services.missions.event import event_view as mission_event_view
from app.services.plans import revisions
from app.services.plans.athlete import guardrail_inputs, thresholds_on
from app.services.plans.limits import auto_approve_easier, load_limits

log = logging.getLogger(__name__)

HISTORY_DAYS = 7
PASSAGES = 3
INVALID_ANSWER = "decision_invalid"


@dataclass(frozen=True)
class DayContext:
    """The day as the safety rules read it, and the mission it belongs to."""

    snapshot: DecisionSnapshot
    mission_id: int | None
    mission: Mission | None


@dataclass(frozen=True)
class DayView:
    """A stored day as the dashboard, the mission page and the CLI show it."""

    day: date
    status: str
    decision: Decision | None
    proposed: Decision | None
    findings: list[dict[str, Any]]
    failure: str | None
    mission_name: str | None
    phase: str | None
    countdown: Countdown | None
    prompt_tokens: int
    completion_tokens: int

    @property
    def action_label(self) -> str | None:
        return None if self.decision is None else action_name(self.decision.action)

    @property
    def ride_mode_label(self) -> str | None:
        if self.decision is None or self.decision.ride_mode is None:
            return None
        return ride_mode_name(self.decision.ride_mode)

    @property
    def phase_label(self) -> str | None:
        return None if self.phase is None else phase_name(self.phase)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "status": self.status,
            "decision": None if self.decision is None else self.decision.model_dump(mode="json"),
            "proposed": None if self.proposed is None else self.proposed.model_dump(mode="json"),
            "findings": self.findings,
            "failure": self.failure,
            "mission": self.mission_name,
            "phase": self.phase,
            "countdown": None if self.countdown is None else self.countdown.as_dict(),
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
        }


# --- reading the day --------------------------------------------------------------------------


def _active_mission(session: Session) -> tuple[int, Mission, MissionState] | None:
    row = session.execute(
        select(MissionRow).where(
            MissionRow.state.in_((MissionState.TRAINING.value, MissionState.EVENT_ACTIVE.value))
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return row.id, Mission.model_validate(row.document), MissionState(row.state)


def _planned_today(session: Session, today: date) -> PlannedWorkout | None:
    """Today's workout of the followed plan (the key one, else the longest), as planned."""
    rows = session.execute(
        select(PlannedWorkoutRow, PlanRevision.content)
        .join(PlanRevision, PlanRevision.id == PlannedWorkoutRow.revision_id)
        .where(
            PlannedWorkoutRow.day == today,
            PlannedWorkoutRow.state.in_(("PLANNED", "PUSHED")),
            PlanRevision.state == "APPROVED",
        )
        .order_by(PlannedWorkoutRow.key.desc(), PlannedWorkoutRow.duration_s.desc())
    ).all()
    for row, content in rows:
        plan = Plan.model_validate(content)
        found = next((w for w in plan.workouts if w.id == row.workout_id), None)
        if found is not None:
            return found
    return None


def _last_sessions(session: Session, today: date) -> tuple[SessionSummary, ...]:
    first = today - timedelta(days=HISTORY_DAYS)
    key_ids = set(
        session.scalars(
            select(PlannedWorkoutRow.activity_id).where(
                PlannedWorkoutRow.key.is_(True), PlannedWorkoutRow.activity_id.is_not(None)
            )
        )
    )
    rows = session.execute(
        select(
            Activity.id,
            Activity.local_date,
            Activity.sport,
            Activity.sub_sport,
            Activity.name,
            Activity.moving_s,
            Activity.elapsed_s,
            Activity.distance_m,
            ActivityMetrics.load,
            ActivityMetrics.intensity_factor,
            ActivityMetrics.hr_zone_s,
        )
        .outerjoin(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .where(Activity.local_date >= first, Activity.local_date < today)
        .order_by(Activity.start_time)
    ).all()
    sessions = []
    for r in rows:
        zones = [z for z in (r.hr_zone_s or []) if z is not None]
        sessions.append(
            SessionSummary(
                day=r.local_date,
                sport=family_of(r.sport, r.sub_sport),
                name=r.name or "",
                duration_s=float(r.moving_s or r.elapsed_s or 0.0),
                load=float(r.load or 0.0),
                # Time above the first threshold: heart-rate zones 3 and up of five.
                hard_s=float(sum(zones[2:])) if len(zones) >= 3 else 0.0,
                distance_m=r.distance_m,
                intensity_factor=r.intensity_factor,
                key=r.id in key_ids,
            )
        )
    return tuple(sessions)


def decision_snapshot(session: Session, today: date, now_utc: datetime | None = None) -> DayContext:
    """The day as the safety rules read it (everything, Strava's data too: none of this is
    sent to the model as such)."""
    _thresholds, context = guardrail_inputs(session, today=today)
    form = session.execute(
        select(DailyMetrics.tsb_today, DailyMetrics.ramp)
        .where(DailyMetrics.day <= today)
        .order_by(DailyMetrics.day.desc())
        .limit(1)
    ).first()
    sleep = session.execute(
        select(DailyWellness.sleep_s, DailyWellness.sleep_score).where(DailyWellness.day == today)
    ).first()
    active = _active_mission(session)
    mission_id = mission = None
    clock = countdown_ = event = None
    if active is not None:
        mission_id, mission, state = active
        clock = countdown(mission, today)
        countdown_ = clock
        if state == MissionState.EVENT_ACTIVE and mission.stages:
            moment = now_utc or datetime.combine(today, datetime.min.time(), tzinfo=UTC)
            view = mission_event_view(session, mission_id, moment)
            event = None if view is None else view.score
    snapshot = DecisionSnapshot(
        context=context,
        tsb=float(form.tsb_today) if form is not None else context.ctl - context.atl,
        ramp=float(form.ramp) if form is not None else 0.0,
        sleep_s=None if sleep is None else sleep.sleep_s,
        sleep_score=None if sleep is None else sleep.sleep_score,
        last_sessions=_last_sessions(session, today),
        planned=_planned_today(session, today),
        countdown=countdown_,
        event=event,
    )
    return DayContext(snapshot, mission_id, mission)


# --- the run -----------------------------------------------------------------------------------


def wanted_today(sessions: sessionmaker[Session], settings: Settings, box: SecretBox) -> bool:
    """Whether the morning run decides the day: an active mission and a configured model."""
    with sessions() as session:
        if _active_mission(session) is None:
            return False
        return load_config(session, settings, box).configured


def owner_day(sessions: sessionmaker[Session], now_utc: datetime) -> date:
    """The owner's calendar day at ``now_utc``."""
    with sessions() as session:
        owner = get_owner(session)
    return now_utc.astimezone(ZoneInfo(owner.timezone if owner is not None else "UTC")).date()


def decided_on(sessions: sessionmaker[Session], day: date) -> bool:
    """Whether ``day`` has its stored run (decided or failed): the morning runs once a day."""
    with sessions() as session:
        return session.get(CoachDay, day) is not None


def _problems(answer: LlmDecision, snapshot: DecisionSnapshot) -> list[str]:
    return prompt.decision_problems(answer, snapshot)


def _store(sessions: sessionmaker[Session], values: dict[str, Any]) -> None:
    statement = insert(CoachDay).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["day"],
        set_={name: statement.excluded[name] for name in values if name != "day"},
    )
    with sessions.begin() as session:
        session.execute(statement)


def run_day(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    *,
    today: date | None = None,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
) -> DayView:
    """Decide ``today`` (the owner's today by default) and store it (a second run replaces
    the day's decision). Never raises for the model's failures: the day is stored failed."""
    with sessions() as session:
        today = today or owner_today(session)
        owner = get_owner(session)
        language = (owner.locale if owner is not None else None) or settings.default_locale
        config = load_config(session, settings, box)
        day = decision_snapshot(session, today, clock.now())
        context = build_snapshot(session, today=today, withheld=config.withheld)
        phase = None if day.snapshot.countdown is None else day.snapshot.countdown.phase
        passages = []
        if config.configured:
            query = " ".join(filter(None, ["daily training decision readiness HRV fatigue", phase]))
            passages = [p.text for p in search(session, query, lang=language, k=PASSAGES)]
    base = {
        "day": today,
        "mission_id": day.mission_id,
        "phase": phase,
        "snapshot_sha256": context.sha256,
        "created_at": clock.now(),
    }
    if not config.configured:
        _store(
            sessions,
            {**base, "status": "failed", "failure_code": NOT_CONFIGURED, "failure_params": {},
             "proposed": None, "decision": None, "findings": []},
        )  # fmt: skip
        return day_view(sessions, today)  # type: ignore[return-value]
    result = llm.call_structured(
        sessions,
        settings,
        box,
        purpose=prompt.PURPOSE,
        prompt_version=prompt.PROMPT_VERSION,
        messages=prompt.build_messages(
            day.snapshot, context_text=context.text, language=language, passages=passages
        ),
        output=LlmDecision,
        schema=llm_decision_schema(),
        validate=lambda answer: _problems(answer, day.snapshot),
        clock=clock,
    )
    spent = {
        "call_id": result.call_id,
        "model": result.model,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
    }
    failure_code, failure_params, proposed = None, {}, None
    if result.value is None:
        assert result.failure is not None
        failure_code, failure_params = result.failure.code, dict(result.failure.params)
    else:
        try:
            proposed = decision_from_llm(result.value, day.snapshot)
        except DraftInvalid as invalid:  # the client re-asked once already
            failure_code, failure_params = INVALID_ANSWER, {"reason": str(invalid)[:500]}
    if proposed is None:
        _store(
            sessions,
            {**base, **spent, "status": "failed", "failure_code": failure_code,
             "failure_params": failure_params, "proposed": None, "decision": None,
             "findings": []},
        )  # fmt: skip
        return day_view(sessions, today)  # type: ignore[return-value]
    with sessions() as session:
        guardrail_limits = load_limits(session)
    reviewed = apply_safety(
        proposed,
        day.snapshot,
        constraints=None if day.mission is None else day.mission.constraints,
        guardrail_limits=guardrail_limits,
    )
    _propose_todays_change(sessions, day, reviewed.decision, today)
    _store(
        sessions,
        {
            **base,
            **spent,
            "status": "decided",
            "failure_code": None,
            "failure_params": {},
            "proposed": reviewed.proposed.model_dump(mode="json"),
            "decision": reviewed.decision.model_dump(mode="json"),
            "findings": [f.as_dict() for f in reviewed.findings],
        },
    )
    return day_view(sessions, today)  # type: ignore[return-value]


def _propose_todays_change(
    sessions: sessionmaker[Session], day: DayContext, decision: Decision, today: date
) -> None:
    """A decision that changes today's planned workout becomes a PROPOSED revision of the plan
    (origin adaptation) — approved at once only when the owner lets changes that only ease
    training apply by themselves and the new session carries no more load. Never raises: the
    decision stands on the dashboard either way."""
    planned, new = day.snapshot.planned, decision.workout
    if planned is None or new is None or new.id != planned.id:
        return
    if (new.name, new.structure) == (planned.name, planned.structure):
        return
    try:
        with sessions() as session:
            plan_id = session.execute(
                select(PlannedWorkoutRow.plan_id).where(
                    PlannedWorkoutRow.workout_id == planned.id, PlannedWorkoutRow.day == today
                )
            ).scalar_one_or_none()
            if plan_id is None:
                return
            thresholds = thresholds_on(session, today)
            auto = auto_approve_easier(session)
        change = ChangeSet(
            summary=_("Today's session as the coach adjusted it"),
            operations=[
                ReplaceWorkout(
                    op="replace_workout",
                    workout_id=planned.id,
                    name=new.name,
                    purpose=None,
                    blocks=llm_workout(new).blocks,
                    notes=None,
                )
            ],
        )
        stored = revisions.apply_change_set(
            sessions, plan_id, change, origin="adaptation", today=today
        )
        easier = (
            estimate_workout(new, thresholds).load <= estimate_workout(planned, thresholds).load
        )
        if auto and easier and not stored.blocked:
            revisions.approve(sessions, stored.revision_id, today=today)
    except Exception:
        log.exception("today's changed session could not become a plan proposal")


# --- reading what was decided ------------------------------------------------------------------


def failure_text(code: str | None, params: dict[str, Any]) -> str | None:
    if code is None:
        return None
    if code == INVALID_ANSWER:
        return _(
            "The coach's answer stayed invalid after a second try, so there is no decision "
            "today; the plan's session stands. The details are in Settings → Coach → audit."
        )
    return failure_sentence(code, params)


def day_view(sessions: sessionmaker[Session], day: date) -> DayView | None:
    with sessions() as session:
        return read_day(session, day)


def read_day(session: Session, day: date) -> DayView | None:
    """The stored decision of ``day``, its findings in the reader's language."""
    row = session.get(CoachDay, day)
    if row is None:
        return None
    mission_row = None if row.mission_id is None else session.get(MissionRow, row.mission_id)
    return _day_view(row, mission_row)


def _day_view(row: CoachDay, mission_row: MissionRow | None) -> DayView:
    mission_name = countdown_ = None
    if mission_row is not None:
        mission_name = mission_row.name
        countdown_ = countdown(Mission.model_validate(mission_row.document), row.day)
    findings = [
        {**f, "text": describe_finding(f["code"], f.get("params") or {})} for f in row.findings
    ]
    return DayView(
        day=row.day,
        status=row.status,
        decision=None if row.decision is None else Decision.model_validate(row.decision),
        proposed=None if row.proposed is None else Decision.model_validate(row.proposed),
        findings=findings,
        failure=failure_text(row.failure_code, row.failure_params or {}),
        mission_name=mission_name,
        phase=row.phase,
        countdown=countdown_,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
    )


def history(session: Session, mission_id: int, limit: int = 60) -> list[DayView]:
    """The mission's days, the latest first."""
    days = session.scalars(
        select(CoachDay.day)
        .where(CoachDay.mission_id == mission_id)
        .order_by(CoachDay.day.desc())
        .limit(limit)
    ).all()
    return [view for view in (read_day(session, d) for d in days) if view is not None]


@dataclass(frozen=True)
class Hero:
    """The dashboard's card: the active mission with its phase and countdown, and today's
    decision (``None`` until the coach has decided)."""

    mission_id: int | None
    mission_name: str | None
    phase_label: str | None
    countdown: Countdown | None
    today: DayView | None


def hero(session: Session, today: date) -> Hero | None:
    """What the dashboard shows of the daily coach (one statement): ``None`` without an active
    mission and without a decision today."""
    anchor = select(literal(1).label("one")).subquery()
    active, decided = session.execute(
        select(MissionRow, CoachDay)
        .select_from(anchor)
        .outerjoin(
            MissionRow,
            MissionRow.state.in_((MissionState.TRAINING.value, MissionState.EVENT_ACTIVE.value)),
        )
        .outerjoin(CoachDay, CoachDay.day == today)
        .limit(1)
    ).one()
    if active is None and decided is None:
        return None
    if active is None:
        view = _day_view(decided, None)
        return Hero(None, None, view.phase_label, None, view)
    mission = Mission.model_validate(active.document)
    clock = countdown(mission, today)
    view = None
    if decided is not None:
        view = _day_view(decided, active if decided.mission_id == active.id else None)
    return Hero(active.id, active.name, phase_name(clock.phase), clock, view)
