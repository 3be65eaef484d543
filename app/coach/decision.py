"""The daily decision: what the coach proposes each morning, and the safety rules that have the
last word.

The model reads a :class:`DecisionSnapshot` (readiness, HRV against the owner's band, sleep,
form and ramp, the last sessions, today's planned workout, the mission's phase and the event's
progress) and fills :class:`LlmDecision`, a strict schema made like the plan draft's
(:func:`llm_decision_schema`; every field present, ``null`` for none, the workout as blocks of
steps). :func:`decision_from_llm` turns it into a :class:`Decision` or raises
:class:`~app.coach.llm_schema.DraftInvalid` with every problem placed in the model's output.

Then :func:`apply_safety` — pure, after the model, and always — adjusts the decision:

1. **forced rest** when an illness (or an injury of every sport) covers today, readiness is
   very low (< 60) or form is deep (TSB < −30; < −20 on a stage day: Lanterne Rouge's event
   rule);
2. on a **stage day**, **no breakaway** unless readiness > 80 and TSB > −5 (Lanterne Rouge's
   event safety) and the mission's constraints allow a hard day: the ride becomes GC, and a
   workout paced like a breakaway becomes a steady GC ride;
3. on other days, a **hard day** (pushed, high intensity or a hard session) needs the mission's
   constraints (least readiness, least TSB, most hard days in seven) and today's readiness
   signal (:func:`app.coach.guardrails.readiness.readiness_signal`); then today's workout goes
   through the plan guardrails themselves — illness, readiness, session spike, hard-day
   spacing (:func:`app.coach.guardrails.check_plan` on a one-day plan with the last sessions as
   history). What they refuse becomes an easy session.

Each overrule is a :class:`~app.coach.guardrails.Finding` (a code and plain params; sentences in
:mod:`app.coach.messages`) next to the adjusted decision. The expected points and the bonus
opportunities of the final ride mode are computed from the points schema
(:func:`app.coach.points.expected_points`), never taken from the model — after safety, because
safety always outranks points.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from app.analytics.pmc import DailyLoad
from app.coach.estimate import PlanEstimates, Thresholds, WorkoutEstimate, estimate_workout
from app.coach.guardrails import AthleteContext, Finding, GuardrailLimits, check_plan
from app.coach.guardrails.base import easy_version, is_hard, r1, workout_params
from app.coach.guardrails.hard_days import check_hard_days
from app.coach.guardrails.health import check_health
from app.coach.guardrails.readiness import check_readiness, readiness_signal
from app.coach.guardrails.spike import check_session_spike
from app.coach.llm_schema import (
    DraftError,
    DraftInvalid,
    LlmWorkout,
    errors_from_validation,
    llm_workout,
    strict_json_schema,
    workout_from_llm,
)
from app.coach.missions import Countdown, MissionConstraints
from app.coach.plans import WEEKDAYS, Availability, Goal, Plan, PlannedWorkout, Week
from app.coach.points import (
    BonusOpportunity,
    EventScore,
    PointsSchema,
    RideMode,
    Stage,
    bonus_opportunities,
    expected_points,
    ride_mode,
)
from app.coach.workouts import (
    DistanceDuration,
    HrZoneTarget,
    PowerRangeTarget,
    Step,
    TimeDuration,
    WorkoutSport,
    WorkoutStructure,
)

Action = Literal["rest", "recover", "ease", "maintain", "push"]
ACTIONS: tuple[Action, ...] = ("rest", "recover", "ease", "maintain", "push")
ACTION_RANK = {action: rank for rank, action in enumerate(ACTIONS)}
Intensity = Literal["low", "moderate", "high"]
INTENSITIES: tuple[Intensity, ...] = ("low", "moderate", "high")
INTENSITY_RANK = {intensity: rank for rank, intensity in enumerate(INTENSITIES)}

DAY_RULES = (
    ("health", check_health),
    ("readiness", check_readiness),
    ("session_spike", check_session_spike),
    ("hard_days", check_hard_days),
)
"""The plan guardrails that judge one day's session (the others judge weeks and periods)."""
HISTORY_DAYS = 7
MAX_GC_RIDE_S = 6 * 3600
Flag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


