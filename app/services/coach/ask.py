"""*Ask the coach*: a question answered from the athlete's snapshot and the guideline library,
with citations that are checked, and the conversations kept.

One question: :func:`keep_question` keeps it, ``pending``, in its conversation at once; then
:func:`answer_question` — on the app's work runner for the Plan page (:func:`ask_in_background`,
the page polls until the reply is there), at once for the command line (:func:`ask`):

1. the settings in force (no model configured: the passages are still found, no call is made);
2. the library passages for the question, in its language — with the embedding model when one
   is set (the query's vector is fetched first, under the budget and the audit, so no
   transaction waits on the network), lexical otherwise or when that call fails;
3. the snapshot ``build_snapshot`` gives (the Strava exclusion and the owner's withheld groups
   applied there) and the conversation's turns before the question;
4. ``call_structured`` with :class:`app.coach.ask.CoachAnswer`;
5. citations not among the retrieved passages dropped and logged;
6. the answer (or the failure's sentence) kept as the reply, the question ``answered`` (or
   ``failed``), in one transaction.

A question a stopped process left pending is given up at the next start
(:func:`fail_interrupted`): its reply says so, and the owner asks again with one button.

Conversations are deleted after the coach's retention (Settings → Coach, the same number of
days as the audit's texts) by the nightly purge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from app import i18n
from app.coach import ask as prompt
from app.coach.llm_messages import NOT_CONFIGURED, failure_sentence
from app.config import Settings
from app.i18n import _, format_number
from app.models import CoachConversation, CoachMessage
from app.security.keys import SecretBox
from app.services.coach import library, llm
from app.services.coach.config import LlmConfig, load_config
from app.services.coach.context import build_snapshot

log = logging.getLogger(__name__)

SEARCH_PURPOSE = "library_search"
MAX_CONVERSATIONS_LISTED = 50
PENDING, ANSWERED, FAILED = "pending", "answered", "failed"
INTERRUPTED = "interrupted"  # the reply's failure code when a restart cut the answer short


class AskError(ValueError):
    """A question refused before anything is asked (``code``: ``empty``, ``too_long``,
    ``not_found``, ``pending``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Answer:
    """What one question gave: the conversation it is in (None when nothing was stored: no
    model configured), the answer's text and its kept citations, or the failure."""

    conversation_id: int | None
    question: str
    language: str
    passages: list[library.Passage]
    answer: str | None = None
    citations: list[dict] = field(default_factory=list)
    dropped: tuple[int, ...] = ()
    failure: llm.Failure | None = None
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "conversation_id": self.conversation_id,
            "question": self.question,
            "language": self.language,
            "answer": self.answer,
            "citations": self.citations,
            "dropped_citations": list(self.dropped),
            "failure": (
                {"code": self.failure.code, "sentence": self.failure.sentence}
                if self.failure
                else None
            ),
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "passages": [
                {k: v for k, v in p.as_dict().items() if k != "text"} for p in self.passages
            ],
        }


def check_question(question: str) -> str:
    question = question.strip()
    if not question:
        raise AskError("empty")
    if len(question) > prompt.MAX_QUESTION_CHARS:
        raise AskError("too_long")
    return question


def _query_embedder(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    config: LlmConfig,
    question: str,
    clock: llm.Clock,
) -> library.Embedder | None:
    """The question's vector, fetched now (outside any transaction), as an embedder the search
    can use; None without an embedding model or when the call fails (then: lexical)."""
    if not (config.configured and config.embedding_model.value):
        return None
    result = llm.embed(
        sessions, settings, box, purpose=SEARCH_PURPOSE, texts=[question], clock=clock
    )
    if not result.ok or not result.vectors or result.model is None:
        log.warning("ask: the question's embedding failed; the library is searched lexically")
        return None
    vector = result.vectors[0]
    return library.Embedder(result.model, lambda texts: [vector for _ in texts])


def _history(session: Session, conversation_id: int, before: int) -> list[prompt.Turn]:
    """The conversation's turns before the question ``before`` (failed replies left out)."""
    rows = session.scalars(
        select(CoachMessage)
        .where(CoachMessage.conversation_id == conversation_id, CoachMessage.id < before)
        .order_by(CoachMessage.id)
    )
    return [
        prompt.Turn(row.role, row.content)  # type: ignore[arg-type]
        for row in rows
        if row.failure_code is None
    ]


