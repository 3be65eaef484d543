"""The Missions pages: import a mission file, see it with its stage plan, move it through its
lifecycle, refusals with a sentence, in English and Korean."""

from __future__ import annotations

import json
import re

from tests.integration.test_mission_event import event  # noqa: F401 (a fixture)
from tests.support.korean import ALLOWED, ISO_DATE, english_words, visible_text
from tests.support.missions import tour_mission

EN = {"Accept-Language": "en"}
KO = {"Accept-Language": "ko"}


def _upload(client, data: bytes, headers=EN):
    return client.post(
        "/missions/import",
        files={"file": ("tour.json", data, "application/json")},
        headers=headers,
        follow_redirects=False,
    )


def _import(client, **changes) -> str:
    response = _upload(client, tour_mission(**changes).model_dump_json().encode())
    assert response.status_code == 303, response.text
    return response.headers["location"]


def test_import_start_and_see_the_stage_plan(signed_in):
    empty = signed_in.get("/missions", headers=EN)
    assert 'data-testid="no-missions"' in empty.text

    location = _import(signed_in)
    detail = signed_in.get(location, headers=EN)
    assert detail.status_code == 200
    assert 'data-state="prep"' in detail.text
    assert detail.text.count("<tr") == 1 + len(tour_mission().stages)  # header + every day
    assert "Mountain" in detail.text and "Rest day" in detail.text

    moved = signed_in.post(
        f"{location}/move", data={"target": "training"}, headers=EN, follow_redirects=False
    )
    assert moved.status_code == 303
    detail = signed_in.get(location, headers=EN)
    assert 'data-state="training"' in detail.text
    assert "Preparation → Training" in detail.text
    listed = signed_in.get("/missions", headers=EN)
    assert listed.text.count('data-testid="mission"') == 1
    assert 'data-state="training"' in listed.text


def test_a_second_mission_cannot_start_and_the_page_says_why_in_korean(signed_in):
    first = _import(signed_in)
    second = _import(signed_in, name="Autumn Fondo")
    signed_in.post(f"{first}/move", data={"target": "training"})
    refused = signed_in.post(f"{second}/move", data={"target": "training"}, headers=KO)
    assert refused.status_code == 409
    alert = re.search(r'data-testid="mission-error">([^<]+)<', refused.text).group(1)
    assert "미션" in alert
    assert 'data-state="prep"' in signed_in.get(second).text


def test_an_invalid_file_lists_every_problem_and_stores_nothing(signed_in):
    data = json.loads(tour_mission().model_dump_json())
    data["prep_start"] = "2027-08-01"
    data["stages"][1]["date"] = "2027-12-24"
    response = _upload(signed_in, json.dumps(data).encode())
    assert response.status_code == 422
    assert response.text.count("<li><code>") >= 2
    assert "<code>prep_start</code>" in response.text
    not_json = _upload(signed_in, b"{oops")
    assert not_json.status_code == 422 and "not JSON" in not_json.text
    assert 'data-testid="no-missions"' in signed_in.get("/missions", headers=EN).text


def test_delete_only_in_preparation_and_unknown_missions_are_404(signed_in):
    location = _import(signed_in)
    signed_in.post(f"{location}/move", data={"target": "training"})
    kept = signed_in.post(f"{location}/delete", headers=EN)
    assert kept.status_code == 409 and "preparation" in kept.text
    signed_in.post(f"{location}/move", data={"target": "prep"})
    gone = signed_in.post(f"{location}/delete", follow_redirects=False)
    assert gone.status_code == 303
    assert signed_in.get(location).status_code == 404
    assert signed_in.post(f"{location}/move", data={"target": "training"}).status_code == 404


def test_a_hostile_origin_cannot_start_a_mission(signed_in):
    location = _import(signed_in)
    response = signed_in.post(
        f"{location}/move", data={"target": "training"}, headers={"Origin": "http://evil.example"}
    )
    assert response.status_code == 403
    assert 'data-state="prep"' in signed_in.get(location).text


def test_missions_are_behind_the_login(client):
    assert client.get("/missions", follow_redirects=False).status_code in (303, 307)
    response = client.post(
        "/missions/import",
        files={"file": ("tour.json", b"{}", "application/json")},
        follow_redirects=False,
    )
    assert response.status_code in (303, 307, 401, 403)


def test_the_korean_pages_have_no_english_left(signed_in):
    location = _import(signed_in)
    signed_in.post(f"{location}/move", data={"target": "training"})
    for url in ("/missions", location):
        page = signed_in.get(url, headers=KO).text
        words = {
            w
            for text in visible_text(page)
            for w in english_words(text, ALLOWED | {"Virtual", "Tour", "JSON", "FILE", "Asia",
                                                     "Seoul", "Ride", "every", "stage", "break",
                                                     "away", "in", "the", "mountains",
                                                     "Jiwoo", "Kim"})
        }  # fmt: skip
        assert words == set(), (url, words)
        assert ISO_DATE.findall(" ".join(visible_text(page))) == []


def test_the_stage_table_of_real_rides_and_a_correction(signed_in, event, db_session):  # noqa: F811
    from app.models import MissionRow

    mission_id, _mission, _rides = event
    location = f"/missions/{mission_id}"
    locked = signed_in.get(location, headers=EN)
    assert locked.text.count('data-testid="stage-row"') == 4
    assert 'data-status="missed"' in locked.text
    assert 'data-testid="correct-1"' not in locked.text  # complete: locked

    db_session.execute(
        MissionRow.__table__.update()
        .values(state="event_active")
        .where(MissionRow.id == mission_id)
    )
    db_session.commit()
    no_reason = signed_in.post(
        f"{location}/stages/1/correct", data={"mode": "breakaway", "reason": " "}, headers=EN
    )
    assert no_reason.status_code == 409 and "Say why stage 1" in no_reason.text
    saved = signed_in.post(
        f"{location}/stages/1/correct",
        data={"mode": "breakaway", "reason": "Power meter read low."},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = signed_in.get(location, headers=KO).text
    assert "수정됨: Power meter read low." in page
    assert 'data-testid="correct-1"' in page
    cleared = signed_in.post(f"{location}/stages/1/clear", follow_redirects=False)
    assert cleared.status_code == 303
    assert 'data-testid="correction"' not in signed_in.get(location).text
