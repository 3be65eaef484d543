"""Ask the coach against the real database, the shipped library and the fake LLM server
scripted per test: a cited answer; a citation to a passage that was not retrieved dropped and
logged; invalid JSON then valid; the budget; no model configured; the embedding model used for
retrieval; the Strava exclusion in the prompt; conversations kept, deleted and purged.

Nothing sleeps: the clock is injected."""

from __future__ import annotations

import json
import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import select, update

from app.models import Activity, ActivitySource, CoachConversation, CoachMessage, LlmCall
from app.services.coach import ask, config, library
from app.services.coach.context import build_snapshot
from tests.support.coach_llm import KEY, MODEL, llm_settings
from tests.support.fake_llm import CHAT, EMBEDDINGS, FakeLlm
from tests.support.fitwriter import write_activity
from tests.support.importing import import_files

SEOUL = ZoneInfo("Asia/Seoul")
QUESTION_EN = "How long should my taper be before a marathon?"
QUESTION_KO = "마라톤 전에 테이퍼링은 얼마나 해야 하나요?"


@pytest.fixture
def shipped(sessions):
    library.sync_shipped(sessions)


def retrieved(sessions, question: str) -> list[int]:
    with sessions() as session:
        return [p.chunk_id for p in library.search(session, question)]


def system_prompt(llm_server: FakeLlm, index: int = -1) -> str:
    return llm_server.calls(CHAT)[index].body["messages"][0]["content"]


def test_a_cited_answer_is_stored_with_its_conversation(
    sessions, llm_env, llm_box, llm_clock, llm_server, shipped, owner
):
    ids = retrieved(sessions, QUESTION_EN)
    assert len(ids) == 5
    llm_server.answer(
        {"answer": "About two weeks, cutting volume by 40–60 %.", "citations": ids[:2]}
    )

    answer = ask.ask(sessions, llm_env, llm_box, QUESTION_EN, clock=llm_clock.clock)

    assert answer.failure is None and answer.language == "en"
    assert answer.answer == "About two weeks, cutting volume by 40–60 %."
    assert [c["chunk_id"] for c in answer.citations] == ids[:2]
    with sessions() as session:
        first = library.passage(session, ids[0])
    assert answer.citations[0] == {
        "chunk_id": ids[0],
        "title": first.title,
        "section": first.heading,
        "lang": "en",
    }
    # The prompt carried the passages under their ids, the rules in English and the question.
    sent = llm_server.calls(CHAT)[0].body
    assert sent["messages"][-1] == {"role": "user", "content": QUESTION_EN}
    for chunk in ids:
        assert f"[id {chunk}]" in sent["messages"][0]["content"]
    assert "Answer in English" in sent["messages"][0]["content"]
    assert sent["response_format"]["type"] == "json_schema"
    with sessions() as session:
        conversation = session.get(CoachConversation, answer.conversation_id)
        assert conversation.title == QUESTION_EN and conversation.language == "en"
        assert conversation.model == MODEL
        assert conversation.prompt_tokens == answer.prompt_tokens > 0
        messages = session.scalars(select(CoachMessage).order_by(CoachMessage.id)).all()
        assert [(m.role, m.content) for m in messages] == [
            ("owner", QUESTION_EN),
            ("coach", answer.answer),
        ]
        assert messages[1].citations == answer.citations
        call = session.scalars(select(LlmCall)).one()
        assert (call.purpose, call.prompt_version, call.status) == ("ask", "ask-1", "ok")
        assert messages[1].call_id == call.call_id


def test_a_korean_question_is_answered_from_korean_passages_in_korean(
    sessions, llm_env, llm_box, llm_clock, llm_server, shipped, owner
):
    ids = retrieved(sessions, QUESTION_KO)
    llm_server.answer({"answer": "보통 2주 정도, 훈련량을 40–60% 줄입니다.", "citations": [ids[0]]})
    answer = ask.ask(sessions, llm_env, llm_box, QUESTION_KO, clock=llm_clock.clock)
    assert answer.language == "ko" and answer.citations[0]["lang"] == "ko"
    assert "Answer in Korean" in system_prompt(llm_server)


