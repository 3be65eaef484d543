"""The Import page: upload (streamed to the raw store), job progress page and fragment,
failures explained in the owner's language, limits, login and CSRF."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select

from app.models import Activity, RawFile
from tests.conftest import with_settings
from tests.support.fitwriter import write_activity

START = datetime(2025, 6, 1, 22, 0, tzinfo=UTC)


def _fit(seconds: int = 300) -> bytes:
    return write_activity(
        None,
        sport="cycling",
        start=START,
        samples={"power": np.full(seconds, 210.0), "heart_rate": np.full(seconds, 140.0)},
    )


def test_import_page_in_both_languages(signed_in):
    page = signed_in.get("/import", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "<h1>Import</h1>" in page.text
    assert 'type="file" name="files" multiple' in page.text
    korean = signed_in.get("/import", headers={"Accept-Language": "ko"})
    assert "<h1>가져오기</h1>" in korean.text
    fragment = signed_in.get("/import", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "import-form" in fragment.text


def test_upload_imports_and_shows_the_summary(signed_in, db_session, settings):
    response = signed_in.post(
        "/import",
        files=[
            ("files", ("ride.fit", _fit(), "application/octet-stream")),
            ("files", ("holiday.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png")),
        ],
    )
    assert response.status_code == 303
    job_url = response.headers["location"]
    assert "/import/jobs/" in job_url

    page = signed_in.get(job_url, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert 'data-status="done"' in page.text
    assert 'data-testid="activities-added">1<' in page.text
    assert 'data-testid="files-failed">1<' in page.text
    assert "holiday.png" in page.text and "Not a file Domestique can read" in page.text
    assert "hx-trigger" not in page.text  # finished: no more polling

    korean = signed_in.get(job_url, headers={"HX-Request": "true", "Accept-Language": "ko"})
    assert "<html" not in korean.text
    assert "Domestique가 읽을 수 없는 파일" in korean.text

    assert db_session.execute(select(func.count()).select_from(Activity)).scalar_one() == 1
    raws = db_session.execute(select(RawFile)).scalars().all()
    assert len(raws) == 2 and all((settings.raw_dir / raw.path).is_file() for raw in raws)
    assert not any((settings.raw_dir / ".incoming").iterdir())


def test_unfinished_job_polls(signed_in, db_session):
    from app.services import imports

    job = imports.create_job(db_session, [], origin="web")
    db_session.commit()
    fragment = signed_in.get(f"/import/jobs/{job.id}", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in fragment.text


def test_upload_without_files_is_explained(signed_in):
    response = signed_in.post("/import", files=[("other", ("x.txt", b"x", "text/plain"))])
    assert response.status_code == 400
    assert 'data-testid="import-error"' in response.text


def test_upload_over_the_limit_is_refused_and_nothing_is_kept(signed_in, app, settings):
    app.state.settings = with_settings(settings, max_upload_mb=1)
    response = signed_in.post(
        "/import",
        files=[("files", ("big.fit", bytes(1024 * 1024 + 10), "application/octet-stream"))],
    )
    assert response.status_code in (413,)
    incoming = settings.raw_dir / ".incoming"
    assert not incoming.exists() or not any(incoming.iterdir())


def test_unknown_job_is_404(signed_in):
    assert signed_in.get("/import/jobs/999999").status_code == 404


def test_import_needs_login_and_same_origin(client, owner, signed_in):
    hostile = signed_in.post(
        "/import",
        files=[("files", ("ride.fit", _fit(), "application/octet-stream"))],
        headers={"Origin": "http://evil.example"},
    )
    assert hostile.status_code == 403
    signed_in.post("/logout")
    assert client.get("/import").status_code in (303, 307)


def test_uploading_a_strava_archive_imports_it(signed_in, db_session, tmp_path):
    from tests.support.strava_export import build_export, sample_files, sample_rows

    archive = build_export(tmp_path / "export.zip", rows=sample_rows(), files=sample_files())
    response = signed_in.post(
        "/import",
        files=[("files", ("export_24680.zip", archive.read_bytes(), "application/zip"))],
    )
    assert response.status_code == 303

    page = signed_in.get(response.headers["location"], headers={"Accept-Language": "en"})
    assert 'data-status="done"' in page.text
    assert 'data-testid="activities-added">8<' in page.text
    assert "have no file in it" in page.text  # the row whose file is missing, explained
    assert db_session.execute(select(func.count()).select_from(Activity)).scalar_one() == 8
