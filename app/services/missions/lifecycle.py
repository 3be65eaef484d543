"""Missions kept in the database and moved through their lifecycle.

The owner imports a mission (JSON in the format of :class:`app.coach.missions.Mission`; the
builder that drafts one with the language model comes later) and moves it: Start (PREP →
TRAINING), back to PREP before the event, Archive once complete. The clock makes the other two
moves at midnight in the mission's time zone — TRAINING → EVENT_ACTIVE on the event's first day,
EVENT_ACTIVE → MISSION_COMPLETE after its last — through :func:`apply_due`, which the scheduler
runs every few minutes and at start-up (so a NAS that was off catches up, each move recorded
with the midnight it became due). Every move is a row of ``mission_transition``.

One active mission at a time: :func:`app.coach.missions.transition` refuses a second Start, and
a partial unique index on ``mission`` makes a race between two requests fail instead of
leaving two active missions (the loser is told the same sentence).

Services own their transactions (``app.services``): functions that write take a sessionmaker;
readers take a session.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.coach.messages import (
    describe_error,
    mission_state_name,
    mission_type_name,
    phase_name,
    stage_type_name,
)
from app.coach.missions import (
    Countdown,
    Mission,
    MissionState,
    PhaseSpan,
    Transition,
    TransitionRefused,
    countdown,
    due_transitions,
    is_locked,
    mission_errors,
    transition,
)
from app.coach.points import Stage
from app.i18n import _
from app.models import MissionRow, MissionTransitionRow

MAX_DOCUMENT_BYTES = 512 * 1024

# Sentences of the codes this service adds to the pure lifecycle's (app.coach.messages).
_SENTENCES = {
    "mission_too_large": lambda p: _(
        "The mission file is larger than %(limit_kb)s KB; a mission is a short JSON document.",
        limit_kb=p.get("limit_kb", "?"),
    ),
    "mission_not_json": lambda p: _(
        "The mission file is not JSON (%(detail)s).", detail=p.get("detail", "?")
    ),
    "mission_not_object": lambda p: _(
        "The mission file must hold one JSON object (the mission), not a list or a value."
    ),
    "mission_not_found": lambda p: _("There is no such mission (it may have been deleted)."),
    "mission_not_deletable": lambda p: _(
        "Only a mission in preparation can be deleted; archive it once it is complete."
    ),
    "mission_locked": lambda p: _(
        "The mission is complete: its stages and points no longer change."
    ),
    "event_not_started": lambda p: _("Stages can be corrected once the event has started."),
    "correction_reason_missing": lambda p: _(
        "Say why stage %(stage)s is corrected: the reason stays next to the stage.",
        stage=p.get("stage", "?"),
    ),
    "correction_mode_unknown": lambda p: _("Choose GC, breakaway or rest as the mode."),
    "event_not_over": lambda p: _("The wrap-up comes once the event is over."),
}


def sentence(code: str, params: dict[str, Any] | None = None, fallback: str = "") -> str:
    """The owner's sentence for a mission error code (this service's or the lifecycle's)."""
    render = _SENTENCES.get(code)
    if render is not None:
        return render(params or {})
    return describe_error(code, params or {}, fallback)


@dataclass(frozen=True)
class MissionProblem:
    """One reason a mission file is not valid: where (dotted field path) and the sentence."""

    where: str
    code: str
    message: str


class MissionInvalid(ValueError):
    """The mission document does not validate; ``problems`` says every reason."""

    def __init__(self, problems: list[MissionProblem]) -> None:
        self.problems = problems
        super().__init__(
            "; ".join(f"{p.where}: {p.message}" if p.where else p.message for p in problems)
        )


class MissionRefused(ValueError):
    """A move or change the lifecycle does not allow; ``code``/``params`` make the sentence."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(f"{code}: {params}")

    @property
    def message(self) -> str:
        return sentence(self.code, self.params)


@dataclass(frozen=True)
class MissionSummary:
    id: int
    name: str
    state: MissionState
    mission: Mission
    countdown: Countdown

    @property
    def locked(self) -> bool:
        return is_locked(self.state)

    @property
    def state_label(self) -> str:
        return mission_state_name(self.state.value)

    @property
    def type_label(self) -> str:
        return mission_type_name(self.mission.type)

    @property
    def phase_label(self) -> str:
        return phase_name(self.countdown.phase)

    @property
    def moves(self) -> list[tuple[str, str]]:
        """The owner's moves the page offers now: (target state, button label)."""
        offers = {
            MissionState.PREP: [(MissionState.TRAINING.value, _("Start training"))],
            MissionState.TRAINING: [(MissionState.PREP.value, _("Back to preparation"))],
            MissionState.MISSION_COMPLETE: [(MissionState.ARCHIVED.value, _("Archive"))],
        }
        return offers.get(self.state, [])


