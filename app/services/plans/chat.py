"""The plan chat: the owner's message to the coach about the plan → the model's answer and,
when the message asks for a change, a change set → applied to a new PROPOSED revision, checked
by the guardrails and compared with the approved one (:func:`revisions.apply_change_set`).
Free-text answers only explain; nothing changes without a change set and the owner's approval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.coach import plan_chat as prompt
from app.coach.llm_messages import NOT_CONFIGURED, failure_sentence
from app.coach.plans import Plan
from app.config import Settings
from app.i18n import _
from app.models import PlanRevision, TrainingPlan
from app.security.keys import SecretBox
from app.services.coach import llm
from app.services.coach.config import load_config
from app.services.coach.context import build_snapshot
from app.services.coach.library import query_language
from app.services.metrics.recompute import owner_today
from app.services.plans import revisions


@dataclass(frozen=True)
class ChatOutcome:
    """The coach's answer (``None`` on failure), the revision its change set made (``None``
    when it asked for no change), and the sentence of what went wrong."""

    message: str
    answer: str | None = None
    revision: revisions.Stored | None = None
    failure: str | None = None


def _base(session: Session, plan_id: int) -> PlanRevision:
    if session.get(TrainingPlan, plan_id) is None:
        raise revisions.PlanError("not_found")
    base = session.execute(
        select(PlanRevision)
        .where(PlanRevision.plan_id == plan_id)
        .order_by((PlanRevision.state == "APPROVED").desc(), PlanRevision.number.desc())
        .limit(1)
    ).scalar_one_or_none()
    if base is None:
        raise revisions.PlanError("no_base")
    return base


def chat(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    plan_id: int,
    message: str,
    *,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
    today: date | None = None,
) -> ChatOutcome:
    """Send ``message`` about plan ``plan_id`` to the coach. Raises
    :class:`revisions.PlanError` for a plan that is gone; every other failure is in the
    outcome."""
    message = " ".join(message.split("\x00")).strip()[: prompt.MAX_MESSAGE_CHARS]
    if not message:
        return ChatOutcome(message, failure=_("Write what you would like to change."))
    with sessions() as session:
        base = _base(session, plan_id)
        plan = Plan.model_validate(base.content)
        config = load_config(session, settings, box)
        today = today or owner_today(session)
        if not config.configured:
            return ChatOutcome(message, failure=failure_sentence(NOT_CONFIGURED))
        snapshot = build_snapshot(session, today=today, withheld=config.withheld)
    result = llm.call_structured(
        sessions,
        settings,
        box,
        purpose=prompt.PURPOSE,
        prompt_version=prompt.PROMPT_VERSION,
        messages=prompt.build_messages(
            message,
            plan=plan,
            today=today,
            language=query_language(message),
            snapshot_text=snapshot.text,
        ),
        output=prompt.PlanChatReply,
        schema=prompt.reply_schema(),
        validate=lambda reply: prompt.change_problems(plan, reply, today),
        clock=clock,
    )
    if result.value is None:
        return ChatOutcome(message, failure=result.failure.sentence)  # type: ignore[union-attr]
    reply = result.value
    if reply.change_set is None or not reply.change_set.operations:
        return ChatOutcome(message, answer=reply.answer)
    try:
        stored = revisions.apply_change_set(
            sessions, plan_id, reply.change_set, origin="chat", today=today
        )
    except revisions.PlanError as error:
        return ChatOutcome(
            message,
            answer=reply.answer,
            failure=revisions.error_sentence(error.code, **error.params),
        )
    return ChatOutcome(message, answer=reply.answer, revision=stored)
