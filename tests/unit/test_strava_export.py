"""The Strava bulk export ZIP: activities.csv with its duplicated headers and English dates,
original files (.fit.gz, .gpx.gz, .tcx.gz, plain .fit) matched to their rows, and what happens
when a file is missing, damaged or hostile."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime

import pytest

from app.records import Notice
from app.sources import SourceDataError
from app.sources.archive import ArchiveLimits
from app.sources.strava_export import (
    ActivityFile,
    SummaryBatch,
    decode_activity_file,
    export_prefix,
    is_strava_export,
    iter_export,
    parse_activities_csv,
    parse_date,
    sport_of_type,
)
from tests.support.strava_export import (
    MODERN_HEADER,
    OLD_HEADER,
    RIDE_FIT,
    RIDE_START,
    SAMPLE_FILE_NAMES,
    activities_csv,
    build_export,
    fit_fixture,
    gz,
    sample_files,
    sample_rows,
)

# --- activities.csv ---------------------------------------------------------------------------


def test_duplicated_headers_read_the_si_columns_by_position():
    data = activities_csv(
        [
            {
                "id": 1234567890,
                "date": datetime(2019, 3, 2, 7, 14, 3, tzinfo=UTC),
                "name": "Morning Ride, with friends",
                "type": "Virtual Ride",
                "description": 'Line one\nline "two", with a comma',
                "elapsed_s": 3723.0,
                "moving_s": 3600.0,
                "distance_m": 30512.4,
                "ascent_m": 212.0,
                "avg_hr": 141.0,
                "max_hr": 171.0,
                "avg_power": 205.5,
                "calories": 812.0,
                "filename": "activities/1234567890.fit.gz",
            }
        ],
        miles=True,  # the display column is in miles: it must not be read
    )
    assert MODERN_HEADER.count("Distance") == 2 and MODERN_HEADER.count("Elapsed Time") == 2
    parsed = parse_activities_csv(data)

    assert parsed.notices == []
    (row,) = parsed.rows
    assert row.activity_id == "1234567890"
    assert row.filename == "activities/1234567890.fit.gz"
    activity = row.summary
    assert activity.source == "strava_export" and activity.external_id == "1234567890"
    assert activity.start == datetime(2019, 3, 2, 7, 14, 3, tzinfo=UTC)
    assert activity.name == "Morning Ride, with friends"
    assert (activity.sport, activity.sub_sport) == ("cycling", "virtual_activity")
    assert activity.distance_m == pytest.approx(30512.4)
    assert (activity.elapsed_s, activity.moving_s) == (3723.0, 3600.0)
    assert (activity.avg_hr, activity.max_hr, activity.avg_power) == (141.0, 171.0, 205.5)
    assert (activity.ascent_m, activity.calories) == (212.0, 812.0)
    assert activity.extras["strava_activity_description"] == 'Line one\nline "two", with a comma'
    assert activity.extras["strava_activity_type"] == "Virtual Ride"


def test_the_first_block_fills_in_when_the_si_column_is_empty():
    header = list(MODERN_HEADER)
    cells = [""] * len(header)
    cells[header.index("Activity ID")] = "42"
    cells[header.index("Activity Date")] = "Jan 5, 2021, 6:00:00 PM"
    cells[header.index("Elapsed Time")] = "1800"  # only the first Elapsed Time column
    cells[header.index("Distance")] = "12.50"  # only the display Distance: unit unknown
    out = io.StringIO()
    csv.writer(out).writerows([header, cells])

    (row,) = parse_activities_csv(out.getvalue().encode()).rows
    assert row.summary.elapsed_s == 1800.0
    assert row.summary.distance_m is None  # km or miles? not guessed when an SI column exists
    assert row.summary.start == datetime(2021, 1, 5, 18, 0, tzinfo=UTC)
    assert row.filename is None


def test_an_old_export_with_one_distance_column_is_read_as_kilometres():
    data = activities_csv(
        [{"id": 7, "date": datetime(2016, 5, 1, 6, 0, tzinfo=UTC), "distance_m": 10000.0}],
        header=OLD_HEADER,
    )
    parsed = parse_activities_csv(data)
    assert parsed.rows[0].summary.distance_m == pytest.approx(10000.0)
    assert parsed.notices == [Notice("strava_export_distance_km")]


def test_rows_without_an_id_or_a_readable_date_are_counted_and_skipped():
    data = activities_csv(
        [
            {"id": 1, "date": datetime(2020, 1, 1, tzinfo=UTC)},
            {"id": "", "date": datetime(2020, 1, 2, tzinfo=UTC)},
            {"id": 3, "date": "2020. 1. 3. 오전 7:00:00"},
            {"id": 4, "date": "not a date"},
            {"id": 1, "date": datetime(2020, 1, 1, tzinfo=UTC)},  # a repeated row: once
        ]
    )
    parsed = parse_activities_csv(data + b"\n\n")  # blank lines are not rows
    assert [row.activity_id for row in parsed.rows] == ["1"]
    assert parsed.notices == [
        Notice("strava_export_rows_skipped", {"count": 1, "reason": "no_id"}),
        Notice("strava_export_rows_skipped", {"count": 2, "reason": "date"}),
    ]


def test_zero_heart_rate_and_power_mean_not_recorded():
    data = activities_csv(
        [{"id": 9, "date": datetime(2020, 1, 1, tzinfo=UTC), "avg_hr": 0.0, "avg_power": 0.0}]
    )
    summary = parse_activities_csv(data).rows[0].summary
    assert summary.avg_hr is None and summary.avg_power is None


@pytest.mark.parametrize("content", [b"", b"Name,Date\nx,y\n", b"\xef\xbb\xbfActivity ID\n1\n"])
def test_a_csv_that_is_not_strava_s_is_refused(content):
    with pytest.raises(SourceDataError) as caught:
        parse_activities_csv(content)
    assert caught.value.code == "strava_export_bad_csv"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mar 2, 2019, 7:14:03 AM", datetime(2019, 3, 2, 7, 14, 3, tzinfo=UTC)),
        ("Dec 31, 2023, 12:05:00 PM", datetime(2023, 12, 31, 12, 5, tzinfo=UTC)),
        ("Dec 31, 2023, 12:05:00 AM", datetime(2023, 12, 31, 0, 5, tzinfo=UTC)),
        ("Mar 2, 2019, 7:14:03\u202fPM", datetime(2019, 3, 2, 19, 14, 3, tzinfo=UTC)),
        ("Mar 2, 2019 7:14:03 AM", datetime(2019, 3, 2, 7, 14, 3, tzinfo=UTC)),
        ("2019-03-02 07:14:03", datetime(2019, 3, 2, 7, 14, 3, tzinfo=UTC)),
        ("2019-03-02T16:14:03+09:00", datetime(2019, 3, 2, 7, 14, 3, tzinfo=UTC)),
        ("", None),
        ("yesterday", None),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("activity_type", "expected"),
    [
        ("Ride", ("cycling", None)),
        ("Run", ("running", None)),
        ("Virtual Ride", ("cycling", "virtual_activity")),
        ("E-Bike Ride", ("cycling", "e_bike_fitness")),
        ("Weight Training", ("training", "strength_training")),
        ("Stair-Stepper", ("fitness_equipment", "stair_climbing")),
        ("Rock Climb", ("rock_climbing", None)),
        ("Canoe", ("paddling", None)),
        ("HIIT", ("training", "hiit")),
        ("Walk", ("walking", None)),
        ("Underwater Basket Weaving", ("generic", None)),
        (None, ("generic", None)),
    ],
)
def test_activity_types_map_through_the_strava_sports(activity_type, expected):
    assert sport_of_type(activity_type) == expected


# --- the archive ------------------------------------------------------------------------------


def test_detection_at_the_root_or_one_folder_down():
    assert export_prefix(["activities.csv", "activities/1.fit.gz"]) == ""
    assert export_prefix(["export_123/activities.csv", "export_123/activities/1.gpx"]) == (
        "export_123/"
    )
    assert export_prefix(["a/b/activities.csv"]) is None
    assert export_prefix(["__MACOSX/activities.csv"]) is None
    assert export_prefix(["DI_CONNECT/x.json", "my_activities.csv"]) is None


def test_is_strava_export(tmp_path):
    path = build_export(tmp_path / "strava.zip", rows=[], prefix="export_1/")
    assert is_strava_export(path)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("rides/one.fit", b"x")
    assert not is_strava_export(other)
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert not is_strava_export(tmp_path / "junk.zip")


@pytest.mark.parametrize("prefix", ["", "export_24680/"])
def test_export_yields_each_file_with_its_row_and_the_rest_from_the_csv(tmp_path, prefix):
    path = build_export(
        tmp_path / "strava.zip", rows=sample_rows(), files=sample_files(), prefix=prefix
    )
    entries = list(iter_export(path))

    files = {e.name: e for e in entries if isinstance(e, ActivityFile)}
    assert sorted(files) == [prefix + name for name in SAMPLE_FILE_NAMES]
    assert files[prefix + "activities/101.fit.gz"].data == fit_fixture(RIDE_FIT)  # inflated
    assert files[prefix + "activities/103.gpx.gz"].format == "gpx"
    assert files[prefix + "activities/104.tcx.gz"].format == "tcx"

    notices = [e for e in entries if isinstance(e, Notice)]
    assert (
        Notice(
            "strava_export_file_unreadable",
            {"name": prefix + "activities/107.fit.gz", "error": "gzip"},
        )
        in notices
    )
    assert (
        Notice("strava_export_file_missing", {"count": 1, "name": "activities/108.fit.gz"})
        in notices
    )

    (batch,) = [e for e in entries if isinstance(e, SummaryBatch)]
    assert batch.name == prefix + "activities.csv"
    assert [a.external_id for a in batch.activities] == ["105", "107", "108"]
    assert entries[-1] is batch


def test_decoding_a_fit_file_keeps_the_csv_identity_and_fills_what_it_lacks(tmp_path):
    path = build_export(tmp_path / "strava.zip", rows=sample_rows(), files=sample_files())
    files = {e.name: e for e in iter_export(path) if isinstance(e, ActivityFile)}

    decoded = decode_activity_file(files["activities/101.fit.gz"])
    (ride,) = decoded.activities
    assert ride.source == "strava_export" and ride.external_id == "101"
    assert ride.name == "Wahoo ride" and ride.sport == "cycling"
    assert ride.start == RIDE_START
    assert ride.distance_m == pytest.approx(963.65)  # the file's own value wins
    assert ride.calories == 35.0  # the file has none: from the CSV
    assert ride.samples is not None and len(ride.samples) == 132

    (run,) = decode_activity_file(files["activities/102.fit"]).activities
    assert (run.name, run.sport, run.external_id) == ("Track run", "running", "102")


def test_a_gpx_track_becomes_samples_on_the_csv_summary(tmp_path):
    path = build_export(tmp_path / "strava.zip", rows=sample_rows(), files=sample_files())
    files = {e.name: e for e in iter_export(path) if isinstance(e, ActivityFile)}

    decoded = decode_activity_file(files["activities/103.gpx.gz"])
    (walk,) = decoded.activities
    assert (walk.name, walk.sport, walk.external_id) == ("Palace walk", "walking", "103")
    assert walk.distance_m == 30.0
    assert len(walk.samples) == 3 and walk.samples.channel("lat")[0] == pytest.approx(37.5665)


def test_tcx_and_damaged_files_give_the_csv_summary_with_a_notice(tmp_path):
    path = build_export(tmp_path / "strava.zip", rows=sample_rows(), files=sample_files())
    files = {e.name: e for e in iter_export(path) if isinstance(e, ActivityFile)}

    tcx = decode_activity_file(files["activities/104.tcx.gz"])
    assert [a.external_id for a in tcx.activities] == ["104"]
    assert tcx.activities[0].samples is None and tcx.activities[0].distance_m == 5000.0
    assert tcx.notices == [Notice("strava_export_tcx_summary", {"name": "activities/104.tcx.gz"})]

    broken = decode_activity_file(files["activities/106.fit.gz"])
    assert [(a.external_id, a.name, a.distance_m) for a in broken.activities] == [
        ("106", "Broken", 8000.0)
    ]
    assert broken.notices == [
        Notice(
            "strava_export_file_unreadable", {"name": "activities/106.fit.gz", "error": "not_fit"}
        )
    ]


def test_a_gzip_bomb_refuses_the_archive(tmp_path):
    rows = [{"id": 1, "date": RIDE_START, "filename": "activities/1.fit.gz"}]
    bomb = gz(bytes(40 * 1024 * 1024))  # ~40 KB that inflate a thousand times
    path = build_export(tmp_path / "strava.zip", rows=rows, files={"activities/1.fit.gz": bomb})
    with pytest.raises(SourceDataError) as caught:
        list(iter_export(path))
    assert caught.value.code == "zip_bomb" and caught.value.params["limit"] == "ratio"


def test_gzip_output_counts_towards_the_archive_total(tmp_path):
    rows = [{"id": i, "date": RIDE_START, "filename": f"activities/{i}.fit.gz"} for i in (1, 2, 3)]
    files = {f"activities/{i}.fit.gz": gz(bytes(range(256)) * 4096) for i in (1, 2, 3)}
    path = build_export(tmp_path / "strava.zip", rows=rows, files=files)
    with pytest.raises(SourceDataError) as caught:
        list(iter_export(path, limits=ArchiveLimits(max_total_bytes=2 * 1024 * 1024)))
    assert caught.value.code == "zip_bomb" and caught.value.params["limit"] == "total"


def test_a_zip_bomb_member_refuses_the_archive_before_anything_is_read(tmp_path):
    path = tmp_path / "strava.zip"
    rows = [{"id": 1, "date": RIDE_START, "filename": "activities/1.fit"}]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("activities.csv", activities_csv(rows))
        archive.writestr("activities/1.fit", bytes(60 * 1024 * 1024))
    entries = iter_export(path)
    with pytest.raises(SourceDataError) as caught:
        next(entries)
    assert caught.value.code == "zip_bomb"


def test_a_file_of_an_unknown_format_gives_the_csv_summary(tmp_path):
    rows = [{"id": 5, "date": RIDE_START, "filename": "activities/5.kml"}]
    path = build_export(tmp_path / "strava.zip", rows=rows, files={"activities/5.kml": b"<kml/>"})
    entries = list(iter_export(path))
    assert entries[0] == Notice(
        "strava_export_file_skipped",
        {"name": "activities/5.kml", "reason": "format", "format": "kml"},
    )
    assert [a.external_id for a in entries[1].activities] == ["5"]


@pytest.mark.parametrize("locale", ["ko", "en"])
@pytest.mark.parametrize(
    ("code", "params"),
    [
        ("strava_export_rows_skipped", {"count": 3, "reason": "date"}),
        ("strava_export_rows_skipped", {"count": 3, "reason": "no_id"}),
        ("strava_export_file_missing", {"count": 3, "name": "activities/1.fit.gz"}),
        ("strava_export_file_unreadable", {"name": "activities/1.fit.gz", "error": "not_fit"}),
        ("strava_export_file_skipped", {"name": "a.kml", "reason": "format", "format": "kml"}),
        ("strava_export_file_skipped", {"name": "a.fit", "reason": "too_large", "limit_mb": 128}),
        ("strava_export_tcx_summary", {"name": "activities/1.tcx.gz"}),
        ("strava_export_distance_km", {}),
        ("strava_export_bad_csv", {}),
    ],
)
def test_every_notice_reads_as_a_sentence(locale, code, params):
    from app.i18n import current_locale
    from app.messages import describe

    token = current_locale.set(locale)
    try:
        text = describe(code, params)
    finally:
        current_locale.reset(token)
    assert "%(" not in text and code not in text
    assert all(str(value) in text for key, value in params.items() if key in ("count", "name"))