@dataclass(frozen=True)
class TransitionView:
    source: MissionState
    target: MissionState
    trigger: str
    due_at: datetime | None
    at: datetime


@dataclass(frozen=True)
class StageRow:
    number: int | None
    date: date
    type_label: str
    name: str | None
    racing: bool
    today: bool


@dataclass(frozen=True)
class MissionView:
    summary: MissionSummary
    transitions: list[TransitionView]
    wrap_up: dict[str, Any] | None = None

    @property
    def mission(self) -> Mission:
        return self.summary.mission

    @property
    def stages(self) -> list[StageRow]:
        today = self.summary.countdown.day
        return [
            StageRow(s.number, s.date, stage_type_name(s.type), s.name, s.racing, s.date == today)
            for s in self.mission.stages
        ]

    def state_label(self, state: MissionState) -> str:
        return mission_state_name(state.value)


def _problems(exc: ValidationError) -> list[MissionProblem]:
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error.get("loc", ()))
        code = str(error.get("type", "invalid"))
        params = {k: v for k, v in (error.get("ctx") or {}).items() if not isinstance(v, Exception)}
        problems.append(
            MissionProblem(where, code, describe_error(code, params, error.get("msg", "")))
        )
    return problems


def parse_mission(data: bytes | str | dict[str, Any]) -> Mission:
    """A mission from its JSON document, or :class:`MissionInvalid` with every reason."""
    if isinstance(data, bytes | str):
        if len(data) > MAX_DOCUMENT_BYTES:
            raise MissionInvalid(
                [
                    MissionProblem(
                        "",
                        "mission_too_large",
                        describe_error(
                            "mission_too_large", {"limit_kb": MAX_DOCUMENT_BYTES // 1024}
                        ),
                    )
                ]
            )
        try:
            data = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MissionInvalid(
                [
                    MissionProblem(
                        "",
                        "mission_not_json",
                        sentence("mission_not_json", {"detail": str(exc)}),
                    )
                ]
            ) from None
    if not isinstance(data, dict):
        raise MissionInvalid(
            [MissionProblem("", "mission_not_object", sentence("mission_not_object"))]
        )
    try:
        return Mission.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc)
    # The mission's own check stops at its first problem, unplaced: list every one, placed.
    placed = _placed_problems(data)
    if placed:
        problems = [p for p in problems if p.where] + placed
    raise MissionInvalid(problems)


def _placed_problems(data: dict[str, Any]) -> list[MissionProblem]:
    """Every problem of the dates, stages and phases that parse (``mission_errors``)."""
    try:
        days = {
            k: date.fromisoformat(str(data[k])) for k in ("prep_start", "event_start", "event_end")
        }
    except (KeyError, ValueError):
        return []
    stages, phases = [], []
    for kind, items, out in (
        (Stage, data.get("stages") or [], stages),
        (PhaseSpan, data.get("phases") or [], phases),
    ):
        for item in items if isinstance(items, list) else []:
            try:
                out.append(kind.model_validate(item))
            except ValidationError:
                return []
    return [
        MissionProblem(
            ".".join(str(part) for part in e.loc),
            e.code,
            describe_error(e.code, e.params, e.message),
        )
        for e in mission_errors(**days, stages=stages, phases=phases)
    ]


def import_mission(
    sessions: sessionmaker[Session], data: bytes | str | dict[str, Any], *, origin: str = "import"
) -> int:
    """Store a new mission in PREP; returns its id (:class:`MissionInvalid` when it is not
    valid: nothing is stored)."""
    mission = parse_mission(data)
    with sessions.begin() as session:
        row = MissionRow(
            name=mission.name,
            state=MissionState.PREP.value,
            document=mission.model_dump(mode="json"),
            origin=origin,
        )
        session.add(row)
        session.flush()
        return row.id


def _summary(row: MissionRow, now_utc: datetime) -> MissionSummary:
    mission = Mission.model_validate(row.document)
    return MissionSummary(
        row.id,
        row.name,
        MissionState(row.state),
        mission,
        countdown(mission, mission.local_day(now_utc)),
    )


_ORDER = {
    MissionState.EVENT_ACTIVE: 0,
    MissionState.TRAINING: 1,
    MissionState.PREP: 2,
    MissionState.MISSION_COMPLETE: 3,
    MissionState.ARCHIVED: 4,
}


def list_missions(session: Session, now_utc: datetime) -> list[MissionSummary]:
    """Every mission: the active one first, then those in preparation by event date, then the
    finished ones, the latest first."""
    summaries = [_summary(row, now_utc) for row in session.scalars(select(MissionRow))]

    def key(s: MissionSummary) -> tuple[int, int]:
        ordinal = s.mission.event_start.toordinal()
        return (
            _ORDER[s.state],
            -ordinal
            if s.state in (MissionState.MISSION_COMPLETE, MissionState.ARCHIVED)
            else ordinal,
        )

    return sorted(summaries, key=key)


