"""Event mode: the stage table of a mission scored from the owner's real rides, and the owner's
corrections of stages.

Each racing stage is matched to the activity of its day in the mission's time zone (the pure
rules: :func:`app.coach.points.score_event` — biggest load of the event's sport, mode read from
the ride's intensity factor and load, points and bonuses from the mission's schema). The
activities come from the database with Domestique's own metrics: the power TSS when the ride has
one, else the activity's load (rTSS or HRSS), and the power intensity factor. A correction names
the activity that rode a stage (even from another day) and/or the mode to count, with a reason;
one per stage, replaced by the next, refused with a sentence when it cannot apply, and kept with
the stage. A completed mission is locked: its table no longer changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.coach.matching import family_of
from app.coach.messages import ride_mode_name, stage_type_name
from app.coach.missions import Mission, MissionState, is_locked
from app.coach.points import (
    CorrectionsInvalid,
    EventScore,
    StageActivity,
    StageCorrection,
    StageResult,
    correction_errors,
    score_event,
)
from app.models import Activity, ActivityMetrics, MissionRow, StageCorrectionRow
from app.services.missions.lifecycle import MissionRefused

# The sport a mission's stages are ridden (or run) in, by mission type; None: any sport counts.
EVENT_SPORTS: dict[str, tuple[str, ...] | None] = {
    "road_stage_race": ("ride",),
    "gran_fondo": ("ride",),
    "gravel_ultra": ("ride",),
    "time_trial_series": ("ride",),
    "marathon": ("run",),
    "triathlon": None,
    "custom": None,
}
SCORED_STATES = frozenset(
    {MissionState.EVENT_ACTIVE, MissionState.MISSION_COMPLETE, MissionState.ARCHIVED}
)


@dataclass(frozen=True)
class StageRowView:
    """One row of the stage table as the page shows it."""

    result: StageResult
    type_label: str
    detected_label: str | None
    mode_label: str | None


@dataclass(frozen=True)
class EventView:
    score: EventScore
    rows: list[StageRowView]
    locked: bool
    candidates: list[StageActivity]
    """The activities of the event's days, for the correction form."""


