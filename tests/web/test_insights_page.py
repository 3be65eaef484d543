"""The Insights page: honest empty state, gated findings with sentences and scatters, season
bests and estimates — as a page and as an HTMX fragment, in Korean too, in a few queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from app.models import Activity
from app.models.metrics import ActivityMetrics, AthleteEstimate
from tests.integration.test_insights import _wellness
from tests.support.queries import count_queries

ORIGIN = {"Origin": "http://testserver"}


def _ride_and_run(db_session, day: date) -> None:
    ride = Activity(sport="cycling", start_time=datetime.combine(day, datetime.min.time(), UTC),
                    local_date=day)  # fmt: skip
    run = Activity(sport="running", start_time=datetime.combine(day, datetime.min.time(), UTC)
                   + timedelta(hours=3), local_date=day)  # fmt: skip
    db_session.add_all([ride, run])
    db_session.flush()
    db_session.add_all(
        [
            ActivityMetrics(
                activity_id=ride.id,
                power_curve_w=list(np.linspace(900, 200, 26)),
                algorithm_version=1,
            ),
            ActivityMetrics(
                activity_id=run.id,
                pace_bests={"5k": {"distance_m": 5000, "time_s": 1234.0}},
                algorithm_version=1,
            ),
            AthleteEstimate(kind="vdot", day=day, value=48.2, inputs={"distance_m": 5000}),
            AthleteEstimate(
                kind="race_5k_riegel_s",
                day=day,
                value=1234.0,
                inputs={"distance_m": 5000, "time_s": 1234.0},
            ),
        ]
    )
    db_session.commit()


def test_a_new_owner_sees_why_there_is_nothing_yet(signed_in):
    page = signed_in.get("/insights").text
    assert "Not enough data yet" in page and 'href="/import"' in page


def test_findings_are_told_with_their_strength_and_a_scatter(signed_in, db_session):
    _wellness(db_session, np.random.default_rng(7), planted=True)
    db_session.commit()
    page = signed_in.get("/insights").text
    assert 'data-testid="insight"' in page and 'data-input="sleep_h"' in page
    assert "1 day after sleep of" in page and "Spearman" in page
    assert "1 day apart." in page and "1 day later (up)" in page and "1 days" not in page
    assert page.count('class="chart"') >= 1
    assert "Correlation is not proof of cause" in page


def test_season_bests_and_estimates(signed_in, db_session):
    _ride_and_run(db_session, date.today() - timedelta(days=3))
    page = signed_in.get("/insights").text
    assert 'data-testid="pace-bests"' in page and "20:34" in page  # 1234 s
    assert 'data-testid="race-predictions"' in page
    assert "48.2" in page and "VDOT" in page
    fragment = signed_in.get("/insights", headers={"HX-Request": "true"}).text
    assert "<html" not in fragment and 'data-testid="pace-bests"' in fragment


def test_the_page_speaks_korean(signed_in, db_session):
    _wellness(db_session, np.random.default_rng(7), planted=True)
    db_session.commit()
    signed_in.post("/language", data={"locale": "ko", "next": "/insights"}, headers=ORIGIN)
    page = signed_in.get("/insights").text
    assert "효과가 있는 것" in page and "안정 시 심박수" in page


def test_the_query_count_does_not_grow_with_history(signed_in, db_session, connection):
    _ride_and_run(db_session, date.today() - timedelta(days=3))
    with count_queries(connection) as few:
        signed_in.get("/insights")
    for offset in range(4, 40):
        _ride_and_run(db_session, date.today() - timedelta(days=offset))
    with count_queries(connection) as many:
        signed_in.get("/insights")
    assert len(many) == len(few)


def test_the_page_is_computed_again_when_the_data_changes(signed_in, db_session):
    first = signed_in.get("/insights").text
    assert "Not enough data yet" in first
    _wellness(db_session, np.random.default_rng(7), planted=True)
    db_session.commit()
    assert 'data-input="sleep_h"' in signed_in.get("/insights").text