def mission_view(session: Session, mission_id: int, now_utc: datetime) -> MissionView | None:
    row = session.get(MissionRow, mission_id)
    if row is None:
        return None
    moves = session.scalars(
        select(MissionTransitionRow)
        .where(MissionTransitionRow.mission_id == mission_id)
        .order_by(MissionTransitionRow.at, MissionTransitionRow.id)
    )
    return MissionView(
        _summary(row, now_utc),
        [
            TransitionView(
                MissionState(m.source), MissionState(m.target), m.trigger, m.due_at, m.at
            )
            for m in moves
        ],
        row.wrap_up,
    )


def _record(session: Session, mission_id: int, move_: Transition) -> None:
    session.add(
        MissionTransitionRow(
            mission_id=mission_id,
            source=move_.source.value,
            target=move_.target.value,
            trigger=move_.trigger,
            due_at=move_.due_at,
        )
    )


def move(
    sessions: sessionmaker[Session], mission_id: int, target: MissionState, *, now_utc: datetime
) -> Transition:
    """The owner's move of a mission to ``target`` (:class:`MissionRefused` with the reason
    when the lifecycle does not allow it; nothing changes then)."""
    try:
        with sessions.begin() as session:
            row = session.get(MissionRow, mission_id, with_for_update=True)
            if row is None:
                raise MissionRefused("mission_not_found", id=mission_id)
            others = session.scalars(
                select(MissionRow.state).where(MissionRow.id != mission_id)
            ).all()
            mission = Mission.model_validate(row.document)
            try:
                done = transition(
                    mission,
                    MissionState(row.state),
                    target,
                    now_utc=now_utc,
                    other_states=[MissionState(s) for s in others],
                )
            except TransitionRefused as refused:
                raise MissionRefused(refused.code, **refused.params) from None
            row.state = target.value
            row.updated_at = now_utc
            _record(session, mission_id, done)
            # The clock's moves due right away (Start on the event's first day).
            for due in due_transitions(mission, target, now_utc):
                row.state = due.target.value
                _record(session, mission_id, due)
            session.flush()
            return done
    except IntegrityError:
        # Another request started a mission between our check and our write.
        raise MissionRefused(
            "another_mission_active", source=MissionState.PREP.value, target=target.value
        ) from None


def apply_due(sessions: sessionmaker[Session], now_utc: datetime) -> list[tuple[int, Transition]]:
    """Every move the clock owes any mission at ``now_utc``, made and recorded (after
    downtime several at once, each with the midnight it became due). Idempotent."""
    made: list[tuple[int, Transition]] = []
    with sessions.begin() as session:
        rows = session.scalars(
            select(MissionRow)
            .where(
                MissionRow.state.in_((MissionState.TRAINING.value, MissionState.EVENT_ACTIVE.value))
            )
            .with_for_update()
        ).all()
        for row in rows:
            mission = Mission.model_validate(row.document)
            for due in due_transitions(mission, MissionState(row.state), now_utc):
                row.state = due.target.value
                row.updated_at = now_utc
                _record(session, row.id, due)
                made.append((row.id, due))
    return made


def delete_mission(sessions: sessionmaker[Session], mission_id: int) -> None:
    """Delete a mission still in preparation (a mission that was trained for or raced is kept:
    archive it instead)."""
    with sessions.begin() as session:
        row = session.get(MissionRow, mission_id, with_for_update=True)
        if row is None:
            raise MissionRefused("mission_not_found", id=mission_id)
        if row.state != MissionState.PREP.value:
            raise MissionRefused("mission_not_deletable", state=row.state)
        session.execute(delete(MissionRow).where(MissionRow.id == mission_id))


NOTIFY_CHOICES: dict[str, list[str]] = {"dashboard": [], "email": ["email"]}
"""How to be told each morning, as the wizard and the mission's page offer it: the dashboard
only, or an e-mail morning brief besides."""


def notify_from_form(value: str) -> list[str]:
    """The mission's ``notify_by`` for the form's choice (anything else: the dashboard only)."""
    return list(NOTIFY_CHOICES.get(value, []))


def set_notify_by(sessions: sessionmaker[Session], mission_id: int, notify_by: list[str]) -> None:
    """Keep how the owner wants to be told each morning (``notify_by`` of the mission); a
    completed mission no longer changes (:class:`MissionRefused`)."""
    with sessions.begin() as session:
        row = session.get(MissionRow, mission_id, with_for_update=True)
        if row is None:
            raise MissionRefused("mission_not_found", id=mission_id)
        if is_locked(MissionState(row.state)):
            raise MissionRefused("mission_locked", state=row.state)
        mission = Mission.model_validate({**row.document, "notify_by": notify_by})
        row.document = mission.model_dump(mode="json")
