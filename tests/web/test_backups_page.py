"""Settings → Backups: back up now, download, and the banner after a failed nightly backup."""

from __future__ import annotations

from datetime import UTC, datetime

from app.models import ScheduledJobState
from app.services.work import runs

ORIGIN = {"Origin": "http://testserver"}


def test_back_up_now_writes_a_verified_file_that_can_be_downloaded(signed_in, settings, app):
    page = signed_in.get("/settings").text
    assert 'data-testid="backups"' in page and "No backups yet." in page

    response = signed_in.post("/settings/backups", headers=ORIGIN)
    assert response.status_code == 303 and "backup=queued" in response.headers["location"]
    files = sorted(settings.backup_dir.glob("domestique-*.tar"))
    assert len(files) == 1

    page = signed_in.get("/settings?backup=queued").text
    assert files[0].name in page and "The backup was written and checked." in page
    # The run is recorded: its outcome survives a restart of the app.
    with app.state.sessions() as session:
        run = runs.latest(session, "backup")
        assert run.status == "done" and run.result == {"file": files[0].name}
        assert run.queued_at <= run.started_at <= run.finished_at
    download = signed_in.get(f"/backups/{files[0].name}")
    assert download.status_code == 200 and download.content == files[0].read_bytes()


def test_only_backup_files_are_served(signed_in, settings):
    settings.backup_dir.mkdir(parents=True, exist_ok=True)
    (settings.backup_dir / "notes.txt").write_text("private")
    for name in ("notes.txt", "..%2Fsecret.key", "domestique-20260101-000000.tar"):
        assert signed_in.get(f"/backups/{name}").status_code == 404


def test_a_failed_nightly_backup_shows_a_banner(signed_in, db_session):
    db_session.add(
        ScheduledJobState(
            job_id="backup.nightly",
            last_started_at=datetime(2026, 11, 20, 20, 30, tzinfo=UTC),
            last_finished_at=datetime(2026, 11, 20, 20, 31, tzinfo=UTC),
            last_status="failed",
            last_error="BackupError: disk full",
        )
    )
    db_session.commit()
    for path in ("/", "/settings"):
        assert 'data-testid="backup-banner"' in signed_in.get(path).text
    assert "disk full" in signed_in.get("/settings").text


def test_restore_needs_the_confirmation_and_reports_its_outcome(signed_in, settings, app):
    signed_in.post("/settings/backups", headers=ORIGIN)
    (name,) = [p.name for p in settings.backup_dir.glob("domestique-*.tar")]
    asked: list = []
    # the restore itself: test_backups.py
    app.state.work_runner.submit_restore = lambda path, **options: asked.append(path)

    unconfirmed = signed_in.post("/settings/backups/restore", data={"name": name}, headers=ORIGIN)
    assert "restore=unconfirmed" in unconfirmed.headers["location"] and asked == []
    assert "Tick the box" in signed_in.get(unconfirmed.headers["location"]).text

    queued = signed_in.post(
        "/settings/backups/restore", data={"name": name, "confirm": "yes"}, headers=ORIGIN
    )
    assert "restore=queued" in queued.headers["location"]
    assert [p.name for p in asked] == [name]
    missing = signed_in.post(
        "/settings/backups/restore",
        data={"name": "domestique-20200101-000000.tar", "confirm": "yes"},
        headers=ORIGIN,
    )
    assert missing.status_code == 404

    def recorded(status: str, **outcome) -> None:
        at = datetime.now(UTC)
        runs.finished(
            app.state.sessions, runs.new_id(), "restore", {"file": name}, at, at, at,
            runs.Outcome(status, **outcome),
        )  # fmt: skip

    recorded(
        "done",
        result={
            "before": {"activity": 3}, "after": {"activity": 2},
            "safety": "domestique-safety-20261122-000000.tar", "warnings": ["timescaledb_mismatch"],
        },
    )  # fmt: skip
    page = signed_in.get("/settings").text
    assert 'data-status="done"' in page and "domestique-safety-20261122-000000.tar" in page
    assert "ALTER EXTENSION timescaledb UPDATE" in page
    recorded("failed", result={}, error_code="backup_newer", error_params={"version": "9.9"})
    assert "newer Domestique (9.9)" in signed_in.get("/settings").text