class AnswerRunner(Protocol):
    """Where answers are queued (the app's ``app.services.work.runner.WorkRunner``)."""

    def submit_answer(self, message_id: int, work: Callable[[], object]) -> object: ...


@dataclass(frozen=True)
class Question:
    """A question kept ``pending`` in its conversation, waiting for its answer."""

    conversation_id: int
    message_id: int
    question: str
    language: str


def keep_question(
    sessions: sessionmaker[Session],
    question: str,
    *,
    conversation_id: int | None = None,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
) -> Question:
    """Keep ``question`` (checked) as pending, in a new conversation or continuing
    ``conversation_id``. Raises ``AskError``: empty, too long, a conversation that is gone, or
    one whose last question is still being answered (``pending``)."""
    question = check_question(question)
    language = library.query_language(question)
    now = clock.now()
    with sessions.begin() as session:
        if conversation_id is None:
            conversation = CoachConversation(
                title=prompt.title_of(question),
                language=language,
                prompt_tokens=0,
                completion_tokens=0,
                created_at=now,
            )
            session.add(conversation)
            session.flush()
        else:
            conversation = session.get(CoachConversation, conversation_id, with_for_update=True)
            if conversation is None:
                raise AskError("not_found")
            waiting = session.scalar(
                select(func.count()).where(
                    CoachMessage.conversation_id == conversation_id,
                    CoachMessage.state == PENDING,
                )
            )
            if waiting:
                raise AskError("pending")
        conversation.updated_at = now
        message = CoachMessage(
            conversation_id=conversation.id,
            role="owner",
            content=question,
            state=PENDING,
            created_at=now,
        )
        session.add(message)
        session.flush()
        return Question(conversation.id, message.id, question, language)


def answer_question(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    message_id: int,
    *,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
) -> Answer | None:
    """Answer the pending question ``message_id`` and keep the reply (the answer, or the
    failure's sentence); None when it is no longer pending (answered, failed, or its
    conversation deleted meanwhile)."""
    with sessions() as session:
        asked = session.get(CoachMessage, message_id)
        if asked is None or asked.state != PENDING:
            return None
        conversation_id, question = asked.conversation_id, asked.content
        config = load_config(session, settings, box)
    language = library.query_language(question)
    embedder = _query_embedder(sessions, settings, box, config, question, clock)
    with sessions() as session:
        passages = library.search(session, question, lang=language, embedder=embedder)
        if config.configured:
            snapshot = build_snapshot(session, withheld=config.withheld)
            history = _history(session, conversation_id, message_id)
    if not config.configured:  # set up when asked, removed since
        with i18n.using(locale=config.owner_locale):
            sentence = failure_sentence(NOT_CONFIGURED)
        result: llm.CallResult = llm.CallResult(None, llm.Failure(NOT_CONFIGURED, {}, sentence))
        sources: dict[int, prompt.Source] = {}
    else:
        sources = {
            p.chunk_id: prompt.Source(p.chunk_id, p.title, p.heading, p.lang, p.text)
            for p in passages
        }
        messages = prompt.build_messages(
            question,
            language=language,  # type: ignore[arg-type]
            snapshot_text=snapshot.text,
            sources=list(sources.values()),
            history=history,
        )
        result = llm.call_structured(
            sessions,
            settings,
            box,
            purpose=prompt.PURPOSE,
            prompt_version=prompt.PROMPT_VERSION,
            messages=messages,
            output=prompt.CoachAnswer,
            clock=clock,
        )
    citations: list[dict] = []
    dropped: tuple[int, ...] = ()
    if result.value is not None:
        checked = prompt.check_citations(result.value.citations, list(sources))
        dropped = checked.dropped
        if dropped:
            log.warning(
                "ask: dropped citations %s not among the retrieved passages %s (call %s)",
                list(dropped),
                list(sources),
                result.call_id,
            )
        citations = prompt.citation_records(checked.kept, sources)
    reply = result.value.answer if result.value is not None else result.failure.sentence  # type: ignore[union-attr]
    now = clock.now()
    with sessions.begin() as session:
        conversation = session.get(CoachConversation, conversation_id, with_for_update=True)
        asked = session.get(CoachMessage, message_id, with_for_update=True)
        if conversation is None or asked is None or asked.state != PENDING:
            return None  # deleted, or given up on, while the model answered
        conversation.model = result.model or conversation.model
        conversation.prompt_tokens += result.prompt_tokens
        conversation.completion_tokens += result.completion_tokens
        conversation.updated_at = now
        asked.state = FAILED if result.failure else ANSWERED
        session.add(
            CoachMessage(
                conversation_id=conversation.id,
                role="coach",
                content=reply,
                citations=citations,
                dropped_citations=list(dropped),
                failure_code=result.failure.code if result.failure else None,
                call_id=result.call_id,
                model=result.model,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                created_at=now,
            )
        )
    return Answer(
        conversation_id,
        question,
        language,
        passages,
        answer=result.value.answer if result.value is not None else None,
        citations=citations,
        dropped=dropped,
        failure=result.failure,
        model=result.model,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
    )


