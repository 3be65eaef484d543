"""Ask the coach on the Plan page through HTTP: behind the login and CSRF, the answer with its
citations linking to the library passage, a failure's sentence, the page without a model
(how to set one up, and the library search), conversations deleted; the question kept at once
and answered by the work runner while the page polls (answered, failed, given up on at a
restart); Korean and English."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from app import i18n
from app.coach.llm_messages import failure_sentence
from app.models import CoachConversation, CoachMessage, Owner, WorkRun
from app.services.coach import library
from app.services.work.runner import QueuedWorkRunner, WorkRunner
from tests.support.coach_llm import TestClock
from tests.support.fake_llm import CHAT

ORIGIN = {"Origin": "http://testserver"}
KO = {"Accept-Language": "ko-KR,ko;q=0.9"}
EN = {"Accept-Language": "en"}
QUESTION = "How long should my taper be before a marathon?"


@pytest.fixture
def coach(app, sessions, llm_env, llm_server):
    library.sync_shipped(sessions)
    app.state.settings = llm_env
    app.state.llm_clock = TestClock(datetime.now(UTC)).clock
    return llm_server


def test_the_plan_page_and_its_forms_are_behind_the_login(client, owner):
    assert client.get("/plan").status_code == 303
    assert client.get("/library/passages/1").status_code == 303
    refused = client.post("/plan/ask", data={"question": "hi"}, headers=ORIGIN)
    assert refused.status_code in (303, 401, 403)


def test_asking_without_the_sites_origin_is_refused(signed_in, coach):
    response = signed_in.post(
        "/plan/ask", data={"question": QUESTION}, headers={"Origin": "http://evil.example"}
    )
    assert response.status_code == 403
    assert coach.calls(CHAT) == []


def test_an_answer_with_clickable_citations(signed_in, coach, sessions):
    with sessions() as session:
        ids = [p.chunk_id for p in library.search(session, QUESTION)]
        cited = library.passage(session, ids[0])
    coach.answer({"answer": "About two weeks.", "citations": [ids[0]]})
    response = signed_in.post("/plan/ask", data={"question": QUESTION}, headers=ORIGIN | EN)
    assert response.status_code == 303
    with sessions() as session:
        conversation = session.scalars(select(CoachConversation)).one()
    assert response.headers["location"] == f"http://testserver/plan?c={conversation.id}#latest"

    page = signed_in.get(f"/plan?c={conversation.id}", headers=EN).text
    assert "About two weeks." in page and QUESTION in page
    link = re.search(
        r'<a href="(/library/passages/\d+)" data-testid="citation"[^>]*>([^<]*)</a>', page
    )
    assert link and link.group(1) == f"/library/passages/{ids[0]}"
    assert cited.title in link.group(2) and cited.heading in link.group(2)
    passage = signed_in.get(link.group(1), headers=EN)
    assert passage.status_code == 200
    assert cited.heading in passage.text and 'data-testid="passage"' in passage.text
    assert signed_in.get("/library/passages/999999999", headers=EN).status_code == 404

    # A follow-up goes into the same conversation.
    coach.answer({"answer": "Keep the intensity.", "citations": []})
    again = signed_in.post(
        "/plan/ask",
        data={"question": "Intervals too?", "conversation": str(conversation.id)},
        headers=ORIGIN | EN,
    )
    assert again.headers["location"].endswith(f"?c={conversation.id}#latest")
    assert len(coach.calls(CHAT)[1].body["messages"]) == 4


def test_a_failure_shows_its_sentence(signed_in, coach, sessions):
    coach.fail(401, times=2)
    response = signed_in.post("/plan/ask", data={"question": QUESTION}, headers=ORIGIN | EN)
    page = signed_in.get(response.headers["location"], headers=EN).text
    assert 'data-failure="llm_auth"' in page
    assert "refused the API key" in page


def test_an_empty_question_says_so(signed_in, coach):
    response = signed_in.post("/plan/ask", data={"question": "  "}, headers=ORIGIN | KO)
    assert response.status_code == 422
    assert 'data-testid="ask-error"' in response.text
    assert coach.calls(CHAT) == []


@pytest.mark.parametrize(
    ("headers", "words", "query"),
    [
        (EN, "Set up the coach", "taper marathon"),
        (KO, "코치 설정하기", "마라톤 테이퍼링"),
    ],
)
def test_without_a_model_the_page_says_how_and_still_searches_the_library(
    signed_in, sessions, headers, words, query
):
    library.sync_shipped(sessions)
    page = signed_in.get("/plan", headers=headers).text
    assert 'data-testid="ask-not-configured"' in page and words in page
    assert 'href="/settings/coach"' in page
    assert 'data-testid="ask-form"' not in page
    found = signed_in.get("/plan", params={"q": query}, headers=headers).text
    assert found.count('data-testid="passage-link"') == 5


def test_a_conversation_can_be_deleted(signed_in, coach, sessions):
    coach.answer({"answer": "Two weeks.", "citations": []})
    signed_in.post("/plan/ask", data={"question": QUESTION}, headers=ORIGIN)
    with sessions() as session:
        conversation = session.scalars(select(CoachConversation)).one()
    page = signed_in.get("/plan", headers=EN).text
    assert f'data-testid="conversation-row" data-id="{conversation.id}"' in page
    response = signed_in.post(f"/plan/conversations/{conversation.id}/delete", headers=ORIGIN)
    assert response.status_code == 303
    with sessions() as session:
        assert session.scalars(select(CoachConversation)).all() == []


# --- the answer comes from the work runner; the page polls for it ------------------------------

HX = {"HX-Request": "true"}


@pytest.fixture
def queued(app, settings, sessions) -> QueuedWorkRunner:
    """A work runner that keeps the answer queued until the test runs it."""
    app.state.work_runner = QueuedWorkRunner(sessions, settings, app.state.secret_box, {})
    return app.state.work_runner


def _poll(client, conversation_id: int, headers: dict) -> str:
    response = client.get(f"/plan/conversations/{conversation_id}/ask", headers=headers | HX)
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="ask"' in response.text
    return response.text


def _polls(fragment: str, conversation_id: int) -> bool:
    pending = re.search(r'<div[^>]*data-testid="answer-pending"[^>]*>', fragment)
    if pending is None:
        return False
    tag = pending.group(0)
    assert f'hx-get="/plan/conversations/{conversation_id}/ask"' in tag
    assert 'hx-trigger="load delay:1s"' in tag and 'hx-target="#ask"' in tag
    return True


def test_the_question_is_kept_at_once_and_the_page_polls_until_the_answer(
    signed_in, coach, sessions, queued
):
    with sessions() as session:
        cited = next(p.chunk_id for p in library.search(session, QUESTION))
    coach.answer({"answer": "About two weeks.", "citations": [cited]})
    response = signed_in.post("/plan/ask", data={"question": QUESTION}, headers=ORIGIN | EN)
    assert response.status_code == 303
    assert coach.calls(CHAT) == []  # the request did not wait for the model
    with sessions() as session:
        conversation = session.scalars(select(CoachConversation)).one()
        question = session.scalars(select(CoachMessage)).one()
    assert (question.role, question.state, question.content) == ("owner", "pending", QUESTION)

    page = signed_in.get(response.headers["location"], headers=EN).text
    assert _polls(page, conversation.id)
    assert "The coach is thinking…" in page and 'data-testid="ask-form"' not in page
    assert _polls(_poll(signed_in, conversation.id, EN), conversation.id)  # asks again

    # A second question to the same conversation waits for the first answer.
    again = signed_in.post(
        "/plan/ask",
        data={"question": "And intervals?", "conversation": str(conversation.id)},
        headers=ORIGIN | EN,
    )
    assert again.status_code == 422 and "still answering" in again.text

    assert queued.run_queued() == 1
    fragment = _poll(signed_in, conversation.id, EN)
    assert not _polls(fragment, conversation.id)
    assert "About two weeks." in fragment and f'data-chunk="{cited}"' in fragment
    assert 'data-testid="ask-form"' in fragment
    with sessions() as session:
        assert session.get(CoachMessage, question.id).state == "answered"
        run = session.scalars(select(WorkRun).where(WorkRun.kind == "coach_answer")).one()
    assert run.status == "done" and run.parameters == {"message": question.id}
    assert len(coach.calls(CHAT)) == 1


def test_a_failed_answer_says_why_in_the_owners_language_and_can_be_asked_again(
    signed_in, coach, sessions, queued
):
    question = "마라톤 전에 테이퍼링은 얼마나 해야 하나요?"
    with sessions.begin() as session:
        session.execute(update(Owner).values(locale="ko"))
    coach.fail(401)  # the key refused: not asked again
    response = signed_in.post("/plan/ask", data={"question": question}, headers=ORIGIN | KO)
    with sessions() as session:
        conversation = session.scalars(select(CoachConversation)).one()
    assert _polls(_poll(signed_in, conversation.id, KO), conversation.id)

    assert queued.run_queued() == 1  # in this thread, whose language is not the owner's
    fragment = _poll(signed_in, conversation.id, KO)
    assert not _polls(fragment, conversation.id)
    with i18n.using(locale="ko"):
        sentence = failure_sentence("llm_auth")
    assert 'data-failure="llm_auth"' in fragment and sentence in fragment
    assert "API 키" in sentence  # Korean, the owner's language
    with sessions() as session:
        states = [m.state for m in session.scalars(select(CoachMessage).order_by(CoachMessage.id))]
    assert states == ["failed", "answered"]

    # "Ask again" sends the same question to the same conversation.
    form = re.search(r'<form[^>]*data-testid="ask-again".*?</form>', fragment, re.S)
    assert form and f'value="{question}"' in form.group(0)
    coach.answer({"answer": "보통 2주입니다.", "citations": []})
    again = signed_in.post(
        "/plan/ask",
        data={"question": question, "conversation": str(conversation.id)},
        headers=ORIGIN | KO,
    )
    assert again.headers["location"].endswith(f"?c={conversation.id}#latest")
    assert queued.run_queued() == 1
    assert "보통 2주입니다." in _poll(signed_in, conversation.id, KO)
    assert response.status_code == 303


def test_a_restart_gives_up_on_a_pending_question_with_a_sentence(
    app, signed_in, coach, sessions, settings, queued
):
    coach.answer({"answer": "Two weeks.", "citations": []})
    signed_in.post("/plan/ask", data={"question": QUESTION}, headers=ORIGIN | EN)
    with sessions() as session:
        conversation = session.scalars(select(CoachConversation)).one()

    # The runner that holds the answer keeps its own question pending at a resume.
    queued._left_work()
    with sessions() as session:
        assert session.scalars(select(CoachMessage)).one().state == "pending"

    # A new process (its runner starting) gives up on it: a sentence, the owner asks again.
    restarted = WorkRunner(sessions, settings, app.state.secret_box, {})
    restarted.start()
    restarted.stop()
    fragment = _poll(signed_in, conversation.id, EN)
    assert not _polls(fragment, conversation.id)
    assert 'data-failure="interrupted"' in fragment
    assert "The app restarted before the coach could answer" in fragment
    assert 'data-testid="ask-again"' in fragment and 'data-testid="ask-form"' in fragment
    # The answer the stopped process had queued keeps nothing now.
    assert queued.run_queued() == 1
    with sessions() as session:
        replies = session.scalars(select(CoachMessage).where(CoachMessage.role == "coach")).all()
    assert [r.failure_code for r in replies] == ["interrupted"]
    assert coach.calls(CHAT) == []  # the question was no longer pending: nothing was asked