def _candidates(session: Session, mission: Mission, extra_ids: set[int]) -> list[StageActivity]:
    start = mission.midnight(mission.event_start) - timedelta(days=1)
    end = mission.midnight(mission.event_end + timedelta(days=1)) + timedelta(days=1)
    query = (
        select(
            Activity.id,
            Activity.start_time,
            Activity.sport,
            Activity.sub_sport,
            Activity.name,
            Activity.moving_s,
            ActivityMetrics.tss,
            ActivityMetrics.load,
            ActivityMetrics.intensity_factor,
        )
        .outerjoin(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .where(
            or_(
                (Activity.start_time >= start) & (Activity.start_time < end),
                Activity.id.in_(extra_ids or {-1}),
            )
        )
        .order_by(Activity.start_time)
    )
    return [
        StageActivity(
            activity_id=str(row.id),
            start=row.start_time,
            sport=family_of(row.sport, row.sub_sport),
            tss=row.tss if row.tss is not None else row.load,
            intensity_factor=row.intensity_factor,
            duration_s=row.moving_s,
            name=row.name or "",
        )
        for row in session.execute(query)
    ]


def _corrections(session: Session, mission_id: int) -> list[StageCorrection]:
    rows = session.scalars(
        select(StageCorrectionRow)
        .where(StageCorrectionRow.mission_id == mission_id)
        .order_by(StageCorrectionRow.stage)
    )
    return [
        StageCorrection(
            stage=row.stage,
            activity_id=None if row.activity_id is None else str(row.activity_id),
            mode=row.mode,
            reason=row.reason,
        )
        for row in rows
    ]


def _score(
    session: Session, row: MissionRow, now_utc: datetime
) -> tuple[Mission, EventScore, list[StageActivity]]:
    mission = Mission.model_validate(row.document)
    corrections = _corrections(session, row.id)
    named = {int(c.activity_id) for c in corrections if c.activity_id is not None}
    candidates = _candidates(session, mission, named)
    state = MissionState(row.state)
    today = mission.local_day(now_utc) if state == MissionState.EVENT_ACTIVE else None
    score = score_event(
        mission.stages,
        candidates,
        mission.points,
        corrections,
        time_zone=mission.zone,
        today=today,
        sports=EVENT_SPORTS.get(mission.type),
    )
    return mission, score, candidates


def event_view(session: Session, mission_id: int, now_utc: datetime) -> EventView | None:
    """The stage table of a mission in (or after) its event; ``None`` before the event or for
    a mission without stages."""
    row = session.get(MissionRow, mission_id)
    if (
        row is None
        or MissionState(row.state) not in SCORED_STATES
        or not row.document.get("stages")
    ):
        return None
    _mission, score, candidates = _score(session, row, now_utc)
    rows = [
        StageRowView(
            r,
            stage_type_name(r.stage.type),
            None if r.detected_mode is None else ride_mode_name(r.detected_mode),
            None if r.mode is None else ride_mode_name(r.mode),
        )
        for r in score.results
    ]
    return EventView(score, rows, is_locked(MissionState(row.state)), candidates)


def correction_from_form(
    stage: int, *, activity_id: str, mode: str, reason: str
) -> StageCorrection:
    """A correction from the page's form (empty fields: unchanged), or :class:`MissionRefused`
    with the first reason it is not valid."""
    try:
        return StageCorrection(
            stage=stage,
            activity_id=activity_id.strip() or None,
            mode=mode.strip() or None,
            reason=reason.strip(),
        )
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        params = {k: v for k, v in (error.get("ctx") or {}).items() if not isinstance(v, Exception)}
        field = error.get("loc", ("",))[0] if error.get("loc") else ""
        if field == "reason":
            raise MissionRefused("correction_reason_missing", stage=stage) from None
        if field == "mode":
            raise MissionRefused("correction_mode_unknown", mode=mode) from None
        raise MissionRefused(str(error.get("type", "invalid")), **params) from None


def correct_stage(
    sessions: sessionmaker[Session],
    mission_id: int,
    correction: StageCorrection,
    *,
    now_utc: datetime,
) -> None:
    """Keep the owner's correction of a stage (replacing an earlier one of that stage), or
    :class:`MissionRefused` with the reason; nothing changes then."""
    with sessions.begin() as session:
        row = session.get(MissionRow, mission_id, with_for_update=True)
        if row is None:
            raise MissionRefused("mission_not_found", id=mission_id)
        state = MissionState(row.state)
        if is_locked(state):
            raise MissionRefused("mission_locked", state=state.value)
        if state not in SCORED_STATES:
            raise MissionRefused("event_not_started")
        mission = Mission.model_validate(row.document)
        others = [c for c in _corrections(session, mission_id) if c.stage != correction.stage]
        wanted = [*others, correction]
        named = {int(c.activity_id) for c in wanted if c.activity_id and c.activity_id.isdigit()}
        candidates = _candidates(session, mission, named)
        errors = correction_errors(mission.stages, candidates, wanted)
        if errors:
            first = errors[0]
            raise MissionRefused(first.code, **dict(first.params))
        session.execute(
            delete(StageCorrectionRow).where(
                StageCorrectionRow.mission_id == mission_id,
                StageCorrectionRow.stage == correction.stage,
            )
        )
        session.add(
            StageCorrectionRow(
                mission_id=mission_id,
                stage=correction.stage,
                activity_id=None if correction.activity_id is None else int(correction.activity_id),
                mode=correction.mode,
                reason=correction.reason,
            )
        )
        try:
            score_event(
                mission.stages,
                candidates,
                mission.points,
                wanted,
                time_zone=mission.zone,
                sports=EVENT_SPORTS.get(mission.type),
            )
        except CorrectionsInvalid as invalid:  # pragma: no cover - correction_errors said ok
            raise MissionRefused(invalid.errors[0].code) from None


def clear_correction(sessions: sessionmaker[Session], mission_id: int, stage: int) -> None:
    """Drop the owner's correction of a stage (the stage is matched and read again)."""
    with sessions.begin() as session:
        row = session.get(MissionRow, mission_id, with_for_update=True)
        if row is None:
            raise MissionRefused("mission_not_found", id=mission_id)
        if is_locked(MissionState(row.state)):
            raise MissionRefused("mission_locked", state=row.state)
        session.execute(
            delete(StageCorrectionRow).where(
                StageCorrectionRow.mission_id == mission_id, StageCorrectionRow.stage == stage
            )
        )
