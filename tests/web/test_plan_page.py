"""The Plan page's plans through HTTP: behind the login and CSRF; a plan file uploaded becomes a
proposed revision shown with its guardrail report; a blocked one is approved only with the
blocks accepted; the approved plan by week with Domestique's estimates; a second revision with
its differences; a bad file's problems; the export; Korean and English."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.coach.plans import Plan
from app.models import PlannedWorkout, PlanRevision
from tests.support.plans import uniform_plan

ORIGIN = {"Origin": "http://testserver"}
KO = {"Accept-Language": "ko-KR,ko;q=0.9"}
EN = {"Accept-Language": "en"}


def _monday() -> date:
    today = date.today()
    return today + timedelta(days=7 - today.weekday())


def _upload(client, data, *, plan: str = "", headers=None):
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return client.post(
        "/plan/import",
        files={"file": ("plan.json", body, "application/json")},
        data={"plan": plan},
        headers={**ORIGIN, **(headers or {})},
    )


def _revisions(sessions) -> list[PlanRevision]:
    with sessions() as session:
        return list(session.execute(select(PlanRevision).order_by(PlanRevision.id)).scalars())


@pytest.fixture
def blocked_plan():
    return uniform_plan(["base", "build"], start=_monday(), hours_per_week=2.0)


def test_the_plan_forms_are_behind_the_login(client, owner, sessions, blocked_plan):
    assert _upload(client, blocked_plan).status_code in (303, 401, 403)
    assert client.post("/plan/revisions/1/approve", headers=ORIGIN).status_code in (303, 401, 403)
    assert client.get("/plan/revisions/1/export.json").status_code == 303
    assert _revisions(sessions) == []


def test_a_hostile_origin_cannot_import_or_approve(signed_in, sessions, blocked_plan):
    hostile = {"Origin": "http://evil.example"}
    refused = signed_in.post(
        "/plan/import",
        files={"file": ("plan.json", json.dumps(blocked_plan).encode(), "application/json")},
        headers=hostile,
    )
    assert refused.status_code == 403
    assert _revisions(sessions) == []
    assert _upload(signed_in, blocked_plan).status_code == 303
    revision = _revisions(sessions)[0]
    response = signed_in.post(
        f"/plan/revisions/{revision.id}/approve", data={"accept_blocks": "yes"}, headers=hostile
    )
    assert response.status_code == 403
    assert _revisions(sessions)[0].state == "PROPOSED"


@pytest.mark.parametrize("language", ["en", "ko"])
def test_upload_check_approve_and_follow(signed_in, sessions, blocked_plan, language):
    headers = EN if language == "en" else KO
    empty = signed_in.get("/plan", headers=headers)
    assert 'data-testid="no-plan"' in empty.text

    uploaded = _upload(signed_in, blocked_plan, headers=headers)
    assert uploaded.status_code == 303
    page = signed_in.get("/plan", headers=headers)
    assert page.text.count('data-testid="proposed-revision"') == 1
    assert 'data-testid="blocks"' in page.text  # 6.5 h a week over 2 h available
    assert 'data-testid="no-diff"' in page.text
    assert 'data-testid="accept-blocks"' in page.text
    if language == "ko":
        assert "승인을 기다리는 계획" in page.text
        assert "차단됨" in page.text
    else:
        assert "Waiting for your approval" in page.text
        assert "Blocked" in page.text
    assert "<script>" not in page.text and " style=" not in page.text

    revision = _revisions(sessions)[0]
    refused = signed_in.post(
        f"/plan/revisions/{revision.id}/approve", headers={**ORIGIN, **headers}
    )
    assert refused.status_code == 409
    assert 'data-testid="plan-error"' in refused.text
    with sessions() as session:
        assert session.execute(select(PlannedWorkout)).first() is None

    approved = signed_in.post(
        f"/plan/revisions/{revision.id}/approve",
        data={"accept_blocks": "yes"},
        headers={**ORIGIN, **headers},
    )
    assert approved.status_code == 303
    page = signed_in.get("/plan", headers=headers)
    assert page.text.count('data-testid="plan-week"') == 2
    assert page.text.count('data-testid="plan-workout"') == 12
    assert 'data-testid="proposed-revision"' not in page.text
    assert ("예정" if language == "ko" else "Planned") in page.text
    assert ("약 " if language == "ko" else "about ") in page.text  # Domestique's estimates

    second = dict(blocked_plan)
    second["workouts"] = blocked_plan["workouts"][1:]
    assert _upload(signed_in, second, plan=str(revision.plan_id)).status_code == 303
    page = signed_in.get("/plan", headers=headers)
    assert 'data-testid="diff"' in page.text
    assert ("삭제" if language == "ko" else "Removed Intervals") in page.text

    newest = _revisions(sessions)[-1]
    rejected = signed_in.post(f"/plan/revisions/{newest.id}/reject", headers=ORIGIN)
    assert rejected.status_code == 303
    assert _revisions(sessions)[-1].state == "REJECTED"


def test_a_file_that_is_not_a_plan_is_refused_with_its_problems(signed_in, sessions):
    response = _upload(signed_in, b'{"title": "x"}', headers=EN)
    assert response.status_code == 422
    assert 'data-testid="plan-error"' in response.text
    assert "weeks" in response.text
    not_json = _upload(signed_in, b"{oops", headers=KO)
    assert not_json.status_code == 422
    assert "JSON" in not_json.text
    assert _revisions(sessions) == []


def test_the_export_downloads_the_plan(signed_in, sessions, blocked_plan):
    _upload(signed_in, blocked_plan)
    revision = _revisions(sessions)[0]
    exported = signed_in.get(f"/plan/revisions/{revision.id}/export.json")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    assert Plan.model_validate_json(exported.content).title == blocked_plan["title"]
    markdown = signed_in.get(f"/plan/revisions/{revision.id}/export.md")
    assert markdown.status_code == 200 and markdown.text.startswith("## Uniform")
    assert signed_in.get("/plan/revisions/999999/export.json").status_code == 404
    assert signed_in.get(f"/plan/revisions/{revision.id}/export.txt").status_code == 404


@pytest.fixture
def fake_llm():
    from tests.support.coach_llm import KEY
    from tests.support.fake_llm import FakeLlm

    server = FakeLlm(api_key=KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_plan_chat_proposes_a_change(signed_in, app, settings, sessions, fake_llm, language):
    from datetime import UTC, datetime

    from tests.support.coach_llm import KEY, MODEL, TestClock, llm_settings

    app.state.settings = llm_settings(
        settings, llm_base_url=fake_llm.base_url, llm_model=MODEL, llm_api_key=KEY
    )
    app.state.llm_clock = TestClock(datetime.now(UTC)).clock
    headers = EN if language == "en" else KO
    easy = uniform_plan(["base", "build"], start=_monday())
    assert _upload(signed_in, easy).status_code == 303
    revision = _revisions(sessions)[0]
    signed_in.post(
        f"/plan/revisions/{revision.id}/approve", data={"accept_blocks": "yes"}, headers=ORIGIN
    )
    page = signed_in.get("/plan", headers=headers)
    assert 'data-testid="plan-chat-form"' in page.text
    assert (
        "코치와 계획 바꾸기" if language == "ko" else "Change the plan with the coach"
    ) in page.text

    fake_llm.answer(
        {
            "answer": "Dropped it.",
            "change_set": {
                "summary": "Drop a run",
                "operations": [{"op": "remove_workout", "workout_id": "w2-wed"}],
            },
        }
    )
    hostile = signed_in.post(
        "/plan/chat",
        data={"plan": str(revision.plan_id), "message": "Drop Wednesday"},
        headers={"Origin": "http://evil.example"},
    )
    assert hostile.status_code == 403
    response = signed_in.post(
        "/plan/chat",
        data={"plan": str(revision.plan_id), "message": "Drop Wednesday"},
        headers={**ORIGIN, **headers},
    )
    assert response.status_code == 200
    assert 'data-testid="plan-chat-answer"' in response.text
    assert 'data-testid="plan-chat-revision"' in response.text
    assert 'data-testid="proposed-revision"' in response.text
    newest = _revisions(sessions)[-1]
    assert newest.origin == "chat" and newest.state == "PROPOSED"


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_questionnaire_drafts_a_plan(signed_in, app, settings, sessions, fake_llm, language):
    from datetime import UTC, datetime

    from app.coach.llm_schema import draft_from_plan
    from tests.support.coach_llm import KEY, MODEL, TestClock, llm_settings

    app.state.settings = llm_settings(
        settings, llm_base_url=fake_llm.base_url, llm_model=MODEL, llm_api_key=KEY
    )
    app.state.llm_clock = TestClock(datetime.now(UTC)).clock
    headers = EN if language == "en" else KO
    page = signed_in.get("/plan", headers=headers)
    assert 'data-testid="draft-form"' in page.text
    assert ("코치와 새 계획 만들기" if language == "ko" else "Draft a new plan") in page.text

    start = _monday()
    weeks = json.loads(
        draft_from_plan(
            Plan.model_validate(uniform_plan(["base", "build"], start=start))
        ).model_dump_json()
    )["weeks"]
    fake_llm.answer({"weeks": weeks})
    form = {
        "goal_name": "Base",
        "sport": "run",
        "event_type": "other",
        "weeks": "2",
        "weekdays": ["tue", "wed", "thu", "fri", "sat", "sun"],
        "hours_per_week": "9",
        "start": start.isoformat(),
    }
    hostile = signed_in.post("/plan/draft", data=form, headers={"Origin": "http://evil.example"})
    assert hostile.status_code == 403
    response = signed_in.post("/plan/draft", data=form, headers={**ORIGIN, **headers})
    assert response.status_code == 303
    revision = _revisions(sessions)[-1]
    assert revision.origin == "llm" and revision.state == "PROPOSED"
    status = signed_in.get("/plan/draft/status", headers={**headers, "HX-Request": "true"})
    assert 'data-status="done"' in status.text and "hx-get" not in status.text
    page = signed_in.get("/plan", headers=headers)
    assert 'data-testid="draft-done"' in page.text
    assert 'data-testid="proposed-revision"' in page.text

    missing = signed_in.post(
        "/plan/draft", data={**form, "weeks": ""}, headers={**ORIGIN, **headers}
    )
    assert missing.status_code == 422
    assert 'data-testid="plan-error"' in missing.text