def ask(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    question: str,
    *,
    conversation_id: int | None = None,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
) -> Answer:
    """Answer ``question`` now (in a new conversation, or continuing ``conversation_id``): the
    command line's way. Raises ``AskError`` for an empty or too long question or a conversation
    that is gone; every failure of the model is an ``Answer`` with ``failure`` (its sentence
    stored as the reply). Without a model nothing is stored: the library's passages."""
    question = check_question(question)
    with sessions() as session:
        configured = load_config(session, settings, box).configured
    if not configured:
        return _unconfigured(sessions, question)
    kept = keep_question(sessions, question, conversation_id=conversation_id, clock=clock)
    answer = answer_question(sessions, settings, box, kept.message_id, clock=clock)
    assert answer is not None  # nobody else answers a question kept by this call
    return answer


def _unconfigured(sessions: sessionmaker[Session], question: str) -> Answer:
    language = library.query_language(question)
    with sessions() as session:
        passages = library.search(session, question, lang=language)
    failure = llm.Failure(NOT_CONFIGURED, {}, failure_sentence(NOT_CONFIGURED))
    return Answer(None, question, language, passages, failure=failure)


def ask_in_background(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    runner: AnswerRunner,
    question: str,
    *,
    conversation_id: int | None = None,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
) -> Question | None:
    """The Plan page's way: keep the question (pending) and queue its answer on the app's
    work runner; returns at once. None without a
    model configured (nothing is kept; the page searches the library instead). Raises
    ``AskError`` as :func:`keep_question`."""
    question = check_question(question)
    with sessions() as session:
        if not load_config(session, settings).configured:
            return None
    kept = keep_question(sessions, question, conversation_id=conversation_id, clock=clock)
    runner.submit_answer(
        kept.message_id,
        lambda: answer_question(sessions, settings, box, kept.message_id, clock=clock),
    )
    return kept


def fail_interrupted(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime,
    keep: Collection[int] = (),
) -> int:
    """Give up on the questions a stopped process left pending (except ``keep``, this
    process's own): each gets a reply saying so, in the owner's language (as every failure's
    sentence), and the owner can ask it again. Returns how many."""
    with sessions.begin() as session:
        left = session.scalars(
            select(CoachMessage)
            .where(CoachMessage.state == PENDING, CoachMessage.id.not_in(list(keep) or [0]))
            .with_for_update()
        ).all()
        if left:
            with i18n.using(locale=load_config(session, settings).owner_locale):
                sentence = interrupted_sentence()
        for asked in left:
            asked.state = FAILED
            session.add(
                CoachMessage(
                    conversation_id=asked.conversation_id,
                    role="coach",
                    content=sentence,
                    failure_code=INTERRUPTED,
                    created_at=now,
                )
            )
    if left:
        log.info("%d question(s) a stopped process left unanswered are marked failed", len(left))
    return len(left)


def interrupted_sentence() -> str:
    return _(
        "The app restarted before the coach could answer. Your question is kept: ask it again."
    )


def question_state(sessions: sessionmaker[Session], message_id: int) -> str | None:
    """``pending``, ``answered`` or ``failed``; None when the question is gone."""
    with sessions() as session:
        return session.scalar(select(CoachMessage.state).where(CoachMessage.id == message_id))


# --- conversations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversationSummary:
    id: int
    title: str
    language: str
    model: str | None
    tokens: int
    messages: int
    updated_at: datetime


