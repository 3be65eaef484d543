"""What the Settings page reads: today in the owner's time zone, the dated thresholds, where
each estimate comes from, the source of each wellness group, the backup files and how the last
nightly backup ended; and the two forms it saves (the training profile, the wellness sources),
each in one transaction of its own. The last backup and restore asked for on the page are
read from the background work's record (``app.services.work.runs``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.i18n import _
from app.models.metrics import THRESHOLD_KINDS
from app.models.owner import get_owner
from app.services import backups
from app.services.metrics import estimate_origins
from app.services.metrics.recompute import owner_today
from app.services.owner import training_profile
from app.services.wellness import origins
from app.services.work import runs, schedule
from app.services.work.schedule import NIGHTLY_BACKUP, last_run


@dataclass(frozen=True)
class SettingsPage:
    today: date
    thresholds: Any
    estimate_sources: Any
    wellness_sources: Any
    backup_files: list[dict[str, Any]]
    backup_folder: Path
    last_nightly_backup: tuple[str | None, Any, str | None] | None
    last_backup: dict[str, Any] | None = None  # "Back up now": status, code, params
    last_restore: dict[str, Any] | None = None  # file, status, code, params, before, after …


def run_view(run: Any) -> dict[str, Any] | None:
    """A recorded backup or restore as the page shows it (``runs.status_of``):
    ``queued``/``running``, ``done`` or ``failed`` (a run a stopped process cut short is a
    failure that says so)."""
    if run is None:
        return None
    shown = runs.status_of(run)
    result = shown.result
    return {
        "status": "failed" if shown.status == "interrupted" else shown.status,
        "code": shown.error_code,
        "params": shown.error_params,
        "file": shown.parameters.get("file"),
        "at": shown.finished_at,
        "before": result.get("before", {}),
        "after": result.get("after", {}),
        "safety": result.get("safety"),
        "warnings": result.get("warnings", []),
    }


def settings_page(sessions: sessionmaker[Session], settings: Settings) -> SettingsPage:
    with sessions() as session:
        today = owner_today(session)
        thresholds = training_profile.thresholds_view(session, today)
        sources = estimate_origins.overview(session)
        wellness_choices = origins.choices(session)
        last = last_run(session, NIGHTLY_BACKUP)
        last_backup = run_view(runs.latest(session, "backup"))
        last_restore = run_view(runs.latest(session, "restore"))
    files = [
        {"name": p.name, "size": p.stat().st_size, "modified": p.stat().st_mtime}
        for p in backups.list_backups(settings.backup_dir)
    ]
    return SettingsPage(
        today=today,
        thresholds=thresholds,
        estimate_sources=sources,
        wellness_sources=wellness_choices,
        backup_files=files,
        backup_folder=settings.backup_dir,
        last_nightly_backup=(last.status, last.finished_at, last.error) if last else None,
        last_backup=last_backup,
        last_restore=last_restore,
    )


def save_training_profile(
    sessions: sessionmaker[Session],
    field: Callable[[str], str],
    *,
    default_sync_time: str,
    scheduler: schedule.Follower | None = None,
) -> training_profile.Saved:
    """The training-profile form (``field(name)`` gives each value, stripped), parsed and saved
    in one transaction; ``ProfileError`` says what to fix. A new nightly sync time moves the
    scheduled jobs (``scheduler``: the app's) once saved."""
    saved = _save_training_profile(sessions, field, default_sync_time=default_sync_time)
    if saved.schedule_changed:
        schedule.apply_owner_schedule(scheduler)
    return saved


def _save_training_profile(
    sessions: sessionmaker[Session], field: Callable[[str], str], *, default_sync_time: str
) -> training_profile.Saved:
    with sessions.begin() as session:
        try:
            birth_year = int(field("birth_year")) if field("birth_year") else None
            ctl_days = int(field("ctl_days") or 42)
            atl_days = int(field("atl_days") or 7)
            since = date.fromisoformat(field("valid_from")) if field("valid_from") else None
        except ValueError as exc:
            raise training_profile.ProfileError(_("Some values are not numbers or dates.")) from exc
        return training_profile.save(
            session,
            today=owner_today(session),
            sex=field("sex") or None,
            birth_year=birth_year,
            hr_zone_model=field("hr_zone_model") or "lthr",
            units=field("units") or "metric",
            sync_time=_sync_time(session, field("sync_time"), default_sync_time),
            morning_time=_morning_time(session, field("morning_time")),
            ctl_days=ctl_days,
            atl_days=atl_days,
            tsb_variant=field("tsb_variant") or "yesterday",
            thresholds={kind: field(kind) for kind in THRESHOLD_KINDS},
            valid_from=since,
        )


def _sync_time(session: Session, posted: str, default: str) -> str | None:
    """The owner's own sync time; the default posted back unchanged stays "the default"."""
    owner = get_owner(session)
    if not posted or (posted == default and owner is not None and owner.sync_time is None):
        return None
    return posted


def _morning_time(session: Session, posted: str) -> str | None:
    """The owner's own morning decision time; the default posted back unchanged stays "the
    default"."""
    owner = get_owner(session)
    default = schedule.DEFAULT_MORNING_TIME
    if not posted or (posted == default and owner is not None and owner.morning_time is None):
        return None
    return posted


def save_wellness_sources(sessions: sessionmaker[Session], chosen: Mapping[str, str]) -> None:
    """The owner's source per wellness group; every day is re-resolved at once."""
    with sessions.begin() as session:
        origins.save_preference(session, chosen)