def test_a_citation_to_a_passage_not_retrieved_is_dropped_and_logged(
    sessions, llm_env, llm_box, llm_clock, llm_server, shipped, owner, caplog
):
    ids = retrieved(sessions, QUESTION_EN)
    with sessions() as session:
        other = session.scalar(
            select(library.LibraryChunk.id).where(library.LibraryChunk.id.not_in(ids)).limit(1)
        )
    llm_server.answer({"answer": "Two weeks.", "citations": [ids[1], other, 999_999_999, ids[1]]})

    with caplog.at_level(logging.WARNING, logger="app.services.coach.ask"):
        answer = ask.ask(sessions, llm_env, llm_box, QUESTION_EN, clock=llm_clock.clock)

    assert [c["chunk_id"] for c in answer.citations] == [ids[1]]
    assert answer.dropped == (other, 999_999_999)
    assert any(
        "dropped citations" in r.getMessage() and str(other) in r.getMessage()
        for r in caplog.records
    )
    with sessions() as session:
        message = session.scalars(select(CoachMessage).where(CoachMessage.role == "coach")).one()
        assert message.dropped_citations == [other, 999_999_999]
        assert [c["chunk_id"] for c in message.citations] == [ids[1]]


def test_invalid_json_then_valid_gives_the_answer(
    sessions, llm_env, llm_box, llm_clock, llm_server, shipped, owner
):
    ids = retrieved(sessions, QUESTION_EN)
    llm_server.answer_text('{"answer": "Two weeks", "citations": [')
    llm_server.answer({"answer": "Two weeks.", "citations": [ids[0]]})
    answer = ask.ask(sessions, llm_env, llm_box, QUESTION_EN, clock=llm_clock.clock)
    assert answer.failure is None and answer.answer == "Two weeks."
    assert len(llm_server.calls(CHAT)) == 2
    assert llm_server.calls(CHAT)[1].body["temperature"] == 0


def test_invalid_twice_keeps_the_failure_sentence_not_the_text(
    sessions, llm_env, llm_box, llm_clock, llm_server, shipped, owner
):
    llm_server.answer_text("Sure! Taper for two weeks.", times=2)
    answer = ask.ask(sessions, llm_env, llm_box, QUESTION_EN, clock=llm_clock.clock)
    assert answer.answer is None and answer.failure.code == "llm_invalid_json"
    with sessions() as session:
        message = session.scalars(select(CoachMessage).where(CoachMessage.role == "coach")).one()
    assert message.failure_code == "llm_invalid_json"
    assert message.content == answer.failure.sentence
    assert "Taper for two weeks" not in message.content


def test_the_budget_refuses_before_any_request(
    sessions, settings, llm_box, llm_clock, llm_server, shipped, owner
):
    llm_env = llm_settings(
        settings,
        llm_base_url=llm_server.base_url,
        llm_model=MODEL,
        llm_api_key=KEY,
        llm_monthly_token_budget=10,
    )
    ids = retrieved(sessions, QUESTION_EN)
    llm_server.answer({"answer": "Two weeks.", "citations": [ids[0]]})
    ask.ask(
        sessions, llm_env, llm_box, QUESTION_EN, clock=llm_clock.clock
    )  # spends more than 10 tokens

    refused = ask.ask(
        sessions, llm_env, llm_box, "And the week before a 10 k?", clock=llm_clock.clock
    )

    assert refused.failure.code == "llm_budget_exceeded"
    assert "budget" in refused.failure.sentence
    assert len(llm_server.calls(CHAT)) == 1
    with sessions() as session:
        assert session.scalars(select(LlmCall.status).order_by(LlmCall.id)).all() == [
            "ok",
            "refused",
        ]


def test_without_a_model_the_library_is_still_searched_and_nothing_is_stored(
    sessions, settings, llm_box, llm_clock, llm_server, shipped, owner
):
    answer = ask.ask(sessions, llm_settings(settings), llm_box, QUESTION_EN, clock=llm_clock.clock)
    assert answer.conversation_id is None
    assert answer.failure.code == "llm_not_configured"
    assert "Settings → Coach" in answer.failure.sentence
    assert [p.chunk_id for p in answer.passages] == retrieved(sessions, QUESTION_EN)
    assert llm_server.requests == []
    with sessions() as session:
        assert session.scalars(select(CoachConversation)).all() == []


def test_with_an_embedding_model_the_question_is_embedded_for_retrieval(
    sessions, settings, llm_box, llm_clock, llm_server, shipped, owner
):
    llm_env = llm_settings(
        settings,
        llm_base_url=llm_server.base_url,
        llm_model=MODEL,
        llm_api_key=KEY,
        llm_embedding_model="test-embed",
    )
    llm_server.answer({"answer": "Two weeks.", "citations": []})
    answer = ask.ask(sessions, llm_env, llm_box, QUESTION_EN, clock=llm_clock.clock)
    assert answer.failure is None
    assert [c.body["input"] for c in llm_server.calls(EMBEDDINGS)] == [[QUESTION_EN]]
    with sessions() as session:
        purposes = session.scalars(select(LlmCall.purpose).order_by(LlmCall.id)).all()
    assert purposes == ["library_search", "ask"]


