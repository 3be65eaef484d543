"""The Activities list and the activity detail: pages and HTMX fragments, filters, sort and
keyset pagination, streams at full resolution, raw downloads, Korean, and no N+1 queries."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from app.models import Activity, ActivityMetrics, ActivitySource, RawFile
from tests.support.fitwriter import Leg, write_activity
from tests.support.queries import count_queries

START = datetime(2025, 6, 1, 22, 0, tzinfo=UTC)  # 07:00 on 2 June in Seoul
ROW = re.compile(r'data-activity-id="(\d+)"')


def _add(db_session, count: int, *, sport: str = "running", first: datetime = START, **values):
    """``count`` activities one day apart (newest last), with metrics when ``load`` is given."""
    load = values.pop("load", None)
    rows = []
    for k in range(count):
        start = first + timedelta(days=k)
        row = Activity(
            sport=sport,
            name=values.get("name", f"{sport} {k}"),
            start_time=start,
            local_date=(start + timedelta(hours=9)).date(),
            distance_m=values.get("distance_m", 1000.0 * (k + 1)),
            elapsed_s=values.get("elapsed_s", 600.0 + k),
            avg_hr=values.get("avg_hr", 140.0),
            avg_power=values.get("avg_power"),
        )
        db_session.add(row)
        rows.append(row)
    db_session.flush()
    if load is not None:
        for k, row in enumerate(rows):
            db_session.add(
                ActivityMetrics(
                    activity_id=row.id, load=load(k), load_model="hr", algorithm_version=1
                )
            )
    db_session.commit()
    return [row.id for row in rows]


def _ids(text: str) -> list[int]:
    return [int(found) for found in ROW.findall(text)]


def _run_fit(seconds: int = 3600) -> bytes:
    t = np.arange(seconds, dtype=np.float64)
    speed = np.full(seconds, 3.2)
    return write_activity(
        None,
        sport="running",
        start=START,
        samples={
            "heart_rate": 130 + 20 * np.sin(t / 300),
            "power": np.full(seconds, 250.0),
            "cadence": np.full(seconds, 85.0),
            "speed": speed,
            "distance": np.cumsum(speed),
            "altitude": 50 + 10 * np.sin(t / 600),
            "position_lat": 37.5 + 0.01 * np.sin(t / 600),
            "position_long": 127.0 + 0.01 * np.cos(t / 600),
        },
        laps=[0, seconds // 3, 2 * seconds // 3],
    )


def _import(client, data: bytes, name: str = "morning run.fit") -> None:
    """Upload through the Import page (the test app imports inline)."""
    response = client.post("/import", files=[("files", (name, data, "application/octet-stream"))])
    assert response.status_code == 303
    job = client.get(response.headers["location"])
    assert 'data-status="done"' in job.text


def _imported(client, db_session, data: bytes | None = None, name="morning run.fit") -> Activity:
    _import(client, data or _run_fit(), name)
    return db_session.execute(select(Activity).order_by(Activity.id.desc())).scalars().first()


# --- list ----------------------------------------------------------------------------------


def test_empty_history_says_how_to_get_data_in(signed_in):
    page = signed_in.get("/activities", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "<h1>Activities</h1>" in page.text
    assert 'data-testid="empty-state"' in page.text
    assert 'href="/import"' in page.text and 'href="/connections"' in page.text
    assert 'data-testid="activity-filters"' not in page.text


def test_list_page_and_fragment(signed_in, db_session):
    ids = _add(db_session, 3, load=lambda k: 40.0 + k, avg_power=200.0)
    page = signed_in.get("/activities", headers={"Accept-Language": "en"})
    assert page.text.lstrip().startswith("<!doctype html>")
    assert "HX-Request" in page.headers["vary"]
    assert _ids(page.text) == ids[::-1]  # newest first
    assert "6/2/25, 7:00" in page.text  # the owner's time zone (Asia/Seoul)
    assert "1.00 km" in page.text and "140 bpm" in page.text and "200 W" in page.text
    assert "42" in page.text and "heart rate (HRSS)" in page.text
    assert "3 activities" in page.text
    assert 'class="table-scroll"' in page.text  # wide tables scroll inside their card

    fragment = signed_in.get("/activities", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="activities-content"' in fragment.text
    assert _ids(fragment.text) == ids[::-1]
    assert 'hx-push-url="true"' in fragment.text

    # htmx restoring history without a snapshot needs the whole page
    restore = signed_in.get(
        "/activities",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in restore.text


def test_filters(signed_in, db_session):
    runs = _add(db_session, 3, sport="running")
    rides = _add(db_session, 2, sport="cycling", first=START + timedelta(days=10))
    special = _add(db_session, 1, sport="swimming", name="100% effort_swim", first=START)

    def ids(query: str, **headers) -> list[int]:
        return sorted(_ids(signed_in.get(f"/activities?{query}", headers=headers).text))

    assert ids("sport=cycling") == sorted(rides)
    assert ids("sport=cycling", **{"HX-Request": "true"}) == sorted(rides)
    # local dates: the first run is on 2 June in Seoul
    assert ids("from=2025-06-03&to=2025-06-04") == sorted(runs[1:])
    assert ids("q=RUNNING") == sorted(runs)
    assert ids("q=100%25") == special  # % is a character, not a wildcard
    assert ids("q=t_s") == special
    assert ids("q=%25") == special
    assert ids("sport=running&q=ride") == []
    empty = signed_in.get("/activities?sport=cycling&q=nothing", headers={"Accept-Language": "en"})
    assert 'data-testid="no-matches"' in empty.text and "empty-state" not in empty.text
    everything = sorted(runs + rides + special)
    assert ids("from=not-a-date&sort=bogus&after=x") == everything
    assert ids("before=%C2%B2&dir=sideways") == everything


@pytest.mark.parametrize(
    ("sort", "key"),
    [("date", "start_time"), ("distance", "distance_m"), ("duration", "elapsed_s"), ("load", None)],
)
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_sort_and_keyset_pagination_visit_every_row_once(
    signed_in, db_session, sort, key, direction
):
    # ties (equal distances), NULL loads and 2.5 pages
    ids = _add(db_session, 110, load=lambda k: None if k % 7 == 0 else float(k % 13))
    for index, activity_id in enumerate(ids):
        row = db_session.get(Activity, activity_id)
        row.distance_m = None if index % 11 == 0 else float(index % 5)
    db_session.commit()
    rows = db_session.execute(
        select(Activity, ActivityMetrics.load).join(ActivityMetrics).where(Activity.id.in_(ids))
    ).all()

    def value(row):
        activity, load = row
        raw = load if key is None else getattr(activity, key)
        return -1.0 if raw is None else raw

    expected = [
        activity.id
        for activity, _load in sorted(
            rows, key=lambda r: (value(r), r[0].id), reverse=direction == "desc"
        )
    ]
    url = f"/activities?sort={sort}&dir={direction}"
    seen, pages = [], []
    while url:
        headers = {"HX-Request": "true"} if len(pages) % 2 else {}
        text = signed_in.get(url, headers=headers).text
        pages.append(_ids(text))
        seen += pages[-1]
        found = re.search(r'rel="next" href="([^"]+)"', text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert [len(page) for page in pages] == [50, 50, 10]
    assert seen == expected

    # back from the last page: the previous link gives exactly the page before
    previous = re.search(r'rel="prev" href="([^"]+)"', text).group(1).replace("&amp;", "&")
    assert _ids(signed_in.get(previous).text) == pages[1]


def test_list_statement_count_does_not_grow_with_activities(signed_in, db_session, connection):
    _add(db_session, 2, load=lambda k: 10.0)
    with count_queries(connection) as few:
        assert signed_in.get("/activities").status_code == 200
    _add(db_session, 70, first=START + timedelta(days=5), load=lambda k: 20.0)
    with count_queries(connection) as many:
        page = signed_in.get("/activities")
    assert len(_ids(page.text)) == 50
    assert len(many) == len(few) <= 8


def test_list_in_korean(signed_in, db_session):
    _add(db_session, 1)
    page = signed_in.get("/activities", headers={"Accept-Language": "ko"})
    assert '<html lang="ko">' in page.text and "<h1>활동</h1>" in page.text
    assert "25. 6. 2. " in page.text and "7:00" in page.text  # Korean date, Seoul time


# --- detail --------------------------------------------------------------------------------


def test_detail_page_fragment_and_charts(signed_in, db_session, settings):
    activity = _imported(signed_in, db_session)
    url = f"/activities/{activity.id}"
    page = signed_in.get(url, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and page.text.lstrip().startswith("<!doctype html>")
    text = page.text
    for testid in ("activity-summary", "activity-load", "laps", "route", "sources"):
        assert f'data-testid="{testid}"' in text, testid
    assert "11.52 km" in text  # 3,600 s at 3.2 m/s
    assert text.count("<tr>") >= 3  # three laps
    specs = re.findall(r'<script type="application/json" class="chart-data">(.*?)</script>', text)
    assert len(specs) == 5  # heart rate, power, pace + GAP, cadence, elevation
    import json

    charts = [json.loads(spec) for spec in specs]
    assert all(len(chart["x"]) <= 1000 for chart in charts)
    assert all(chart["detailUrl"].startswith(f"{url}/streams?x=time&chart=") for chart in charts)
    pace = next(chart for chart in charts if chart["series"][0]["label"] == "Pace")
    assert [s["label"] for s in pace["series"]] == ["Pace", "Grade-adjusted pace"]
    assert pace["series"][0]["values"][10] == pytest.approx(312.5, abs=0.5)  # 1000/3.2 s/km
    # the route: one polyline of at most ~500 points, no map tiles
    points = re.search(r'<polyline points="([^"]+)"', text).group(1).split()
    assert 100 < len(points) <= 500
    assert "tile" not in text.lower() and "openstreetmap" not in text.lower()

    fragment = signed_in.get(url, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="activity-detail"' in fragment.text

    by_distance = signed_in.get(
        f"{url}?x=distance", headers={"HX-Request": "true", "HX-Target": "activity-charts"}
    )
    assert by_distance.text.lstrip().startswith('<section class="card" id="activity-charts"')
    assert 'data-x="distance"' in by_distance.text and "activity-summary" not in by_distance.text
    assert "streams?x=distance\\u0026chart=heart_rate" in by_distance.text


def test_detail_shows_metrics_load_model_thresholds_zones_and_bests(signed_in, db_session):
    activity = _imported(signed_in, db_session)
    db_session.query(ActivityMetrics).filter_by(activity_id=activity.id).delete()
    db_session.add(
        ActivityMetrics(
            activity_id=activity.id,
            load=87.4,
            load_model="pace",
            rtss=87.4,
            ngp_s_per_km=300.0,
            hrss=70.0,
            hr_zone_s=[600.0, 1800.0, 1200.0, 0.0, 0.0, 0.0, 0.0],
            efficiency_factor=1.45,
            steady=True,
            decoupling_pct=6.2,
            decoupled=True,
            power_curve_w=[400.0] * 26,
            pace_bests={"1k": {"distance_m": 1000, "time_s": 290.0, "pace_s_per_km": 290.0}},
            thresholds_used={
                "threshold_pace_s_per_km": {"value": 270.0, "source": "owner:2025-01-01"},
                "lthr_bpm": {"value": 165.0, "source": "estimated:fraction_of_hr_max"},
                "hr_zones": {"model": "lthr", "lower_bpm": [0, 140, 149, 157, 165, 170, 175]},
            },
            algorithm_version=1,
        )
    )
    db_session.commit()
    text = signed_in.get(f"/activities/{activity.id}", headers={"Accept-Language": "en"}).text
    assert "pace (rTSS)" in text and ">87<" in text
    assert "4:30 /km" in text and "your value from Jan 1, 2025" in text
    assert "estimated: 90 % of maximum heart rate" in text
    zones = text[text.index('data-testid="hr-zones"') :]
    assert "Z5c" in zones and "50%" in zones and "140–148" in zones
    assert 'data-testid="decoupling"' in text and "Decoupled" in text and "6.2 %" in text
    assert 'data-testid="power-bests"' in text and "20 min" in text and "400 W" in text
    assert 'data-testid="pace-bests"' in text and "4:50 /km" in text

    # not steady: no decoupling badge
    row = db_session.get(ActivityMetrics, activity.id)
    row.steady, row.decoupling_pct = False, None
    db_session.commit()
    text = signed_in.get(f"/activities/{activity.id}", headers={"Accept-Language": "en"}).text
    assert 'data-testid="efficiency"' in text and 'data-testid="decoupling"' not in text


def test_detail_without_samples_or_metrics(signed_in, db_session):
    (activity_id,) = _add(db_session, 1, sport="training")
    text = signed_in.get(f"/activities/{activity_id}", headers={"Accept-Language": "en"}).text
    assert 'data-testid="no-samples"' in text and 'data-testid="metrics-pending"' in text
    assert 'data-testid="route"' not in text
    assert signed_in.get(f"/activities/{activity_id}/streams").status_code == 404


def test_multisport_links_parent_and_legs(signed_in, db_session):
    seconds = 600
    legs = [
        Leg(sport, {"heart_rate": np.full(seconds, 140.0), "speed": np.full(seconds, speed)})
        for sport, speed in (("swimming", 1.0), ("cycling", 9.0), ("running", 3.5))
    ]
    _import(signed_in, write_activity(None, start=START, legs=legs), "tri.fit")
    rows = db_session.execute(select(Activity).order_by(Activity.multisport_index)).scalars().all()
    assert len(rows) == 3
    first, second, _third = rows
    text = signed_in.get(f"/activities/{second.id}", headers={"Accept-Language": "en"}).text
    legs_html = text[text.index('data-testid="multisport-legs"') :]
    assert f'href="/activities/{first.id}"' in legs_html
    assert 'aria-current="page"' in legs_html
    assert f'href="/activities/{_third.id}"' in legs_html


def test_unknown_ids_are_404(signed_in, db_session):
    assert signed_in.get("/activities/999999").status_code == 404
    assert signed_in.get("/activities/999999", headers={"HX-Request": "true"}).status_code == 404
    assert signed_in.get("/activities/999999/streams").status_code == 404
    assert signed_in.get("/activities/not-a-number").status_code == 422


def test_streams_zoomed_range_is_full_resolution(signed_in, db_session):
    activity = _imported(signed_in, db_session)
    url = f"/activities/{activity.id}/streams"
    zoomed = signed_in.get(f"{url}?x=time&chart=heart_rate&start=600&end=900")
    assert zoomed.status_code == 200 and zoomed.headers["content-type"] == "application/json"
    spec = zoomed.json()
    assert spec["xKind"] == "seconds" and len(spec["series"]) == 1
    assert spec["x"] == [float(s) for s in range(600, 901)]  # every second, only that range
    assert len(spec["series"][0]["values"]) == 301

    by_distance = signed_in.get(f"{url}?x=distance&chart=pace&start=1000&end=2000").json()
    assert by_distance["xKind"] == "distance"
    assert all(1000 <= x <= 2000 for x in by_distance["x"]) and len(by_distance["x"]) >= 300
    assert [s["label"] for s in by_distance["series"]] == ["Pace", "Grade-adjusted pace"]

    everything = signed_in.get(url).json()  # no range: all of it (3,600 s fits the cap)
    assert len(everything["x"]) == 3600 and len(everything["series"]) == 6
    assert signed_in.get(f"{url}?chart=nonsense").status_code == 404
    assert signed_in.get(f"{url}?x=sideways").status_code == 422


def test_raw_download(signed_in, db_session, settings):
    data = _run_fit(300)
    activity = _imported(signed_in, db_session, data, name="아침 달리기.fit")
    text = signed_in.get(f"/activities/{activity.id}").text
    link = re.search(r'href="(/raw/[0-9a-f]{64})" download', text).group(1)
    response = signed_in.get(link)
    assert response.status_code == 200 and response.content == data
    assert "attachment" in response.headers["content-disposition"]
    assert "filename*=utf-8''%EC%95%84%EC%B9%A8" in response.headers["content-disposition"]

    assert signed_in.get("/raw/" + "0" * 64).status_code == 404  # unknown
    assert signed_in.get("/raw/" + "A" * 64).status_code == 404  # not a lowercase sha
    assert signed_in.get("/raw/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert signed_in.get("/raw/../../etc/passwd").status_code == 404
    # a row whose stored path leaves the raw store is refused even when the file exists
    outside = settings.data_dir / "secret.fit"
    outside.write_bytes(b"secret")
    db_session.add(RawFile(sha256="f" * 64, kind="upload", path="../secret.fit", size=6))
    db_session.commit()
    assert signed_in.get("/raw/" + "f" * 64).status_code == 404
    # and everything needs the owner's login
    signed_in.post("/logout")
    assert signed_in.get(link).status_code in (303, 307)


def test_detail_in_korean(signed_in, db_session):
    activity = _imported(signed_in, db_session)
    text = signed_in.get(f"/activities/{activity.id}", headers={"Accept-Language": "ko"}).text
    assert '<html lang="ko">' in text
    assert "2025. 6. 2. " in text and "7:00:00" in text  # the start in Korean, Seoul time
    assert "11.52" in text


def test_sources_are_listed(signed_in, db_session):
    activity = _imported(signed_in, db_session)
    sources = db_session.execute(
        select(ActivitySource).where(ActivitySource.activity_id == activity.id)
    ).scalars()
    assert [s.source for s in sources] == ["fit"]
    text = signed_in.get(f"/activities/{activity.id}", headers={"Accept-Language": "en"}).text
    assert "FIT file" in text and "morning run.fit" in text


def test_local_date_filter_uses_the_stored_day(signed_in, db_session):
    # an activity at 23:30 UTC on 1 June is on 2 June in Seoul, where the owner lives
    _add(db_session, 1, first=datetime(2025, 6, 1, 23, 30, tzinfo=UTC))
    assert _ids(signed_in.get("/activities?from=2025-06-02&to=2025-06-02").text)
    assert not _ids(signed_in.get(f"/activities?to={date(2025, 6, 1).isoformat()}").text)


def test_an_activity_opened_again_renders_the_same(signed_in, db_session):
    """The second view comes from the page's cache of recently opened activities."""
    activity_id = _imported(signed_in, db_session).id
    first = signed_in.get(f"/activities/{activity_id}")
    second = signed_in.get(f"/activities/{activity_id}")
    assert first.status_code == second.status_code == 200
    assert first.text == second.text
    assert signed_in.get(f"/activities/{activity_id}?x=distance").status_code == 200