def test_a_backup_a_stopped_app_cut_short_is_shown_as_interrupted(signed_in, app):
    at = datetime.now(UTC)
    run_id = runs.new_id()
    runs.started(app.state.sessions, run_id, "backup", {}, at, at)
    page = signed_in.get("/settings").text
    assert "A backup is being made in the background." in page
    # The next start marks what a killed process left running as interrupted.
    assert runs.interrupt_left(app.state.sessions, datetime.now(UTC)) == 1
    page = signed_in.get("/settings").text
    assert 'data-testid="backup-failed"' in page and "cut short" in page


def test_an_uploaded_backup_is_checked_then_listed(signed_in, settings):
    signed_in.post("/settings/backups", headers=ORIGIN)
    (made,) = settings.backup_dir.glob("domestique-*.tar")
    data = made.read_bytes()
    made.unlink()

    response = signed_in.post(
        "/settings/backups/upload",
        files={"backup": ("from-old-nas.tar", data, "application/x-tar")},
        headers=ORIGIN,
    )
    assert "upload=done" in response.headers["location"]
    (kept,) = settings.backup_dir.glob("domestique-upload-*.tar")
    assert kept.read_bytes() == data
    assert kept.name in signed_in.get("/settings").text

    broken = signed_in.post(
        "/settings/backups/upload",
        files={"backup": ("junk.tar", b"not a backup at all", "application/x-tar")},
        headers=ORIGIN,
    )
    assert "upload=backup_unreadable" in broken.headers["location"]
    assert len(list(settings.backup_dir.glob("domestique-*.tar"))) == 1
    assert not list(settings.backup_dir.glob(".upload-*"))
    nothing = signed_in.post("/settings/backups/upload", files={}, data={"x": "1"}, headers=ORIGIN)
    assert "upload=missing" in nothing.headers["location"]


def test_a_failed_backup_now_says_why(signed_in, settings, app, monkeypatch):
    from app.services import backups

    def full_disk(*args, **kwargs):
        raise backups.BackupError("no space", code="backup_disk", error="No space left on device")

    monkeypatch.setattr(backups, "make_backup", full_disk)
    response = signed_in.post("/settings/backups", headers=ORIGIN)
    page = signed_in.get(response.headers["location"]).text
    assert 'data-testid="backup-failed"' in page and "No space left on device" in page


def test_a_backup_this_install_did_not_sign_asks_a_second_time(signed_in, settings, app):
    from cryptography.fernet import Fernet

    signed_in.post("/settings/backups", headers=ORIGIN)
    (name,) = [p.name for p in settings.backup_dir.glob("domestique-*.tar")]
    asked: list = []
    app.state.work_runner.submit_restore = lambda path, **options: asked.append((path, options))
    (settings.data_dir / "secret.key").write_text(Fernet.generate_key().decode())  # a new key

    first = signed_in.post(
        "/settings/backups/restore", data={"name": name, "confirm": "yes"}, headers=ORIGIN
    )
    assert "restore=unverified" in first.headers["location"] and asked == []
    page = signed_in.get(first.headers["location"]).text
    assert 'data-testid="restore-unverified"' in page and name in page
    assert "its secret key replaces this installation" in page
    korean = signed_in.get(first.headers["location"], headers={"Accept-Language": "ko"}).text
    assert "비밀 키" in korean

    second = signed_in.post(
        "/settings/backups/restore",
        data={"name": name, "confirm": "yes", "accept_unverified": "yes"},
        headers=ORIGIN,
    )
    assert "restore=queued" in second.headers["location"]
    assert [(p.name, o) for p, o in asked] == [(name, {"accept_unverified": True})]


def test_the_routes_accept_every_name_a_backup_is_kept_under():
    from app.web.routes.backups import NAME

    for name in ("domestique-upload2-20260101-000000.tar", "domestique-20260101-000000.tar",
                 "domestique-safety-20260101-000000.tar"):  # fmt: skip
        assert NAME.match(name)
    for name in ("domestique-../x-20260101-000000.tar", "domestique-2-20260101-000000.tar"):
        assert not NAME.match(name)