# --------------------------------------------------------------------------------------------
# The snapshot


@dataclass(frozen=True)
class SessionSummary:
    """A recorded session of the last days: what the hard-day rules and the prompt need.
    ``hard_s`` is the time above the first threshold; ``key`` marks a planned key session."""

    day: date
    sport: WorkoutSport
    name: str
    duration_s: float
    load: float
    hard_s: float = 0.0
    distance_m: float | None = None
    intensity_factor: float | None = None
    key: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "sport": self.sport,
            "name": self.name,
            "duration_min": round(self.duration_s / 60.0),
            "load": round(self.load),
            "hard_min": round(self.hard_s / 60.0),
            "distance_km": None if self.distance_m is None else round(self.distance_m / 1000, 1),
            "intensity_factor": None
            if self.intensity_factor is None
            else round(self.intensity_factor, 2),
            "key": self.key,
        }


@dataclass(frozen=True)
class DecisionSnapshot:
    """What the morning decision rests on; the service fills it.

    ``context`` carries today, readiness, the HRV 7-day mean with the owner's band, the daily
    loads, CTL/ATL, thresholds, recent long runs and illnesses (the plan guardrails read the
    same object). ``tsb`` is today's form as the dashboard shows it, ``ramp`` the CTL change
    over the last seven days. ``countdown`` (phase, days to the event, today's stage) and
    ``event`` (the stage table so far, scored with ``today``) come from the active mission.
    ``context.health`` holds every illness and injury not cleared, the plan's and any other.
    ``context.loads`` end yesterday: the decision is about today's session, still to come."""

    context: AthleteContext
    tsb: float
    ramp: float
    sleep_s: float | None = None
    sleep_score: float | None = None
    last_sessions: tuple[SessionSummary, ...] = ()
    planned: PlannedWorkout | None = None
    countdown: Countdown | None = None
    event: EventScore | None = None

    @property
    def today(self) -> date:
        return self.context.today

    @property
    def readiness(self) -> float | None:
        return self.context.readiness

    @property
    def stage(self) -> Stage | None:
        """Today's racing stage while the event is scored; ``None`` on other days."""
        if self.countdown is None or self.event is None:
            return None
        stage = self.countdown.stage
        return stage if stage is not None and stage.racing else None

    @property
    def hrv_status(self) -> Literal["below", "within", "above"] | None:
        """The 7-day HRV against the owner's band (needs three nights, as the guardrail)."""
        band, value = self.context.hrv_band, self.context.hrv_7d
        if band is None or value is None or self.context.hrv_readings_7d < 3:
            return None
        if value < band[0]:
            return "below"
        return "above" if value > band[1] else "within"

    def as_prompt(self) -> dict[str, Any]:
        """The snapshot as plain JSON for the prompt: aggregates only, rounded."""
        context = self.context
        return {
            "today": self.today.isoformat(),
            "readiness": None if context.readiness is None else round(context.readiness),
            "hrv": {
                "mean_7d": None if context.hrv_7d is None else round(context.hrv_7d, 2),
                "band": None
                if context.hrv_band is None
                else [round(context.hrv_band[0], 2), round(context.hrv_band[1], 2)],
                "nights": context.hrv_readings_7d,
                "status": self.hrv_status,
            },
            "sleep": {
                "hours": None if self.sleep_s is None else round(self.sleep_s / 3600, 1),
                "score": None if self.sleep_score is None else round(self.sleep_score),
            },
            "ctl": r1(context.ctl),
            "atl": r1(context.atl),
            "tsb": r1(self.tsb),
            "ramp_7d": r1(self.ramp),
            "last_sessions": [s.as_dict() for s in self.last_sessions],
            "planned": None
            if self.planned is None
            else llm_workout(self.planned).model_dump(mode="json"),
            "health": [
                report.model_dump(mode="json")
                for report in context.health
                if report.cleared_on is None
            ],
            "mission": None if self.countdown is None else self.countdown.as_dict(),
            "event": None if self.event is None else _event_for_prompt(self.event, self.stage),
        }

    def digest(self) -> str:
        """A hash of what the prompt carries (the service stores it with each run)."""
        text = json.dumps(self.as_prompt(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _event_for_prompt(event: EventScore, stage: Stage | None) -> dict[str, Any]:
    return {
        "total": event.total,
        "stage_points": event.stage_points,
        "bonus_points": event.bonus_points,
        "stages_done": sum(1 for r in event.racing() if r.status == "done"),
        "stages_total": len(event.racing()),
        "breakaways": event.count("breakaway"),
        "gc": event.count("gc"),
        "points_today": None
        if stage is None or stage.number is None
        else {
            mode: expected_points(event, stage.number, mode)  # type: ignore[arg-type]
            for mode in ("rest", "gc", "breakaway")
        },
        "bonuses_open": [
            o.model_dump()
            for o in bonus_opportunities(event, None if stage is None else stage.number)
        ],
    }


# --------------------------------------------------------------------------------------------
# The decision and the model's schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Decision(_Strict):
    """Today's decision as stored and shown (after :func:`apply_safety`)."""

    day: date
    action: Action
    reason: str = Field(min_length=1, max_length=2000)
    intensity: Intensity
    flags: list[Flag] = Field(default_factory=list, max_length=20)
    confidence: float = Field(ge=0.0, le=1.0)
    workout: PlannedWorkout | None = None
    ride_mode: RideMode | None = None
    mode_rationale: str | None = Field(default=None, max_length=2000)
    expected_points: int | None = None
    bonus_opportunities: list[BonusOpportunity] = Field(default_factory=list)
    strategic_notes: str | None = Field(default=None, max_length=2000)


class _Llm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LlmDecision(_Llm):
    """Today's coaching decision. Points are computed by Domestique, not written here."""

    action: Action = Field(
        description="rest (no training), recover (very easy or nothing), ease (easier than "
        "planned), maintain (as planned) or push (harder than planned)."
    )
    reason: str = Field(description="Why, in two or three sentences, in the owner's language.")
    intensity: Intensity = Field(description="low, moderate or high.")
    flags: list[str] = Field(description="Short snake_case flags, e.g. low_hrv, short_sleep.")
    confidence: float = Field(description="How sure the decision is, from 0 to 1.")
    workout: LlmWorkout | None = Field(
        description="Today's session (the plan's, adjusted, or a new one; keep the plan's id "
        "when adjusting it), or null: as planned, or no session on a rest day."
    )
    ride_mode: RideMode | None = Field(
        description="On a stage day of the event: rest, gc or breakaway; null on other days."
    )
    mode_rationale: str | None = Field(description="Why this ride mode, or null.")
    strategic_notes: str | None = Field(
        description="Strategy for the coming days (stages, bonuses), or null."
    )


def llm_decision_schema() -> dict[str, Any]:
    """The strict schema of :class:`LlmDecision`."""
    return strict_json_schema(LlmDecision)


def decision_from_llm(llm: LlmDecision, snapshot: DecisionSnapshot) -> Decision:
    """The model's decision checked against today: a workout dated today (the plan's id kept
    when it adjusts the planned workout), no session and no ride on a rest day, a ride mode
    exactly on stage days, a confidence between 0 and 1. Raises :class:`DraftInvalid` with
    every problem placed."""
    errors: list[DraftError] = []
    today = snapshot.today
    workout: PlannedWorkout | None = None
    if llm.workout is not None:
        planned_id = None if snapshot.planned is None else snapshot.planned.id
        try:
            workout = workout_from_llm(
                llm.workout, ("workout",), set(), keep_id=llm.workout.id == planned_id
            )
        except DraftInvalid as invalid:
            errors.extend(invalid.errors)
        if workout is not None and workout.date != today:
            errors.append(
                DraftError(
                    ("workout", "date"),
                    "workout_not_today",
                    f"the workout is dated {workout.date.isoformat()}, not today "
                    f"({today.isoformat()})",
                    {"date": workout.date.isoformat(), "today": today.isoformat()},
                )
            )
    if not llm.reason.strip():
        errors.append(DraftError(("reason",), "reason_missing", "the reason is empty"))
    if not 0.0 <= llm.confidence <= 1.0:
        errors.append(
            DraftError(
                ("confidence",),
                "confidence_out_of_range",
                f"confidence {llm.confidence} is not between 0 and 1",
                {"confidence": llm.confidence},
            )
        )
    if llm.action == "rest" and llm.workout is not None:
        errors.append(
            DraftError(("workout",), "rest_with_workout", "a rest day has no workout (null)")
        )
    if llm.action == "rest" and llm.ride_mode in ("gc", "breakaway"):
        errors.append(
            DraftError(
                ("ride_mode",),
                "rest_with_ride_mode",
                f"a rest day cannot be ridden in {llm.ride_mode}",
                {"ride_mode": llm.ride_mode},
            )
        )
    stage = snapshot.stage
    if stage is not None and llm.ride_mode is None:
        errors.append(
            DraftError(
                ("ride_mode",),
                "ride_mode_missing",
                f"today is stage {stage.number}: choose rest, gc or breakaway",
                {"stage": stage.number},
            )
        )
    if stage is None and llm.ride_mode is not None:
        errors.append(
            DraftError(
                ("ride_mode",),
                "ride_mode_not_stage_day",
                "today is not a stage day: ride_mode must be null",
            )
        )
    if errors:
        raise DraftInvalid(errors)
    try:
        return Decision(
            day=today,
            action=llm.action,
            reason=llm.reason.strip(),
            intensity=llm.intensity,
            flags=[flag for flag in llm.flags if flag.strip()],
            confidence=llm.confidence,
            workout=workout,
            ride_mode=llm.ride_mode,
            mode_rationale=llm.mode_rationale or None,
            strategic_notes=llm.strategic_notes or None,
        )
    except ValidationError as error:
        raise DraftInvalid(errors_from_validation(error)) from None


# --------------------------------------------------------------------------------------------
# Safety


@dataclass(frozen=True)
class SafetyLimits:
    """The event and recovery limits of the daily decision (``COACH.md``, "Daily decision":
    Lanterne Rouge's event safety; the dashboard's overreaching band for training days)."""

    rest_readiness_below: float = 60.0
    rest_tsb_below: float = -30.0
    event_rest_tsb_below: float = -20.0
    breakaway_readiness_above: float = 80.0
    breakaway_tsb_above: float = -5.0


@dataclass(frozen=True)
class ReviewedDecision:
    """The decision after the safety rules, what the model proposed, and every overrule."""

    decision: Decision
    proposed: Decision
    findings: tuple[Finding, ...] = ()

    @property
    def overruled(self) -> bool:
        """Whether the safety rules changed anything (findings that only report do not)."""
        return any(f.severity == "adjust" for f in self.findings)


@dataclass
class _Draft:
    action: Action
    intensity: Intensity
    workout: PlannedWorkout | None
    mode: RideMode | None
    findings: list[Finding] = field(default_factory=list)

    def cap_action(self, most: Action) -> None:
        if ACTION_RANK[self.action] > ACTION_RANK[most]:
            self.action = most

    def cap_intensity(self, most: Intensity) -> None:
        if INTENSITY_RANK[self.intensity] > INTENSITY_RANK[most]:
            self.intensity = most


def _effective_workout(
    decision: Decision, snapshot: DecisionSnapshot, glimits: GuardrailLimits
) -> PlannedWorkout | None:
    """What today holds: the model's workout, else the plan's for ease, maintain and push
    (``null`` means "as planned"; an ease of a hard planned session makes it easy)."""
    if decision.workout is not None or decision.action in ("rest", "recover"):
        return decision.workout
    planned = snapshot.planned
    if planned is None or planned.date != snapshot.today:
        return None
    if decision.action == "ease":
        thresholds = snapshot.context.thresholds
        estimate = estimate_workout(planned, thresholds)
        if is_hard(planned, estimate, glimits) and not planned.race:
            return easy_version(planned, estimate, glimits)
    return planned


def _health_rest(snapshot: DecisionSnapshot, sport: str | None) -> Finding | None:
    """An illness or injury covering today that rules out ``sport`` (every sport when
    ``None``: the day has no session, so only what rules out everything counts)."""
    today = snapshot.today
    for report in snapshot.context.health:
        until = report.rest_until()
        covers = report.sports is None or (sport is not None and sport in report.sports)
        if report.start <= today and (until is None or today <= until) and covers:
            return Finding(
                "safety",
                "adjust",
                "decision_rest_health",
                {"kind": report.kind, "start": report.start.isoformat()},
                day=today,
            )
    return None


def _forced_rest(
    snapshot: DecisionSnapshot, limits: SafetyLimits, stage_day: bool, sport: str | None
) -> list[Finding]:
    today = snapshot.today
    reasons: list[Finding] = []
    health = _health_rest(snapshot, sport)
    if health is not None:
        reasons.append(health)
    readiness = snapshot.readiness
    if readiness is not None and readiness < limits.rest_readiness_below:
        reasons.append(
            Finding(
                "safety",
                "adjust",
                "decision_rest_readiness",
                {"readiness": r1(readiness), "minimum": r1(limits.rest_readiness_below)},
                day=today,
            )
        )
    floor = limits.event_rest_tsb_below if stage_day else limits.rest_tsb_below
    if snapshot.tsb < floor:
        reasons.append(
            Finding(
                "safety",
                "adjust",
                "decision_rest_tsb",
                {"tsb": r1(snapshot.tsb), "minimum": r1(floor), "stage_day": stage_day},
                day=today,
            )
        )
    return reasons


def _recovering(snapshot: DecisionSnapshot, sport: str) -> Finding | None:
    """An illness or injury whose rest is over but that the owner has not cleared: no hard
    day until they do (the health guardrail's restart)."""
    today = snapshot.today
    for report in snapshot.context.health:
        if report.cleared_on is None and report.start <= today and report.affects(sport):
            return Finding(
                "health",
                "adjust",
                "decision_not_cleared",
                {"kind": report.kind, "start": report.start.isoformat()},
                day=today,
            )
    return None


def _hard_days_before(snapshot: DecisionSnapshot, glimits: GuardrailLimits) -> int:
    """Days of the last six with a hard or key session."""
    today = snapshot.today
    return len(
        {
            s.day
            for s in snapshot.last_sessions
            if today - timedelta(days=6) <= s.day < today
            and (s.key or s.hard_s >= glimits.hard_min_s)
        }
    )


def _constraint_findings(
    snapshot: DecisionSnapshot, constraints: MissionConstraints | None, glimits: GuardrailLimits
) -> list[Finding]:
    """Why the mission's constraints refuse a hard day today (empty: they allow it)."""
    if constraints is None:
        return []
    today = snapshot.today
    found: list[Finding] = []
    readiness = snapshot.readiness
    if constraints.min_readiness is not None and (
        readiness is None or readiness < constraints.min_readiness
    ):
        found.append(
            Finding(
                "constraints",
                "adjust",
                "constraint_readiness",
                {
                    "readiness": None if readiness is None else r1(readiness),
                    "minimum": r1(constraints.min_readiness),
                },
                day=today,
            )
        )
    if constraints.min_tsb is not None and snapshot.tsb < constraints.min_tsb:
        found.append(
            Finding(
                "constraints",
                "adjust",
                "constraint_tsb",
                {"tsb": r1(snapshot.tsb), "minimum": r1(constraints.min_tsb)},
                day=today,
            )
        )
    most = constraints.max_hard_days_per_week
    if most is not None:
        before = _hard_days_before(snapshot, glimits)
        if before + 1 > most:
            found.append(
                Finding(
                    "constraints",
                    "adjust",
                    "constraint_hard_days",
                    {"count": before, "maximum": most},
                    day=today,
                )
            )
    return found


def gc_version(
    workout: PlannedWorkout,
    estimate: WorkoutEstimate,
    thresholds: Thresholds,
    schema: PointsSchema,
    glimits: GuardrailLimits | None = None,
) -> PlannedWorkout:
    """The session as a steady GC ride of the same length (whole 5 minutes, at most six hours):
    one step in the middle of the GC band — by power when there is an FTP (the band's IF from
    0.02 above GC's threshold to 0.03 below breakaway's), else in heart-rate zone 3. A swim
    becomes its easy version (swims go by distance)."""
    if workout.sport == "swim":
        return easy_version(workout, estimate, glimits or GuardrailLimits())
    seconds = max(1800, min(MAX_GC_RIDE_S, int(estimate.duration_s // 300 * 300)))
    low_if = schema.thresholds.gc.min_if + 0.02
    high_if = max(low_if, schema.thresholds.breakaway.min_if - 0.03)
    target: PowerRangeTarget | HrZoneTarget
    if workout.sport == "ride" and thresholds.ftp_w:
        target = PowerRangeTarget(
            kind="power_range",
            low_w=round(low_if * thresholds.ftp_w),
            high_w=round(high_if * thresholds.ftp_w),
        )
    else:
        target = HrZoneTarget(kind="hr_zone", zone=3)
    step = Step(
        kind="step",
        type="interval",
        duration=TimeDuration(kind="time", seconds=seconds),
        target=target,
    )
    return workout.model_copy(update={"structure": WorkoutStructure(steps=[step]), "key": False})


def _day_plan(
    snapshot: DecisionSnapshot, workout: PlannedWorkout
) -> tuple[Plan, PlanEstimates, AthleteContext]:
    """Today's workout in a plan whose earlier days hold the last sessions (history the rules
    count but never change), with their estimates, and the context the rules read."""
    today = snapshot.today
    context = snapshot.context
    thresholds = context.thresholds
    if context.loads.end >= today:  # today's training already counted: the session is still ours
        keep = (today - context.loads.start).days
        if keep < 1:
            raise ValueError("the decision needs loads recorded before today")
        context = replace(context, loads=DailyLoad(context.loads.start, context.loads.load[:keep]))
    history = sorted(
        (
            s
            for s in snapshot.last_sessions
            if today - timedelta(days=HISTORY_DAYS) <= s.day < today
        ),
        key=lambda s: s.day,
    )
    first = history[0].day if history else today
    workouts: list[PlannedWorkout] = []
    estimates: dict[str, WorkoutEstimate] = {}
    for number, session in enumerate(history, start=1):
        workout_id = f"history-{number}"
        seconds = max(1, min(24 * 3600, round(session.duration_s)))
        length: TimeDuration | DistanceDuration = TimeDuration(kind="time", seconds=seconds)
        if session.sport == "swim":  # swims go by distance; the estimate below is what counts
            meters = min(500_000.0, session.distance_m or 1000.0)
            length = DistanceDuration(kind="distance", meters=max(1.0, meters))
        past = PlannedWorkout(
            id=workout_id,
            date=session.day,
            sport=session.sport,
            name=(session.name.strip() or session.sport)[:120],
            key=session.key,
            structure=WorkoutStructure(steps=[Step(kind="step", type="other", duration=length)]),
        )
        hard = min(float(seconds), max(0.0, session.hard_s))
        workouts.append(past)
        estimates[workout_id] = WorkoutEstimate(
            workout_id=workout_id,
            duration_s=float(seconds),
            distance_m=session.distance_m,
            load=session.load,
            load_model="default",
            intensity_factor=session.intensity_factor or 0.0,
            zone_s=(float(seconds) - hard, hard, 0.0),
        )
    today_workout = workout.model_copy(update={"date": today})
    if today_workout.id in estimates:
        today_workout = today_workout.model_copy(update={"id": f"{today:%Y%m%d}-today"})
    workouts.append(today_workout)
    estimates[today_workout.id] = estimate_workout(today_workout, thresholds)
    weeks = (today - first).days // 7 + 1
    plan = Plan(
        title="Today",
        goal=Goal(name="Today", sport="other"),
        availability=Availability(weekdays=list(WEEKDAYS), hours_per_week=40),
        weeks=[Week(start=first + timedelta(days=7 * i), focus="base") for i in range(weeks)],
        workouts=workouts,
    )
    return plan, PlanEstimates(estimates), context


def _guard_workout(draft: _Draft, snapshot: DecisionSnapshot, glimits: GuardrailLimits) -> None:
    """Today's workout through the day's plan guardrails; what they refuse becomes easy."""
    workout = draft.workout
    if workout is None:
        return
    plan, estimates, context = _day_plan(snapshot, workout)
    today_id = plan.workouts[-1].id
    report = check_plan(plan, estimates, context, glimits, rules=DAY_RULES)
    result = report.plan.workout(today_id)
    mine = [f for f in report.findings if f.workout_id == today_id or f.day == snapshot.today]
    for finding in mine:
        if finding.severity == "adjust":
            draft.findings.append(finding)
        elif finding.severity == "report" or (result is not None and result.race):
            # A race is the owner's choice: what the rules say about it is reported.
            draft.findings.append(replace(finding, severity="report"))
        elif result is not None:
            estimate = report.estimates[today_id]
            if is_hard(result, estimate, glimits):
                result = easy_version(result, estimate, glimits)
            draft.findings.append(
                Finding(
                    finding.rule,
                    "adjust",
                    "decision_hard_refused",
                    {**finding.params, **workout_params(workout), "guardrail": finding.code},
                    today_id,
                    day=snapshot.today,
                )
            )
    if result is None:
        draft.workout = None
        draft.action = "rest"
        draft.intensity = "low"
        return
    before = plan.workouts[-1]
    if result != before:
        was_hard = is_hard(before, estimates[before.id], glimits)
        if was_hard and not is_hard(result, estimate_workout(result, context.thresholds), glimits):
            draft.cap_action("ease")
            draft.cap_intensity("low")
    draft.workout = result.model_copy(update={"id": workout.id})


def _guard_stage(
    draft: _Draft,
    snapshot: DecisionSnapshot,
    constraints: MissionConstraints | None,
    limits: SafetyLimits,
    glimits: GuardrailLimits,
) -> None:
    """A stage day: breakaway only when readiness, form and the mission's constraints allow a
    hard day; otherwise GC, and a workout paced like a breakaway becomes a GC ride."""
    assert snapshot.event is not None
    schema = snapshot.event.schema
    readiness = snapshot.readiness
    refusals: list[Finding] = []
    if (
        readiness is None
        or readiness <= limits.breakaway_readiness_above
        or snapshot.tsb <= limits.breakaway_tsb_above
    ):
        refusals.append(
            Finding(
                "safety",
                "adjust",
                "decision_no_breakaway",
                {
                    "readiness": None if readiness is None else r1(readiness),
                    "tsb": r1(snapshot.tsb),
                    "min_readiness": r1(limits.breakaway_readiness_above),
                    "min_tsb": r1(limits.breakaway_tsb_above),
                },
                day=snapshot.today,
            )
        )
    recovering = _recovering(snapshot, "ride" if draft.workout is None else draft.workout.sport)
    if recovering is not None:
        refusals.append(recovering)
    refusals.extend(_constraint_findings(snapshot, constraints, glimits))
    if not refusals:
        return
    thresholds = snapshot.context.thresholds
    workout = draft.workout
    paced_breakaway = False
    estimate = None
    if workout is not None:
        estimate = estimate_workout(workout, thresholds)
        paced_breakaway = ride_mode(estimate.intensity_factor, estimate.load, schema) == "breakaway"
    if draft.mode != "breakaway" and not paced_breakaway:
        return
    draft.findings.extend(refusals)
    if draft.mode == "breakaway":
        draft.mode = "gc"
    if workout is not None and paced_breakaway and estimate is not None:
        draft.workout = gc_version(workout, estimate, thresholds, schema, glimits)


def _settle_stage_day(draft: _Draft, snapshot: DecisionSnapshot, glimits: GuardrailLimits) -> None:
    """On a stage day the ride mode sets the intensity and bounds the action; a stage let go
    (mode rest) keeps at most an easy spin."""
    if draft.mode == "breakaway":
        draft.intensity = "high"
    elif draft.mode == "gc":
        draft.intensity = "moderate"
        draft.cap_action("maintain")
    elif draft.mode == "rest":
        draft.intensity = "low"
        draft.cap_action("recover")
        workout = draft.workout
        if workout is not None:
            estimate = estimate_workout(workout, snapshot.context.thresholds)
            if is_hard(workout, estimate, glimits):
                draft.workout = easy_version(workout, estimate, glimits)


def _guard_training_day(
    draft: _Draft,
    snapshot: DecisionSnapshot,
    constraints: MissionConstraints | None,
    glimits: GuardrailLimits,
) -> None:
    """A day without a stage: a hard day needs the mission's constraints and today's readiness;
    then the workout passes the day's plan guardrails."""
    thresholds = snapshot.context.thresholds
    workout = draft.workout
    estimate = None if workout is None else estimate_workout(workout, thresholds)
    hard_workout = (
        workout is not None and estimate is not None and is_hard(workout, estimate, glimits)
    )
    if workout is not None and workout.race:
        # A race is the owner's choice: the constraints are reported, the race stays.
        for finding in _constraint_findings(snapshot, constraints, glimits):
            draft.findings.append(replace(finding, severity="report"))
    elif draft.action == "push" or draft.intensity == "high" or hard_workout:
        refusals = _constraint_findings(snapshot, constraints, glimits)
        signal = readiness_signal(snapshot.context, glimits)
        if signal is not None and not hard_workout:
            # A hard session is eased by the readiness guardrail below, with its own reason.
            refusals.append(
                Finding(
                    "readiness",
                    "adjust",
                    "decision_push_not_ready",
                    dict(signal),
                    day=snapshot.today,
                )
            )
        if refusals:
            draft.findings.extend(refusals)
            draft.cap_action("ease")
            draft.cap_intensity("moderate")
            if workout is not None and estimate is not None and hard_workout:
                draft.workout = easy_version(workout, estimate, glimits)
                draft.cap_intensity("low")
    _guard_workout(draft, snapshot, glimits)


def apply_safety(
    decision: Decision,
    snapshot: DecisionSnapshot,
    *,
    constraints: MissionConstraints | None = None,
    limits: SafetyLimits | None = None,
    guardrail_limits: GuardrailLimits | None = None,
) -> ReviewedDecision:
    """The decision after the safety rules (module docstring), with every overrule as a
    finding; expected points and bonus opportunities computed from the points schema for the
    final ride mode. Pure: the decision passed in is unchanged."""
    limits = limits or SafetyLimits()
    glimits = guardrail_limits or GuardrailLimits()
    stage = snapshot.stage
    draft = _Draft(
        action=decision.action,
        intensity=decision.intensity,
        workout=_effective_workout(decision, snapshot, glimits),
        mode=decision.ride_mode,
    )
    sport = draft.workout.sport if draft.workout is not None else ("ride" if stage else None)
    rest = _forced_rest(snapshot, limits, stage is not None, sport)
    if rest:
        needed = (
            draft.action != "rest"
            or draft.workout is not None
            or (stage is not None and draft.mode != "rest")
        )
        if needed:
            draft.findings.extend(rest)
        draft.action, draft.intensity, draft.workout = "rest", "low", None
        draft.mode = "rest" if stage is not None else None
    elif stage is not None:
        _guard_stage(draft, snapshot, constraints, limits, glimits)
        _settle_stage_day(draft, snapshot, glimits)
    elif draft.action != "rest":
        _guard_training_day(draft, snapshot, constraints, glimits)
    if draft.action == "rest":
        draft.workout = None
    schema_points: int | None = None
    opportunities: list[BonusOpportunity] = []
    event = snapshot.event
    if event is not None:
        number = None if stage is None else stage.number
        if number is not None and draft.mode is not None:
            schema_points = expected_points(event, number, draft.mode)
        opportunities = bonus_opportunities(event, number)
    flags = list(dict.fromkeys([*decision.flags, *(f.code for f in draft.findings)]))[:20]
    final = decision.model_copy(
        update={
            "action": draft.action,
            "intensity": draft.intensity,
            "workout": draft.workout,
            "ride_mode": draft.mode,
            "flags": flags,
            "expected_points": schema_points,
            "bonus_opportunities": opportunities,
        }
    )
    return ReviewedDecision(final, decision, tuple(draft.findings))


__all__ = [
    "ACTIONS",
    "INTENSITIES",
    "Action",
    "Decision",
    "DecisionSnapshot",
    "Intensity",
    "LlmDecision",
    "ReviewedDecision",
    "SafetyLimits",
    "SessionSummary",
    "apply_safety",
    "decision_from_llm",
    "gc_version",
    "llm_decision_schema",
]
