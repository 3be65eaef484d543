"""Uploading activities to Strava: the watch's original FIT file, one row per activity in
``strava_upload`` saying where it stands.

- **What is uploaded**: with auto-upload on (Connections → Strava), every activity *imported
  after it was turned on* that has an original FIT file (from the watch through Garmin Connect,
  a FIT import or Garmin's export) and that Strava does not already have (no Strava source). The
  history is never uploaded by itself; any one activity can be uploaded from its page.
- **Duplicates**: the ``external_id`` is ``domestique-<sha256 of the file, 16 hex>``, the same
  for the same file whoever uploads it; Strava answers a file it already has with "duplicate of
  activity N", which links the activity to N instead of failing.
- **Polling**: Strava reads a file in seconds to a minute. ``process`` uploads what is queued,
  then checks the uploads in progress a few times ``poll_s`` apart; what is still processing is
  checked at the next pass (the runner schedules one a minute later) and fails as
  ``strava_upload_timeout`` after ``PROCESSING_TIMEOUT``.
- **Limits**: uploads count against Strava's overall rate limits, status checks against the
  read limits too. A window 90 % used (or a 429) leaves the rest queued; the runner passes again
  when the window resets. Nothing here sleeps longer than ``poll_s``.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.models import Activity, ActivitySource, Connection, RawFile, StravaUpload
from app.security.redaction import redact_error
from app.services import raw_store
from app.services.imports import store
from app.services.sync import connections
from app.sources import SourceAuthError, SourceError, SourceRateLimited, SourceUnavailable

log = logging.getLogger(__name__)

PROCESSING_TIMEOUT = timedelta(hours=1)
STRAVA_SOURCES = ("strava", "strava_export")
FIT_KINDS = ("fit", "garmin_original")
MAX_ATTEMPTS = 5  # network failures before an upload is marked failed
ACTIVE = ("queued", "processing")
PAUSE_AT = 0.9  # share of a rate-limit window at which uploads stop until it resets


# An activity recorded more than this before auto-upload was switched on is history, however
# recently it was stored (a Garmin backfill, an imported archive).
RECENT_SLACK = timedelta(days=2)


@dataclass(frozen=True)
class UploadOptions:
    auto_upload: bool
    after_id: int | None  # activities stored after this one are new…
    since: datetime | None  # …and recorded after this (minus RECENT_SLACK)
    can_upload: bool  # Strava granted activity:write


def options(session: Session) -> UploadOptions:
    connection = session.get(Connection, "strava")
    stored = (connection.options or {}) if connection else {}
    after, since = stored.get("auto_upload_after_id"), stored.get("auto_upload_since")
    return UploadOptions(
        bool(stored.get("auto_upload")),
        int(after) if after is not None else None,
        datetime.fromisoformat(since) if since else None,
        stored.get("can_upload", True) is not False,
    )


def set_auto_upload(session: Session, on: bool, now: datetime) -> None:
    """Turn auto-upload on or off. "New" means stored from now on (ids only grow, unlike
    timestamps, which a long import transaction would date from its start) *and* recorded no
    earlier than two days before now: a history download that runs later is not uploaded."""
    connection = connections.get_connection(session, "strava")
    stored = dict(connection.options or {})
    if on and not stored.get("auto_upload"):
        newest = session.execute(select(func.max(Activity.id))).scalar()
        stored["auto_upload_after_id"] = int(newest or 0)
        stored["auto_upload_since"] = now.isoformat()
    stored["auto_upload"] = on
    connection.options = stored
    session.flush()


def set_granted_scope(session: Session, scope: str | None) -> None:
    """Remember whether the owner let Domestique upload (Strava's approval page lets them
    untick it); uploads then fail with a sentence saying so instead of a refused token."""
    connection = connections.get_connection(session, "strava")
    granted = set((scope or "").replace(" ", ",").split(","))
    connection.options = {**(connection.options or {}), "can_upload": "activity:write" in granted}
    session.flush()


def _has_strava(activity_id) -> object:
    return exists(
        select(ActivitySource.id).where(
            ActivitySource.activity_id == activity_id, ActivitySource.source.in_(STRAVA_SOURCES)
        )
    )


def _fit_source(activity_id) -> object:
    return exists(
        select(ActivitySource.id)
        .join(RawFile, RawFile.id == ActivitySource.raw_file_id)
        .where(ActivitySource.activity_id == activity_id, RawFile.kind.in_(FIT_KINDS))
    )


def queue_new(session: Session) -> int:
    """Queue every activity auto-upload covers that has no upload row yet; returns how many."""
    chosen = options(session)
    if not chosen.auto_upload or chosen.after_id is None or chosen.since is None:
        return 0
    connection = session.get(Connection, "strava")
    if connection is None or connection.status != "connected":
        return 0
    ids = (
        session.execute(
            select(Activity.id).where(
                Activity.id > chosen.after_id,
                Activity.start_time >= chosen.since - RECENT_SLACK,
                Activity.multisport_index.is_(None),
                ~_has_strava(Activity.id),
                _fit_source(Activity.id),
                ~exists(
                    select(StravaUpload.activity_id).where(StravaUpload.activity_id == Activity.id)
                ),
            )
        )
        .scalars()
        .all()
    )
    for activity_id in ids:
        _queue(session, activity_id)
    return len(ids)


def _queue(session: Session, activity_id: int) -> None:
    session.execute(
        pg_insert(StravaUpload)
        .values(activity_id=activity_id, status="queued", external_id="", attempts=0)
        .on_conflict_do_update(
            index_elements=["activity_id"],
            set_={
                "status": "queued",
                "error_code": None,
                "error_detail": None,
                "attempts": 0,
                "upload_id": None,
                "next_check_at": None,
            },
        )
    )


def request_upload(session: Session, activity_id: int) -> str | None:
    """The owner asked for this activity (or a retry): queue it, or say why it cannot go."""
    if session.get(Activity, activity_id) is None:
        return "not_found"
    row = session.get(StravaUpload, activity_id)
    if row is not None and row.status in ACTIVE:
        return None
    if row is not None and row.status in ("done", "duplicate"):
        return None
    if session.execute(select(_has_strava(activity_id))).scalar():
        return "strava_upload_duplicate"
    if not session.execute(select(_fit_source(activity_id))).scalar():
        return "strava_upload_no_file"
    _queue(session, activity_id)
    session.flush()
    return None


def original_fit(session: Session, settings: Settings, activity_id: int) -> bytes | None:
    """The activity's original FIT file: a FIT import as it was, or the FIT inside Garmin's
    "original" ZIP. None when the activity has neither."""
    raws = session.execute(
        select(RawFile)
        .join(ActivitySource, ActivitySource.raw_file_id == RawFile.id)
        .where(ActivitySource.activity_id == activity_id, RawFile.kind.in_(FIT_KINDS))
        .order_by(RawFile.id)
    ).scalars()
    for raw in raws:
        path = raw_store.raw_path(settings, raw)
        if path is None or not path.is_file():
            continue  # outside the raw store, or gone: not an original to upload
        data = path.read_bytes()
        if raw.kind == "fit":
            return data
        try:
            with zipfile.ZipFile(BytesIO(data)) as archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".fit")]
                if len(names) == 1 and archive.getinfo(names[0]).file_size < 256 * 1024 * 1024:
                    return archive.read(names[0])
        except zipfile.BadZipFile:
            if data[8:12] == b".FIT":
                return data
    return None


class Uploader:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        client,  # StravaClient (or anything with upload / upload_status / rate_limits)
        *,
        now: Callable[[], datetime],
        sleep: Callable[[float], None],
        poll_s: float = 3.0,
        polls: int = 10,
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.sessions, self.settings, self.client = sessions, settings, client
        self.now, self.sleep, self.poll_s, self.polls = now, sleep, poll_s, polls
        self.stop = stop  # asked between uploads and checks: the rest waits for the next pass

    def process(self) -> dict[str, int]:
        """Upload what is queued, then poll what is processing. Returns counts by outcome;
        ``pending`` > 0 means another pass is needed (still processing, or rate limited)."""
        counts: dict[str, int] = {}
        try:
            for activity_id in self._ids("queued"):
                if self.stop():
                    break
                self._upload(activity_id, counts)
            for attempt in range(self.polls):
                waiting = self._ids("processing")
                if not waiting or self.stop():
                    break
                if attempt:
                    self.sleep(self.poll_s)
                for activity_id in waiting:
                    self._check(activity_id, counts)
        except SourceRateLimited as limited:
            counts["rate_limited"] = counts.get("rate_limited", 0) + 1
            counts["retry_after_s"] = int(limited.retry_after or 900)
        except SourceAuthError as error:
            code = getattr(error, "code", None) or "auth_expired"
            with self.sessions.begin() as session:
                connections.mark_needs_reconnect(session, "strava", code)
            counts["auth"] = 1
        with self.sessions() as session:
            counts["pending"] = session.execute(
                select(func.count()).where(StravaUpload.status.in_(ACTIVE))
            ).scalar_one()
        return counts

    def _ids(self, status: str) -> list[int]:
        with self.sessions() as session:
            return list(
                session.execute(
                    select(StravaUpload.activity_id)
                    .where(StravaUpload.status == status)
                    .order_by(StravaUpload.activity_id)
                ).scalars()
            )

    def _set(self, activity_id: int, **values) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(StravaUpload).where(StravaUpload.activity_id == activity_id).values(**values)
            )

    def _connected(self) -> UploadOptions | None:
        """The upload options while Strava is still connected (the owner may disconnect
        while a pass runs: the rest then waits for the next connection)."""
        with self.sessions() as session:
            connection = session.get(Connection, "strava")
            if connection is None or connection.status != "connected":
                return None
            return options(session)

    def _pace(self, *, read: bool) -> None:
        """Stop before a rate-limit window is used up (uploads count in the overall windows,
        status checks in the read windows too); the runner passes again when it resets."""
        limits = self.client.rate_limits()
        wait = limits.pause_s(self.now(), share=PAUSE_AT, read=read) if limits else 0.0
        if wait > 0:
            raise SourceRateLimited("a Strava rate-limit window is almost used", retry_after=wait)

    def _upload(self, activity_id: int, counts: dict[str, int]) -> None:
        self._pace(read=False)
        chosen = self._connected()
        if chosen is None:
            return
        if not chosen.can_upload:
            self._set(activity_id, status="failed", error_code="strava_write_scope_missing")
            counts["failed"] = counts.get("failed", 0) + 1
            return
        with self.sessions() as session:
            activity = session.get(Activity, activity_id)
            data = original_fit(session, self.settings, activity_id) if activity else None
            name = activity.name if activity else None
        if data is None:
            self._set(activity_id, status="failed", error_code="strava_upload_no_file")
            counts["failed"] = counts.get("failed", 0) + 1
            return
        external_id = f"domestique-{hashlib.sha256(data).hexdigest()[:16]}"
        try:
            upload_id = self.client.upload(data, external_id=external_id, name=name)
        except SourceUnavailable as error:
            self._failed_attempt(activity_id, error, counts)
            return
        except (SourceRateLimited, SourceAuthError):
            raise
        except SourceError as error:
            self._set(
                activity_id,
                status="failed",
                external_id=external_id,
                error_code=_code(error),
                error_detail=redact_error(error)[:500],
            )
            counts["failed"] = counts.get("failed", 0) + 1
            return
        self._set(
            activity_id,
            status="processing",
            external_id=external_id,
            upload_id=upload_id,
            next_check_at=self.now() + PROCESSING_TIMEOUT,
            attempts=StravaUpload.attempts + 1,
        )
        counts["uploaded"] = counts.get("uploaded", 0) + 1

    def _failed_attempt(self, activity_id: int, error: Exception, counts: dict[str, int]) -> None:
        with self.sessions.begin() as session:
            row = session.get_one(StravaUpload, activity_id)
            row.attempts += 1
            if row.attempts >= MAX_ATTEMPTS:
                row.status, row.error_code = "failed", "source_unavailable"
                row.error_detail = redact_error(error)[:500]
        counts["retry"] = counts.get("retry", 0) + 1

    def _check(self, activity_id: int, counts: dict[str, int]) -> None:
        self._pace(read=True)
        if self._connected() is None:
            return
        with self.sessions() as session:
            row = session.get_one(StravaUpload, activity_id)
            upload_id, deadline = row.upload_id, row.next_check_at
        try:
            status = self.client.upload_status(upload_id)
        except SourceUnavailable:
            return  # checked again at the next pass
        except (SourceRateLimited, SourceAuthError):
            raise
        except SourceError as error:
            self._set(
                activity_id,
                status="failed",
                error_code=_code(error),
                error_detail=redact_error(error)[:500],
            )
            counts["failed"] = counts.get("failed", 0) + 1
            return
        if status.activity_id is not None:
            self._finish(activity_id, "done", status.activity_id)
            counts["done"] = counts.get("done", 0) + 1
        elif status.duplicate_of is not None:
            self._finish(activity_id, "duplicate", status.duplicate_of)
            counts["duplicate"] = counts.get("duplicate", 0) + 1
        elif status.error is not None:
            self._set(
                activity_id,
                status="failed",
                error_code="strava_upload_failed",
                error_detail=status.error[:500],
            )
            counts["failed"] = counts.get("failed", 0) + 1
        elif deadline is not None and self.now() >= deadline:
            self._set(activity_id, status="failed", error_code="strava_upload_timeout")
            counts["failed"] = counts.get("failed", 0) + 1

    def _finish(self, activity_id: int, status: str, strava_id: int) -> None:
        """Done (or Strava had it already): the activity gains its Strava source."""
        with self.sessions.begin() as session:
            session.execute(
                update(StravaUpload)
                .where(StravaUpload.activity_id == activity_id)
                .values(
                    status=status,
                    strava_activity_id=strava_id,
                    error_code=None,
                    error_detail=None,
                    next_check_at=None,
                )
            )
            store.link_source(
                session,
                activity_id,
                source="strava",
                key=str(strava_id),
                external_id=str(strava_id),
                raw_file_id=None,
            )


def _code(error: SourceError) -> str:
    code = getattr(error, "code", None)
    if code == "strava_bad_request" or code is None:
        return "strava_upload_failed"
    return str(code)


@dataclass(frozen=True)
class ActivityStrava:
    """What an activity's page says about Strava."""

    connected: bool
    upload: StravaUpload | None
    on_strava: bool  # Strava has it (linked by a sync, the export or an upload)
    uploadable: bool  # it has an original FIT file


def activity_status(session: Session, activity_id: int) -> ActivityStrava:
    connection = session.get(Connection, "strava")
    return ActivityStrava(
        connected=connection is not None and connection.status == "connected",
        upload=session.get(StravaUpload, activity_id),
        on_strava=bool(session.execute(select(_has_strava(activity_id))).scalar()),
        uploadable=bool(session.execute(select(_fit_source(activity_id))).scalar()),
    )


def summary(session: Session) -> dict[str, int]:
    """How many uploads are in each state (the Connections page)."""
    return dict(
        session.execute(
            select(StravaUpload.status, func.count()).group_by(StravaUpload.status)
        ).all()
    )


def ask_upload(sessions: sessionmaker[Session], runner, activity_id: int) -> str | None:
    """Upload one activity to Strava (or retry a failed upload) on the background-work runner;
    the refusal code, or ``None`` when it is queued."""
    with sessions.begin() as session:
        refused = request_upload(session, activity_id)
    if refused is None:
        runner.submit_uploads()
    return refused
