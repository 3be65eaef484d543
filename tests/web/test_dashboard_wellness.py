"""The Dashboard and Wellness pages: with and without HTMX, range switches, form bands, the HRV
card against its baseline (the rule itself: tests/unit/analytics/test_hrv.py), sources,
empty states, Korean, a fixed number of queries, and render time."""

from __future__ import annotations

import json
import math
import re
import statistics
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, text

from app.models import Activity, ActivityMetrics, DailyMetrics, DailyWellness
from app.services.pages.dashboard import form_band
from tests.support.queries import count_queries

ZONE = ZoneInfo("Asia/Seoul")  # the test owner's time zone
EN = {"Accept-Language": "en"}
HTMX = {"HX-Request": "true", "Accept-Language": "en"}


def today() -> date:
    return datetime.now(ZONE).date()


# --- data -----------------------------------------------------------------------------------


def add_wellness(session, rows: list[dict]) -> None:
    keys = {key for row in rows for key in row}
    rows = [{key: row.get(key) for key in keys} for row in rows]
    session.execute(insert(DailyWellness.__table__), rows)
    session.commit()


def add_metrics(session, days: int, *, end: date | None = None, tsb: float = -12.0) -> None:
    """``days`` daily rows ending on ``end`` (today): a gently rising CTL, TSB constant."""
    end = end or today()
    rows = []
    for i in range(days):
        day = end - timedelta(days=days - 1 - i)
        ctl = 40.0 + i * 0.01
        rows.append(
            dict(
                day=day,
                load=50.0 + (i % 7) * 10,
                activities=1,
                ctl=ctl,
                atl=ctl - tsb,
                tsb=tsb,
                tsb_today=tsb,
                ramp=0.5,
            )
        )
    session.execute(insert(DailyMetrics.__table__), rows)
    session.commit()


def add_activities(session, items: list[tuple[date, str, float, float]]) -> list[int]:
    """(local date, sport, moving seconds, load) each; returns the ids."""
    ids = []
    for day, sport, seconds, load in items:
        start = datetime.combine(day, datetime.min.time(), tzinfo=ZONE).replace(hour=7)
        activity = Activity(
            sport=sport,
            start_time=start,
            local_date=day,
            moving_s=seconds,
            distance_m=10_000.0,
            name=f"{sport} {day.isoformat()}",
        )
        session.add(activity)
        session.flush()
        session.add(ActivityMetrics(activity_id=activity.id, load=load, algorithm_version=1))
        ids.append(activity.id)
    session.commit()
    return ids


def chart_specs(html: str) -> list[dict]:
    return [
        json.loads(body)
        for body in re.findall(
            r'<script type="application/json" class="chart-data">(.*?)</script>', html, re.S
        )
    ]


def section(html: str, testid: str) -> str:
    match = re.search(rf'<section[^>]*data-testid="{testid}".*?</section>', html, re.S)
    assert match, f"no section {testid}"
    return match.group(0)


# --- new owner ------------------------------------------------------------------------------


def test_new_owner_dashboard_says_how_to_get_data_in(signed_in):
    page = signed_in.get("/", headers=EN)
    assert page.status_code == 200
    assert 'data-testid="empty-state"' in page.text
    assert "Import FIT files" in page.text
    assert 'href="/import"' in page.text and 'href="/connections"' in page.text
    assert 'data-testid="get-started"' in page.text
    assert 'data-testid="pmc"' not in page.text


def test_new_owner_wellness_says_how_to_get_data_in(signed_in):
    for headers in (EN, HTMX):
        page = signed_in.get("/wellness", headers=headers)
        assert page.status_code == 200
        assert 'data-testid="empty-state"' in page.text
        assert 'href="/import"' in page.text and 'href="/connections"' in page.text
        assert "chart-data" not in page.text


# --- dashboard ------------------------------------------------------------------------------