@dataclass(frozen=True)
class Conversation:
    summary: ConversationSummary
    messages: list[CoachMessage]


def list_conversations(session: Session) -> list[ConversationSummary]:
    counts = (
        select(CoachMessage.conversation_id, func.count().label("n"))
        .group_by(CoachMessage.conversation_id)
        .subquery()
    )
    rows = session.execute(
        select(CoachConversation, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.conversation_id == CoachConversation.id)
        .order_by(CoachConversation.updated_at.desc(), CoachConversation.id.desc())
        .limit(MAX_CONVERSATIONS_LISTED)
    ).all()
    return [_summary(c, n) for c, n in rows]


def _summary(c: CoachConversation, messages: int) -> ConversationSummary:
    return ConversationSummary(
        c.id,
        c.title,
        c.language,
        c.model,
        c.prompt_tokens + c.completion_tokens,
        messages,
        c.updated_at,
    )


def get_conversation(session: Session, conversation_id: int) -> Conversation | None:
    c = session.get(CoachConversation, conversation_id)
    if c is None:
        return None
    messages = list(
        session.scalars(
            select(CoachMessage)
            .where(CoachMessage.conversation_id == conversation_id)
            .order_by(CoachMessage.id)
        )
    )
    for message in messages:
        session.expunge(message)
    return Conversation(_summary(c, len(messages)), messages)


def delete_conversation(sessions: sessionmaker[Session], conversation_id: int) -> bool:
    """Delete one conversation and its messages; False when it was already gone."""
    with sessions.begin() as session:
        gone = session.execute(
            delete(CoachConversation).where(CoachConversation.id == conversation_id)
        )
    return bool(gone.rowcount)


def purge_conversations(
    sessions: sessionmaker[Session], *, now: datetime, retention_days: int
) -> int:
    """Delete the conversations untouched for more than ``retention_days``."""
    cutoff = now - timedelta(days=retention_days)
    with sessions.begin() as session:
        gone = session.execute(
            delete(CoachConversation).where(CoachConversation.updated_at < cutoff)
        )
    if gone.rowcount:
        log.info("deleted %d coach conversations older than %d days", gone.rowcount, retention_days)
    return int(gone.rowcount or 0)


def purge_expired(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> int:
    with sessions() as session:
        days = int(load_config(session, settings).retention_days.value)
    return purge_conversations(sessions, now=now or datetime.now(UTC), retention_days=days)


# --- the Plan page's chat ----------------------------------------------------------------------


@dataclass(frozen=True)
class AskPage:
    """What the chat on the Plan page shows: whether a model is configured, the conversations,
    the open one, the retention, and a library search (always offered)."""

    configured: bool
    conversations: list[ConversationSummary]
    current: Conversation | None
    retention_days: int
    query: str = ""
    passages: list[library.Passage] = field(default_factory=list)
    error: str | None = None
    typed: str = ""


def ask_page(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    conversation_id: int | None = None,
    query: str = "",
    error: str | None = None,
    typed: str = "",
) -> AskPage:
    query = query.strip()[: prompt.MAX_QUESTION_CHARS]
    with sessions() as session:
        config = load_config(session, settings)
        current = (
            get_conversation(session, conversation_id) if conversation_id is not None else None
        )
        passages = library.search(session, query) if query else []
        conversations = list_conversations(session)
    return AskPage(
        config.configured,
        conversations,
        current,
        int(config.retention_days.value),
        query,
        passages,
        error,
        typed,
    )


def passage(sessions: sessionmaker[Session], chunk_id: int) -> library.Passage | None:
    with sessions() as session:
        return library.passage(session, chunk_id)


def error_sentence(code: str) -> str:
    """What the owner reads when a question is refused before it is asked."""
    sentences = {
        "empty": lambda: _("Type a question first."),
        "too_long": lambda: _(
            "That question is too long (at most %(limit)s characters).",
            limit=format_number(prompt.MAX_QUESTION_CHARS),
        ),
        "not_found": lambda: _("That conversation is no longer kept; ask in a new one."),
        "pending": lambda: _(
            "The coach is still answering your last question; wait for the answer first."
        ),
    }
    sentence = sentences.get(code)
    return sentence() if sentence else code
