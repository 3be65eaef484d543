"""Importing Strava's bulk export ZIP through the files-in pipeline, against PostgreSQL: every
row of activities.csv becomes one activity with its Strava id, original files bring samples,
damaged or missing files cost only their samples, and a second import adds nothing."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from app.models import Activity, ActivitySource, ImportJob, RawFile
from app.services import imports
from tests.support.strava_export import (
    RIDE_FIT,
    RIDE_START,
    SAMPLE_FILE_NAMES,
    activities_csv,
    build_export,
    fit_fixture,
    sample_files,
    sample_rows,
)


def _import(sessions, settings, files: dict[str, bytes], *, workers: int = 0) -> ImportJob:
    folder = settings.data_dir / "incoming-test"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    raws = imports.keep_paths(sessions, settings, paths)
    with sessions.begin() as session:
        job_id = imports.create_job(session, raws, origin="cli").id
    return imports.run_job(sessions, settings, job_id, workers=workers)


def _archive(tmp_path, prefix: str = "") -> bytes:
    return build_export(
        tmp_path / "export.zip", rows=sample_rows(), files=sample_files(), prefix=prefix
    ).read_bytes()


def _by_strava_id(db_session) -> dict[str, Activity]:
    rows = db_session.execute(
        select(ActivitySource.external_id, Activity)
        .join(Activity, Activity.id == ActivitySource.activity_id)
        .where(ActivitySource.source == "strava_export")
    ).all()
    return {external_id: activity for external_id, activity in rows}


@pytest.mark.parametrize("prefix", ["", "export_24680/"])
def test_strava_export_imports_every_row_once(sessions, settings, db_session, tmp_path, prefix):
    archive = _archive(tmp_path, prefix)
    job = _import(sessions, settings, {"export_24680.zip": archive})

    assert job.status == "done", job.error
    assert job.summary["files_failed"] == 0
    assert job.summary["activities_added"] == 8
    activities = _by_strava_id(db_session)
    assert sorted(activities) == [str(i) for i in range(101, 109)]
    assert {key: a.name for key, a in activities.items() if a.name} == {
        "101": "Wahoo ride",
        "102": "Track run",
        "103": "Palace walk",
        "104": "Old TCX run",
        "105": "Gym",
        "106": "Broken",
    }
    assert {key: (a.sport, a.sub_sport) for key, a in activities.items()} == {
        "101": ("cycling", None),
        "102": ("running", None),
        "103": ("walking", None),
        "104": ("running", None),
        "105": ("training", "strength_training"),
        "106": ("running", None),
        "107": ("cycling", None),
        "108": ("swimming", None),
    }
    assert {key: a.sample_count for key, a in activities.items()} == {
        "101": 132,
        "102": 755,
        "103": 3,
        **{key: 0 for key in ("104", "105", "106", "107", "108")},
    }
    assert activities["101"].distance_m == pytest.approx(963.65)  # from the FIT file
    assert activities["101"].calories == 35.0  # from the CSV: the file has none
    assert activities["104"].distance_m == 5000.0
    assert activities["108"].distance_m == 1500.0
    assert activities["105"].elapsed_s == 3600.0
    assert activities["101"].start_time == RIDE_START

    parent = next(item for item in job.items if item.parent_id is None)
    assert parent.status == "ok"
    parent_codes = {(n["code"], n["params"].get("name")) for n in parent.notices}
    assert ("strava_export_file_missing", "activities/108.fit.gz") in parent_codes
    assert ("strava_export_file_unreadable", prefix + "activities/107.fit.gz") in parent_codes
    children = {item.name: item for item in job.items if item.parent_id is not None}
    assert sorted(children) == sorted(
        prefix + name for name in (*SAMPLE_FILE_NAMES, "activities.csv")
    )
    assert all(item.status == "ok" for item in children.values())
    broken = children[prefix + "activities/106.fit.gz"]
    assert [n["code"] for n in broken.notices] == ["strava_export_file_unreadable"]
    tcx = children[prefix + "activities/104.tcx.gz"]
    assert [n["code"] for n in tcx.notices] == ["strava_export_tcx_summary"]

    # The archive and every original file it brought are kept.
    kinds = sorted(db_session.execute(select(RawFile.kind)).scalars())
    assert kinds == ["fit", "fit", "fit", "gpx", "strava_export", "tcx"]
    assert activities["101"].sources[0].raw_file_id is not None

    again = _import(sessions, settings, {"export-again.zip": archive})
    assert again.status == "done"
    assert again.summary["activities_added"] == 0
    assert again.summary["activities_duplicate"] == 8
    assert db_session.execute(select(func.count()).select_from(Activity)).scalar_one() == 8


def test_an_activity_already_imported_from_its_fit_file_gains_the_strava_id(
    sessions, settings, db_session, tmp_path
):
    _import(sessions, settings, {"ride.fit": fit_fixture(RIDE_FIT)})
    job = _import(sessions, settings, {"export.zip": _archive(tmp_path)})

    assert job.summary["activities_added"] == 7
    ride = _by_strava_id(db_session)["101"]
    assert {s.source for s in ride.sources} == {"fit", "strava_export"}
    assert ride.sample_count == 132


def test_decoding_in_worker_processes_gives_the_same_result(
    sessions, settings, db_session, tmp_path
):
    job = _import(sessions, settings, {"export.zip": _archive(tmp_path)}, workers=1)
    assert job.status == "done", job.error
    assert job.summary["activities_added"] == 8
    assert job.summary["samples"] == 132 + 755 + 3


def test_a_hostile_strava_export_is_refused_without_storing_anything(
    sessions, settings, db_session
):
    bomb = io.BytesIO()
    rows = [{"id": 1, "date": RIDE_START, "filename": "activities/1.fit"}]
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("activities.csv", activities_csv(rows))
        archive.writestr("activities/1.fit", bytes(60 * 1024 * 1024))
    job = _import(sessions, settings, {"strava.zip": bomb.getvalue()})

    parent = job.items[0]
    assert parent.status == "failed" and parent.error_code == "zip_bomb"
    assert db_session.execute(select(func.count()).select_from(Activity)).scalar_one() == 0


def test_a_csv_that_is_not_strava_s_fails_the_archive_with_a_reason(sessions, settings):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("activities.csv", "Name,When\nrun,today\n")
    job = _import(sessions, settings, {"strava.zip": archive.getvalue()})

    parent = job.items[0]
    assert parent.status == "failed" and parent.error_code == "strava_export_bad_csv"
