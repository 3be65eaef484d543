"""The wrap-up after the event: when a mission completes, the coach looks back — a headline,
what went well, what to change — next to the event's numbers, which Domestique computes from the
stage table (:func:`app.coach.mission_draft.event_summary`) and never takes from the model.
Stored with the mission (which is locked from then on) and shown on its page. No model, a
spent budget or an answer that stays invalid after one re-ask leaves no wrap-up and a reason in
the log; *Write the wrap-up* on the mission's page asks again."""

from __future__ import annotations

import json
import logging

from sqlalchemy.orm import Session, sessionmaker

from app.coach.llm_schema import DraftInvalid
from app.coach.mission_draft import (
    LlmWrapUp,
    WrapUp,
    event_summary,
    llm_wrap_up_schema,
    wrap_up_from_llm,
)
from app.coach.missions import MissionState
from app.config import Settings
from app.models import MissionRow
from app.models.owner import get_owner
from app.security.keys import SecretBox
from app.services.coach import llm
from app.services.coach.config import load_config
from app.services.missions.event import event_view
from app.services.missions.lifecycle import MissionRefused

log = logging.getLogger(__name__)

PURPOSE = "mission_wrap_up"
PROMPT_VERSION = "wrap-up-1"
SYSTEM = """You are Domestique's endurance coach. The athlete's event is over. Look back on it \
from the numbers below (Domestique computed them; do not recompute or invent any): a headline \
in one sentence, what went well and what to change next time, a few short points each, in \
{language}."""


def _problems(answer: LlmWrapUp, summary) -> list[str]:
    try:
        wrap_up_from_llm(answer, summary)
    except DraftInvalid as invalid:
        return [str(error) for error in invalid.errors]
    return []


def write_wrap_up(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    mission_id: int,
    *,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
) -> WrapUp | None:
    """Write and keep the wrap-up of a completed mission; ``None`` when the coach could not
    (the reason is logged). Raises :class:`MissionRefused` for a mission not completed."""
    now = clock.now()
    with sessions() as session:
        row = session.get(MissionRow, mission_id)
        if row is None:
            raise MissionRefused("mission_not_found", id=mission_id)
        if MissionState(row.state) not in (MissionState.MISSION_COMPLETE, MissionState.ARCHIVED):
            raise MissionRefused("event_not_over")
        view = event_view(session, mission_id, now)
        config = load_config(session, settings, box)
        owner = get_owner(session)
        language = (owner.locale if owner is not None else None) or settings.default_locale
    if view is None or not config.configured:
        log.info("mission %s: no wrap-up (no stage table or no language model)", mission_id)
        return None
    summary = event_summary(view.score)
    numbers = json.dumps(summary.as_dict(), default=str, ensure_ascii=False)
    names = {"en": "English", "ko": "Korean (한국어)"}
    result = llm.call_structured(
        sessions,
        settings,
        box,
        purpose=PURPOSE,
        prompt_version=PROMPT_VERSION,
        messages=[
            {"role": "system", "content": SYSTEM.format(language=names.get(language, "English"))},
            {"role": "user", "content": f"The event in numbers (JSON):\n{numbers}"},
        ],
        output=LlmWrapUp,
        schema=llm_wrap_up_schema(),
        validate=lambda answer: _problems(answer, summary),
        clock=clock,
    )
    if result.value is None:
        log.warning(
            "mission %s: no wrap-up (%s)",
            mission_id,
            result.failure.code if result.failure else "?",
        )
        return None
    try:
        wrap_up = wrap_up_from_llm(result.value, summary)
    except DraftInvalid:
        log.warning("mission %s: the wrap-up stayed invalid", mission_id)
        return None
    with sessions.begin() as session:
        row = session.get(MissionRow, mission_id, with_for_update=True)
        row.wrap_up = wrap_up.model_dump(mode="json")
    return wrap_up