def test_a_follow_up_carries_the_conversation(
    sessions, llm_env, llm_box, llm_clock, llm_server, shipped, owner
):
    llm_server.answer({"answer": "About two weeks.", "citations": []})
    first = ask.ask(sessions, llm_env, llm_box, QUESTION_EN, clock=llm_clock.clock)
    llm_server.answer({"answer": "Keep some intensity.", "citations": []})
    second = ask.ask(
        sessions,
        llm_env,
        llm_box,
        "And should I still run intervals?",
        conversation_id=first.conversation_id,
        clock=llm_clock.clock,
    )
    assert second.conversation_id == first.conversation_id
    messages = llm_server.calls(CHAT)[1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == QUESTION_EN and messages[2]["content"] == "About two weeks."
    with pytest.raises(ask.AskError) as gone:
        ask.ask(sessions, llm_env, llm_box, "Hello?", conversation_id=987654, clock=llm_clock.clock)
    assert gone.value.code == "not_found"


@pytest.mark.parametrize(("question", "code"), [("   ", "empty"), ("x" * 2001, "too_long")])
def test_a_question_refused_before_anything_is_asked(
    sessions, llm_env, llm_box, llm_clock, llm_server, question, code
):
    with pytest.raises(ask.AskError) as refused:
        ask.ask(sessions, llm_env, llm_box, question, clock=llm_clock.clock)
    assert refused.value.code == code
    assert llm_server.requests == []


def _run(day, name: str) -> bytes:
    n = 40 * 60
    samples = {
        "heart_rate": np.full(n, 148.0),
        "speed": np.full(n, 3.2),
        "distance": np.arange(n) * 3.2,
    }
    start = datetime.combine(day, time(7), tzinfo=SEOUL)
    return write_activity(None, sport="running", start=start, samples=samples)


def test_the_prompt_carries_the_snapshot_without_what_only_stravas_api_brought(
    sessions, llm_env, llm_box, llm_clock, llm_server, shipped, owner
):
    today = datetime.now(SEOUL).date()
    watch_day, strava_day = today - timedelta(days=1), today - timedelta(days=3)
    import_files(
        sessions,
        llm_env,
        {"watch.fit": _run(watch_day, "watch"), "strava.fit": _run(strava_day, "strava")},
    )
    with sessions.begin() as session:
        rows = {a.local_date: a for a in session.scalars(select(Activity))}
        rows[watch_day].name = "Tempo by the river"
        strava_only = rows[strava_day]
        strava_only.name = "Secret Strava ride"
        strava_only.extras = {**(strava_only.extras or {}), "strava_api": True}
        session.execute(
            update(ActivitySource)
            .where(ActivitySource.activity_id == strava_only.id)
            .values(source="strava")
        )
    llm_server.answer({"answer": "Easy today.", "citations": []})

    ask.ask(sessions, llm_env, llm_box, "How did my runs go this week?", clock=llm_clock.clock)

    with sessions() as session:
        current = config.load_config(session, llm_env)
        expected = build_snapshot(session, withheld=current.withheld)
    system = system_prompt(llm_server)
    assert f"Athlete snapshot (JSON):\n{expected.text}\n" in system
    dates = [s["date"] for s in json.loads(expected.text)["recent_sessions"]]
    assert watch_day.isoformat() in dates and strava_day.isoformat() not in dates
    assert "Tempo by the river" in system
    assert "Secret Strava ride" not in system
    assert strava_day.isoformat() not in system


def test_conversations_are_listed_deleted_and_purged_after_the_retention(
    sessions, llm_env, llm_box, llm_clock, llm_server, shipped, owner
):
    llm_server.answer({"answer": "Two weeks.", "citations": []}, times=2)
    old = ask.ask(sessions, llm_env, llm_box, QUESTION_EN, clock=llm_clock.clock)
    llm_clock.current += timedelta(days=20)
    new = ask.ask(sessions, llm_env, llm_box, QUESTION_KO, clock=llm_clock.clock)
    with sessions() as session:
        listed = ask.list_conversations(session)
    assert [(c.id, c.messages) for c in listed] == [
        (new.conversation_id, 2),
        (old.conversation_id, 2),
    ]

    # 30 days (the default retention) after its last question, the first one goes.
    gone = ask.purge_conversations(
        sessions, now=llm_clock.current + timedelta(days=11), retention_days=30
    )
    assert gone == 1
    with sessions() as session:
        assert [c.id for c in ask.list_conversations(session)] == [new.conversation_id]
        assert (
            session.scalars(select(CoachMessage.conversation_id)).all() == [new.conversation_id] * 2
        )

    assert ask.delete_conversation(sessions, new.conversation_id) is True
    assert ask.delete_conversation(sessions, new.conversation_id) is False
    with sessions() as session:
        assert session.scalars(select(CoachMessage)).all() == []