def test_dashboard_page_fragment_and_chart_swap(signed_in, db_session):
    add_metrics(db_session, 120)
    add_activities(db_session, [(today(), "running", 3600.0, 80.0)])
    page = signed_in.get("/", headers=EN)
    assert page.status_code == 200 and "HX-Request" in page.headers["vary"]
    assert page.text.lstrip().startswith("<!doctype html>")
    for testid in ("form", "last-night", "this-week", "changes", "pmc", "recent-activities"):
        assert f'data-testid="{testid}"' in page.text
    assert 'data-testid="empty-state"' not in page.text

    fragment = signed_in.get("/", headers=HTMX)
    assert "<html" not in fragment.text and "<h1>Dashboard</h1>" in fragment.text
    assert 'data-testid="form"' in fragment.text

    swap = signed_in.get("/?range=1y", headers={**HTMX, "HX-Target": "pmc"})
    assert "<h1>" not in swap.text and swap.text.lstrip().startswith("<section")
    assert 'id="pmc"' in swap.text and len(chart_specs(swap.text)) == 1

    restore = signed_in.get("/?range=1y", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text  # the back button without a snapshot gets the whole page


def test_dashboard_range_switch(signed_in, db_session):
    add_metrics(db_session, 500)
    lengths = {}
    for key in ("90d", "1y", "all"):
        page = signed_in.get(f"/?range={key}", headers=EN)
        (spec,) = chart_specs(section(page.text, "pmc"))
        lengths[key] = len(spec["x"])
        assert [s["label"] for s in spec["series"]][:3] == [
            "Fitness (CTL)",
            "Fatigue (ATL)",
            "Form (TSB)",
        ]
        assert spec["series"][3]["kind"] == "bars" and spec["xKind"] == "date"
        switch = re.search(r'<nav class="range-switch".*?</nav>', page.text, re.S).group(0)
        assert f'href="/?range={key}"' in switch and 'hx-push-url="true"' in switch
        assert re.search(rf'href="/\?range={key}"[^>]*aria-current="true"', switch)
        assert spec["x"][-1] == (today() - date(1970, 1, 1)).days * 86400
    assert lengths["90d"] == 90 and lengths["1y"] == 365
    assert lengths["all"] == math.ceil(500 / 7)  # weekly points beyond 400 days
    assert 'data-testid="weekly-note"' in signed_in.get("/?range=all", headers=EN).text
    assert signed_in.get("/?range=bogus", headers=EN).status_code == 200  # the default


@pytest.mark.parametrize(
    ("tsb", "band"),
    [
        (25.6, "transition"),
        (25.4, "fresh"),
        (25.0, "fresh"),
        (6.0, "fresh"),
        (5.0, "grey"),
        (0.0, "grey"),
        (-10.0, "grey"),
        (-10.6, "optimal"),
        (-30.0, "optimal"),
        (-30.4, "optimal"),
        (-31.0, "overreaching"),
    ],
)
def test_form_band_boundaries(tsb, band):
    assert form_band(tsb) == band


@pytest.mark.parametrize(
    ("tsb", "band"), [(26.0, "transition"), (-10.0, "grey"), (-35.0, "overreaching")]
)
def test_dashboard_shows_todays_band(signed_in, db_session, tsb, band):
    add_metrics(db_session, 30, tsb=tsb)
    form = section(signed_in.get("/", headers=EN).text, "form")
    assert f'data-band="{band}"' in form
    shown = f"+{round(tsb)}" if tsb > 0 else str(round(tsb))
    assert f'data-testid="form-value">{shown}<' in form.replace("−", "-")


def test_form_is_carried_forward_through_rest_days(signed_in, db_session):
    last = today() - timedelta(days=3)
    add_metrics(db_session, 30, end=last)
    form = section(signed_in.get("/", headers=EN).text, "form")
    assert 'data-testid="form-projected"' in form
    ctl_last = 40.0 + 29 * 0.01
    expected = ctl_last * math.exp(-3 / 42)
    assert f'data-testid="ctl">{round(expected)}<' in form


def test_this_week_by_sport_against_four_weeks(signed_in, db_session):
    monday = today() - timedelta(days=today().weekday())
    add_activities(
        db_session,
        [
            (monday, "running", 3600.0, 60.0),
            (monday - timedelta(days=3), "running", 7200.0, 100.0),
            (monday - timedelta(days=10), "cycling", 4 * 3600.0, 200.0),
            (monday - timedelta(days=40), "running", 9999.0, 999.0),  # before the 4 weeks
        ],
    )
    week = section(signed_in.get("/", headers=EN).text, "this-week")
    run = re.search(r'<tr data-sport="running">.*?</tr>', week, re.S).group(0)
    assert ">1:00:00<" in run and ">30:00<" in run  # this week; 2 h over 4 weeks
    assert ">60<" in run and ">25<" in run
    ride = re.search(r'<tr data-sport="cycling">.*?</tr>', week, re.S).group(0)
    assert "Ride" in ride and "1:00:00" in ride and ">50<" in ride


def test_recent_activities_and_changes_since_yesterday(signed_in, db_session):
    add_metrics(db_session, 10)
    ids = add_activities(
        db_session, [(today() - timedelta(days=i), "running", 1800.0, 40.0) for i in range(3)]
    )
    add_wellness(
        db_session,
        [
            {
                "day": today(),
                "sleep_s": 7 * 3600.0,
                "resting_hr": 48.0,
                "sources": {"sleep_s": "garmin", "resting_hr": "garmin"},
            }
        ],
    )
    page = signed_in.get("/", headers=EN).text
    recent = section(page, "recent-activities")
    for activity_id in ids:
        assert f'href="/activities/{activity_id}"' in recent
    assert recent.count(">New<") == 3  # all stored just now
    changes = section(page, "changes")
    assert "3 new activities" in changes
    assert "New wellness values for" in changes and "sleep" in changes
    assert "resting heart rate" in changes


# --- wellness -------------------------------------------------------------------------------


def wellness_days(count: int, *, end: date | None = None, source: str = "garmin") -> list[dict]:
    end = end or today()
    rows = []
    for i in range(count):
        day = end - timedelta(days=count - 1 - i)
        rows.append(
            {
                "day": day,
                "resting_hr": 50.0 + (i % 5),
                "hrv_rmssd_ms": 60.0 + (i % 9),
                "sleep_s": 7 * 3600.0 + (i % 3) * 600,
                "sleep_deep_s": 3600.0,
                "sleep_light_s": 4 * 3600.0,
                "sleep_rem_s": 5400.0,
                "sleep_awake_s": 1200.0,
                "sleep_score": 80.0,
                "steps": 8000.0 + i,
                "sources": {
                    name: source
                    for name in ("resting_hr", "hrv_rmssd_ms", "sleep_s", "sleep_score", "steps")
                },
            }
        )
    return rows


def test_wellness_page_fragment_and_charts_swap(signed_in, db_session):
    add_wellness(db_session, wellness_days(100))
    page = signed_in.get("/wellness", headers=EN)
    assert page.status_code == 200 and page.text.lstrip().startswith("<!doctype html>")
    assert "HX-Request" in page.headers["vary"]
    for key in ("sleep", "hrv", "resting-hr", "steps", "weight", "vo2max"):
        assert f'data-testid="metric-{key}"' in page.text
    fragment = signed_in.get("/wellness", headers=HTMX)
    assert "<html" not in fragment.text and "<h1>Wellness</h1>" in fragment.text
    swap = signed_in.get("/wellness?range=1y", headers={**HTMX, "HX-Target": "wellness-charts"})
    assert "<h1>" not in swap.text and swap.text.lstrip().startswith('<div id="wellness-charts"')
    assert 'data-range="1y"' in swap.text
    resting = chart_specs(section(page.text, "metric-resting-hr"))[0]
    labels = [s["label"] for s in resting["series"]]
    assert labels == [
        "Resting heart rate",
        "Resting heart rate, 7-day average",
        "Resting heart rate, 28-day average",
    ]
    assert len(resting["x"]) == 90


def test_wellness_range_switch_and_weekly_points(signed_in, db_session):
    add_wellness(db_session, wellness_days(900))
    lengths = {}
    for key in ("90d", "1y", "all"):
        page = signed_in.get(f"/wellness?range={key}", headers=EN).text
        assert f'data-range="{key}"' in page
        spec = chart_specs(section(page, "metric-resting-hr"))[0]
        lengths[key] = len(spec["x"])
    assert lengths == {"90d": 90, "1y": 365, "all": math.ceil(900 / 7)}
    assert 'data-testid="weekly-note"' in signed_in.get("/wellness?range=all", headers=EN).text
    # The averages as of today, whatever the range.
    rows = wellness_days(900)
    expected = statistics.fmean(r["resting_hr"] for r in rows[-7:])
    card = section(signed_in.get("/wellness?range=all", headers=EN).text, "metric-resting-hr")
    assert f"{expected:.0f}" in card


def test_hrv_card_and_dashboard_compare_with_the_baseline(signed_in, db_session):
    rows = [
        {
            "day": today() - timedelta(days=59 - i),
            "hrv_rmssd_ms": 60.0 + (i % 2) * 10,
            "sources": {"hrv_rmssd_ms": "oura"},
        }
        for i in range(60)
    ]
    for row in rows[-7:]:
        row["hrv_rmssd_ms"] = 40.0  # a low week
    add_wellness(db_session, rows)
    card = section(signed_in.get("/wellness", headers=EN).text, "metric-hrv")
    assert "Below normal range" in card and "rMSSD" in card
    labels = [s["label"] for s in chart_specs(card)[0]["series"]]
    assert labels == ["rMSSD", "rMSSD, 7-day average", "Normal range, low", "Normal range, high"]
    night = section(signed_in.get("/", headers=EN).text, "last-night")
    assert 'data-testid="hrv-status">Below normal range<' in night
    assert "(rMSSD)" in night


def test_hrv_from_sdnn_says_so(signed_in, db_session):
    add_wellness(
        db_session,
        [
            {
                "day": today() - timedelta(days=i),
                "hrv_sdnn_ms": 45.0,
                "sources": {"hrv_sdnn_ms": "apple_health"},
            }
            for i in range(30)
        ],
    )
    card = section(signed_in.get("/wellness", headers=EN).text, "metric-hrv")
    assert "SDNN" in card and "Apple Health" in card
    assert "rMSSD," not in card


def test_sources_of_each_value_are_shown(signed_in, db_session):
    rows = wellness_days(30, source="apple_health")
    for row in rows[-10:]:
        row["sources"] = {**row["sources"], "resting_hr": "garmin"}
    add_wellness(db_session, rows)
    card = section(signed_in.get("/wellness", headers=EN).text, "metric-resting-hr")
    sources = re.search(r'data-testid="sources-resting-hr">(.*?)</p>', card, re.S).group(1)
    assert "Apple Health (20 days)" in sources and "Garmin Connect (10 days)" in sources
    assert 'data-testid="latest-source">Garmin Connect<' in card  # today's value
    steps = section(signed_in.get("/wellness", headers=EN).text, "metric-steps")
    assert "Apple Health (30 days)" in steps


def test_sleep_stages_as_stacked_bars(signed_in, db_session):
    add_wellness(db_session, wellness_days(20))
    card = section(signed_in.get("/wellness", headers=EN).text, "metric-sleep")
    nights = re.search(r'<ol class="stage-nights".*?</ol>', card, re.S).group(0)
    assert nights.count("<li>") == 14
    for stage in ("deep", "light", "rem", "awake"):
        assert f'class="stage-{stage}"' in nights
    assert "Deep 1 h 0 min" in nights


def test_empty_states_per_metric(signed_in, db_session):
    old = today() - timedelta(days=200)
    add_wellness(
        db_session,
        [
            {"day": today(), "resting_hr": 50.0, "sources": {"resting_hr": "garmin"}},
            {"day": old, "weight_kg": 70.0, "sources": {"weight_kg": "garmin"}},
        ],
    )
    page = signed_in.get("/wellness", headers=EN).text
    assert "chart-data" in section(page, "metric-resting-hr")
    weight = section(page, "metric-weight")
    assert "No values in this range" in weight and 'href="/wellness?range=all"' in weight
    stress = section(page, "metric-stress")
    assert "No data from your sources yet" in stress and 'href="/connections"' in stress
    assert "chart-data" in section(
        signed_in.get("/wellness?range=all", headers=EN).text, "metric-weight"
    )


# --- Korean ---------------------------------------------------------------------------------


def test_korean_pages(signed_in, db_session):
    add_metrics(db_session, 60)
    add_activities(db_session, [(today(), "running", 3600.0, 80.0)])
    add_wellness(db_session, wellness_days(60))
    ko = {"Accept-Language": "ko-KR,ko;q=0.9"}
    dashboard = signed_in.get("/", headers=ko).text
    assert '<html lang="ko">' in dashboard and "<h1>대시보드</h1>" in dashboard
    assert "체력 (CTL)" in dashboard and "피로 (ATL)" in dashboard
    monday = today() - timedelta(days=today().weekday())
    assert f"{monday.year}. {monday.month}. {monday.day}." in section(dashboard, "this-week")
    assert "오늘의 컨디션" in dashboard and "달리기" in dashboard
    spec = chart_specs(section(dashboard, "pmc"))[0]
    assert spec["series"][0]["label"] == "체력 (CTL)"
    wellness = signed_in.get("/wellness", headers=ko).text
    assert "<h1>웰니스</h1>" in wellness and "안정 시 심박수" in wellness
    assert f"{today().year}. {today().month}. {today().day}." in wellness
    assert "Resting heart rate" not in wellness and "No data from your sources yet" not in wellness


def _statements(client, connection, path: str) -> int:
    with count_queries(connection) as statements:
        assert client.get(path, headers=EN).status_code == 200
    return len(statements)


@pytest.mark.parametrize("path", ["/", "/?range=all", "/wellness", "/wellness?range=all"])
def test_statement_count_does_not_grow_with_history(signed_in, db_session, connection, path):
    add_metrics(db_session, 30)
    add_wellness(db_session, wellness_days(30))
    add_activities(
        db_session, [(today() - timedelta(days=i), "running", 1800.0, 40.0) for i in range(3)]
    )
    small = _statements(signed_in, connection, path)
    add_metrics(db_session, 600, end=today() - timedelta(days=30))
    add_wellness(db_session, wellness_days(600, end=today() - timedelta(days=30)))
    add_activities(
        db_session, [(today() - timedelta(days=i), "cycling", 1800.0, 40.0) for i in range(3, 60)]
    )
    large = _statements(signed_in, connection, path)
    assert large == small
    assert small <= 16  # 14, and one each for the daily coach's and the plan's cards


def _ten_years(connection) -> None:
    """3,650 days of metrics and wellness and ~3,000 activities, inserted in SQL."""
    end = today()
    connection.execute(
        text(
            "INSERT INTO daily_metrics (day, load, activities, ctl, atl, tsb, tsb_today, ramp) "
            "SELECT d, 60 + 30 * sin(i), 1, 50 + 10 * sin(i / 60.0), 55 + 20 * sin(i / 9.0), "
            "-5 + 10 * sin(i / 20.0), -5, 1 FROM generate_series(0, 3649) AS i, "
            "LATERAL (SELECT CAST(:end AS date) - 3649 + i AS d) AS x"
        ),
        {"end": end},
    )
    connection.execute(
        text(
            "INSERT INTO daily_wellness (day, resting_hr, hrv_rmssd_ms, sleep_s, sleep_deep_s, "
            "sleep_light_s, sleep_rem_s, sleep_awake_s, sleep_score, stress_avg, "
            "body_battery_high, body_battery_low, steps, weight_kg, vo2max_running, sources) "
            "SELECT CAST(:end AS date) - 3649 + i, 50 + 3 * sin(i), 60 + 8 * cos(i), 27000, 5400, "
            "14400, 5400, 1800, 80, 30, 90, 20, 9000 + i, 70, 52, "
            '\'{"resting_hr": "garmin", "hrv_rmssd_ms": "garmin", "sleep_s": "garmin", '
            '"steps": "garmin", "weight_kg": "apple_health"}\'::jsonb '
            "FROM generate_series(0, 3649) AS i"
        ),
        {"end": end},
    )
    connection.execute(
        text(
            "WITH a AS (INSERT INTO activity (sport, start_time, local_date, moving_s, "
            "distance_m, name) SELECT CASE WHEN i % 3 = 0 THEN 'cycling' ELSE 'running' END, "
            "CAST(:end AS timestamptz) - (i * interval '29 hours'), "
            "CAST(:end AS date) - (i * 29 / 24), 3600, 10000, 'Activity ' || i "
            "FROM generate_series(0, 2999) AS i RETURNING id) "
            "INSERT INTO activity_metrics (activity_id, load, algorithm_version) "
            "SELECT id, 70, 1 FROM a"
        ),
        {"end": end},
    )


def test_a_ten_year_history_renders_every_range(signed_in, connection):
    """Ten years of days and 3,000 activities: every range renders, long ranges weekly.
    (How fast is measured by `make bench`, not here.)"""
    _ten_years(connection)
    for path in ("/", "/?range=1y", "/?range=all", "/wellness", "/wellness?range=all"):
        response = signed_in.get(path, headers=EN)
        assert response.status_code == 200, path
        assert "chart-data" in response.text, path
