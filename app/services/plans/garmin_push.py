"""Approved workouts on the Garmin watch: Garmin Connect's workouts and calendar kept in step
with the plan.

:func:`push` lists every workout of the approved revisions (past ones too: they stay on
Garmin's calendar as history; only those of the next :data:`WINDOW_DAYS` are created), reads
what Domestique did on Garmin (``garmin_push``) and lets the pure push plan
(:mod:`app.coach.garmin_push`) say which calls to make: create + schedule + read back, update
in place (Garmin keeps the id and the schedule), move, or unschedule + delete — nothing for an
unchanged revision, so pushing twice makes no call. Each call's outcome is committed at once,
so a push cut short (a 429, an expired login, the NAS going down) resumes where it stopped.

**Read-back**: after every create or update the workout is fetched again and compared with what
was sent (:func:`app.coach.garmin_workout.compare`); a difference — a target Garmin changed or
dropped — is kept with the workout, which the calendar shows as *needs attention* with the
difference in words, instead of silently putting a wrong target on the watch.

Only workouts Domestique created are ever touched (the records are its own); the owner's own
Garmin workouts never appear. Nothing is pushed before approval: only APPROVED revisions are
listed. The workout's state on the calendar becomes PUSHED once Garmin holds it and it was
read back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.coach.estimate import estimate_plan
from app.coach.garmin_push import (
    Action,
    Pushed,
    Wanted,
    push_plan,
    record,
    record_not_found,
    revision_hash,
)
from app.coach.garmin_workout import compare, garmin_workout
from app.coach.plans import Plan, PlannedWorkout
from app.models import GarminPush, PlanRevision
from app.models import PlannedWorkout as PlannedWorkoutRow
from app.security.keys import SecretBox
from app.services.metrics.recompute import owner_today
from app.services.plans.athlete import thresholds_on
from app.services.sync import connections
from app.sources import SourceAuthError, SourceDataError, SourceError, SourceRateLimited

log = logging.getLogger(__name__)

WINDOW_DAYS = 14
"""Workouts of the next two weeks are created on Garmin (a watch holds a limited number)."""


@dataclass
class PushResult:
    """How a push ended: calls made, and why it stopped early (``None``: it finished)."""

    calls: int = 0
    actions: int = 0
    stopped: str | None = None
    retry_after: float | None = None
    attention: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Target:
    plan_id: int
    workout: PlannedWorkout
    payload: dict[str, Any]
    revision: str


def _targets(session: Session, today: date) -> dict[tuple[int, str], _Target]:
    """Every workout of the approved revisions that is on the calendar, with what Garmin gets."""
    on_calendar = {
        (plan_id, workout_id)
        for plan_id, workout_id in session.execute(
            select(PlannedWorkoutRow.plan_id, PlannedWorkoutRow.workout_id)
        )
    }
    thresholds = thresholds_on(session, today)
    found: dict[tuple[int, str], _Target] = {}
    for revision in session.scalars(select(PlanRevision).where(PlanRevision.state == "APPROVED")):
        plan = Plan.model_validate(revision.content)
        estimates = estimate_plan(plan, thresholds)
        for workout in plan.workouts:
            if (revision.plan_id, workout.id) not in on_calendar:
                continue
            found[(revision.plan_id, workout.id)] = _Target(
                revision.plan_id,
                workout,
                garmin_workout(workout, estimates.get(workout.id)),
                revision_hash(workout),
            )
    return found


def _key(plan_id: int, workout_id: str) -> str:
    return f"{plan_id}:{workout_id}"


def _split(key: str) -> tuple[int, str]:
    plan_id, workout_id = key.split(":", 1)
    return int(plan_id), workout_id


def _save(sessions: sessionmaker[Session], key: str, pushed: Pushed | None, **extra: Any) -> None:
    plan_id, workout_id = _split(key)
    with sessions.begin() as session:
        row = session.get(GarminPush, (plan_id, workout_id), with_for_update=True)
        if pushed is None:
            if row is not None:
                session.delete(row)
            _state(session, plan_id, workout_id, pushed=False)
            return
        if row is None:
            row = GarminPush(plan_id=plan_id, workout_id=workout_id)
            session.add(row)
        row.garmin_workout_id = pushed.garmin_workout_id
        row.revision, row.checked = pushed.revision, pushed.checked
        row.schedule_id, row.day = pushed.schedule_id, pushed.day
        row.updated_at = datetime.now(UTC)
        if "differences" in extra:
            row.differences = extra["differences"]
        _state(
            session,
            plan_id,
            workout_id,
            pushed=pushed.checked and pushed.schedule_id is not None,
        )


def _state(session: Session, plan_id: int, workout_id: str, *, pushed: bool) -> None:
    row = session.execute(
        select(PlannedWorkoutRow).where(
            PlannedWorkoutRow.plan_id == plan_id, PlannedWorkoutRow.workout_id == workout_id
        )
    ).scalar_one_or_none()
    if row is None:
        return
    if pushed and row.state == "PLANNED":
        row.state = "PUSHED"
    elif not pushed and row.state == "PUSHED":
        row.state = "PLANNED"


def push(
    sessions: sessionmaker[Session],
    box: SecretBox,
    client_for: Any,
    *,
    today: date | None = None,
) -> PushResult:
    """Bring Garmin in step with the approved workouts; ``client_for(tokens)`` builds the
    Garmin adapter. Nothing happens while Garmin is not connected."""
    result = PushResult()
    with sessions() as session:
        tokens = connections.load_tokens(session, box, "garmin")
        if tokens is None or connections.peek_connection(session, "garmin").status != "connected":
            result.stopped = "not_connected"
            return result
        today = today or owner_today(session)
        targets = _targets(session, today)
        records = {
            _key(r.plan_id, r.workout_id): Pushed(
                _key(r.plan_id, r.workout_id),
                r.garmin_workout_id,
                r.revision,
                r.checked,
                r.schedule_id,
                r.day,
            )
            for r in session.scalars(select(GarminPush))
        }
    window_end = today + timedelta(days=WINDOW_DAYS)
    wanted = [
        Wanted(_key(*key), t.revision, t.workout.date, today <= t.workout.date < window_end)
        for key, t in targets.items()
    ]
    actions = push_plan(wanted, records.values())
    client = client_for(tokens)
    try:
        for action in actions:
            try:
                _do(sessions, client, action, records, targets, result)
            except SourceRateLimited as limited:
                result.stopped, result.retry_after = "rate_limited", limited.retry_after
                break
            except SourceAuthError:
                result.stopped = "auth"
                with sessions.begin() as session:
                    connections.mark_needs_reconnect(session, "garmin", "garmin_auth")
                break
            except SourceError as error:
                log.warning(
                    "garmin push: %s of %s failed (%s)", action.kind, action.workout_id, error
                )
                result.stopped = getattr(error, "code", None) or "garmin_unavailable"
                break
    finally:
        try:
            fresh = client.current_tokens()
        except Exception:
            fresh = None
        if fresh:
            with sessions.begin() as session:
                connections.keep_rotated_tokens(session, box, "garmin", fresh)
    return result


def _do(
    sessions: sessionmaker[Session],
    client: Any,
    action: Action,
    records: dict[str, Pushed],
    targets: dict[tuple[int, str], _Target],
    result: PushResult,
) -> None:
    current = records.get(action.workout_id)
    target = targets.get(_split(action.workout_id))
    new_id: int | None = None
    extra: dict[str, Any] = {}
    try:
        match action.kind:
            case "create":
                assert target is not None
                new_id = client.upload_workout(target.payload)
            case "update":
                assert target is not None and action.garmin_workout_id is not None
                client.update_workout(action.garmin_workout_id, target.payload)
            case "schedule":
                garmin_id = (
                    current.garmin_workout_id if current else None
                ) or action.garmin_workout_id
                assert garmin_id is not None and action.day is not None
                new_id = client.schedule_workout(garmin_id, action.day)
            case "reschedule":
                assert action.schedule_id is not None and action.day is not None
                client.reschedule_workout(action.schedule_id, action.day)
            case "read_back":
                assert target is not None
                garmin_id = (
                    current.garmin_workout_id if current else None
                ) or action.garmin_workout_id
                assert garmin_id is not None
                fetched = client.workout(garmin_id)
                differences = compare(target.payload, fetched)
                extra["differences"] = [
                    {"code": d.code, "params": dict(d.params)} for d in differences
                ]
                if differences:
                    result.attention.append(action.workout_id)
            case "unschedule":
                assert action.schedule_id is not None
                client.unschedule_workout(action.schedule_id)
            case "delete":
                assert action.garmin_workout_id is not None
                client.delete_workout(action.garmin_workout_id)
    except SourceDataError as error:
        if getattr(error, "code", None) != "garmin_not_found" or current is None:
            raise
        after = record_not_found(current, action)
    else:
        after = record(current, action, new_id=new_id)
    if after is None:
        records.pop(action.workout_id, None)
    else:
        records[action.workout_id] = after
    _save(sessions, action.workout_id, after, **extra)
    result.actions += 1
    result.calls += 2 if action.kind == "reschedule" else 1


def attention(session: Session) -> dict[tuple[int, str], list[dict[str, Any]]]:
    """Workouts whose read-back found differences, with the differences (codes and params)."""
    return {
        (r.plan_id, r.workout_id): r.differences
        for r in session.scalars(
            select(GarminPush).where(func.jsonb_array_length(GarminPush.differences) > 0)
        )
    }
