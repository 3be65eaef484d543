"""Ask the coach on the Plan page through HTTP: behind the login and CSRF, the answer with its
citations linking to the library passage, a failure's sentence, the page without a model
(how to set one up, and the library search), conversations deleted; Korean and English."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.models import CoachConversation
from app.services.coach import library
from tests.support.coach_llm import KEY, MODEL, TestClock, llm_settings
from tests.support.fake_llm import CHAT, FakeLlm

ORIGIN = {"Origin": "http://testserver"}
KO = {"Accept-Language": "ko-KR,ko;q=0.9"}
EN = {"Accept-Language": "en"}
QUESTION = "How long should my taper be before a marathon?"


@pytest.fixture
def fake() -> Iterator[FakeLlm]:
    server = FakeLlm(api_key=KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def coach(app, settings, sessions, fake):
    library.sync_shipped(sessions)
    app.state.settings = llm_settings(
        settings, llm_base_url=fake.base_url, llm_model=MODEL, llm_api_key=KEY
    )
    app.state.llm_clock = TestClock(datetime.now(UTC)).clock
    return fake


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
