"""What each import error or notice code means, in the owner's language.

Adapters raise ``SourceDataError(code=…, **params)`` or return ``Notice(code, params)``; items
store the code and params; this turns them into a sentence when a page or the CLI shows them,
in the reader's language. Every code says what happened and, where it helps, what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.i18n import _

_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    # Whole files
    "unknown_format": lambda p: _(
        "Not a file Domestique can read. Supported: FIT files, ZIPs of FIT files, the Garmin "
        "data export ZIP and the Apple Health export (export.zip or export.xml)."
    ),
    "too_large": lambda p: _(
        "The file is larger than the upload limit (%(limit_mb)s MB). Import it with the "
        "command line or raise DOMESTIQUE_MAX_UPLOAD_MB.",
        limit_mb=p.get("limit_mb", "?"),
    ),
    "raw_missing": lambda p: _(
        "The original file is missing from the data folder; upload it again."
    ),
    "unreadable": lambda p: _("The file could not be read from disk."),
    "internal": lambda p: _(
        "An unexpected error stopped this file (%(error)s). Nothing from it was stored; the "
        "logs have the details.",
        error=p.get("error", "?"),
    ),
    "not_activity": lambda p: _(
        "Skipped: a FIT file of type “%(kind)s”, not an activity.", kind=p.get("kind", "?")
    ),
    # FIT
    "not_fit": lambda p: _("Not a FIT file (the header is wrong); nothing was stored."),
    "fit_empty": lambda p: _("The FIT file holds no activity data; nothing was stored."),
    "fit_corrupt": lambda p: _(
        "The FIT file is damaged and nothing in it could be read; nothing was stored."
    ),
    "fit_crc_mismatch": lambda p: _(
        "The FIT file's checksum is wrong; its data looked sound and was kept."
    ),
    "fit_truncated": lambda p: _(
        "The FIT file is cut short; the %(records)s records before the cut were kept.",
        records=p.get("records", "?"),
    ),
    "fit_partial": lambda p: _(
        "The FIT file breaks part-way; the %(records)s records before the break were kept.",
        records=p.get("records", "?"),
    ),
    # Archives
    "zip_corrupt": lambda p: _("The ZIP archive is damaged or not a ZIP; nothing was stored."),
    "zip_empty": lambda p: _("The ZIP archive is empty."),
    "zip_bomb": lambda p: (
        _(
            "Refused: %(name)s inside the ZIP archive unpacks to more than %(limit_mb)s MB, the "
            "largest file Domestique reads from an archive. Nothing was stored.",
            name=p.get("name", "?"),
            limit_mb=p.get("limit_mb", "?"),
        )
        if p.get("limit") == "member"
        else _(
            "Refused: the ZIP archive unpacks to more than %(limit_mb)s MB or is compressed "
            "suspiciously well (a “ZIP bomb”). Nothing was stored.",
            limit_mb=p.get("limit_mb", "?"),
        )
    ),
    "zip_member_corrupt": lambda p: _(
        "A file inside the ZIP is damaged (%(name)s).", name=p.get("name", "?")
    ),
    "zip_unsafe_name": lambda p: _(
        "Skipped a file with an unsafe name inside the ZIP (%(name)s).", name=p.get("name", "?")
    ),
    "zip_encrypted": lambda p: _(
        "Skipped an encrypted file inside the ZIP (%(name)s).", name=p.get("name", "?")
    ),
    "zip_unsupported_method": lambda p: _(
        "Skipped %(name)s inside the ZIP: it uses a compression method Domestique cannot "
        "unpack. Re-create the ZIP with ordinary compression.",
        name=p.get("name", "?"),
    ),
    "zip_too_deep": lambda p: _(
        "Skipped %(name)s: ZIPs nested deeper than %(max_depth)s levels are not opened.",
        name=p.get("name", "?"),
        max_depth=p.get("max_depth", "?"),
    ),
    "zip_nested_corrupt": lambda p: _(
        "Skipped %(name)s: a ZIP inside the archive is damaged; the rest was imported.",
        name=p.get("name", "?"),
    ),
    "archive_skipped": lambda p: _(
        "Skipped %(name)s inside the ZIP: not a FIT file.", name=p.get("name", "?")
    ),
    # Garmin export
    "garmin_export_skipped": lambda p: (
        _(
            "Skipped %(count)s %(format)s files in the Garmin export: only FIT files carry the "
            "full recording.",
            count=p.get("count", "?"),
            format=p.get("format", "?"),
        )
        if p.get("reason") == "format"
        else _(
            "Skipped %(name)s in the Garmin export: it is larger than %(limit_mb)s MB.",
            name=p.get("name", "?"),
            limit_mb=p.get("limit_mb", "?"),
        )
        if p.get("reason") == "too_large"
        else _(
            "Skipped %(count)s activity summaries in %(name)s: they lack an id or a start time.",
            count=p.get("count", "?"),
            name=p.get("name", "?"),
        )
    ),
    "garmin_export_bad_json": lambda p: _(
        "A file in the Garmin export is not valid JSON and was skipped (%(name)s).",
        name=p.get("name", "?"),
    ),
    # Strava export
    "strava_export_bad_csv": lambda p: _(
        "The activities.csv file of the Strava export is missing, empty or not the file Strava "
        "writes (no Activity ID or Activity Date column); nothing was imported. Request a new "
        "archive from Strava."
    ),
    "strava_export_rows_skipped": lambda p: (
        _(
            "Skipped %(count)s rows of activities.csv in the Strava export: their date could "
            "not be read. Set Strava's language to English, request the archive again and "
            "import it; what was imported already is not doubled.",
            count=p.get("count", "?"),
        )
        if p.get("reason") == "date"
        else _(
            "Skipped %(count)s rows of activities.csv in the Strava export: they have no "
            "activity id.",
            count=p.get("count", "?"),
        )
    ),
    "strava_export_distance_km": lambda p: _(
        "This Strava export gives distances in a single column without a unit; they were read "
        "as kilometres. If your Strava account uses miles, the distances are too short."
    ),
    "strava_export_file_missing": lambda p: _(
        "%(count)s activities listed in the Strava export have no file in it (the first is "
        "%(name)s); their summaries from activities.csv were imported, without samples.",
        count=p.get("count", "?"),
        name=p.get("name", "?"),
    ),
    "strava_export_file_unreadable": lambda p: _(
        "%(name)s in the Strava export could not be read; the activity's summary from "
        "activities.csv was imported instead, without samples.",
        name=p.get("name", "?"),
    ),
    "strava_export_file_skipped": lambda p: (
        _(
            "Skipped %(name)s in the Strava export: it is larger than %(limit_mb)s MB once "
            "unpacked. The activity's summary from activities.csv was imported instead.",
            name=p.get("name", "?"),
            limit_mb=p.get("limit_mb", "?"),
        )
        if p.get("reason") == "too_large"
        else _(
            "Skipped %(name)s in the Strava export: Domestique cannot read %(format)s files. "
            "The activity's summary from activities.csv was imported instead.",
            name=p.get("name", "?"),
            format=p.get("format", "?"),
        )
    ),
    "strava_export_tcx_summary": lambda p: _(
        "Domestique cannot read TCX files yet: %(name)s was kept with your originals and the "
        "activity's summary from activities.csv was imported, without samples.",
        name=p.get("name", "?"),
    ),
    # Apple Health
    "apple_health_not_export": lambda p: _(
        "This XML file is not an Apple Health export (no HealthData element)."
    ),
    "xml_malformed": lambda p: _(
        "The XML is malformed near line %(line)s; nothing from this file was stored. Export "
        "again from the Health app.",
        line=p.get("line", "?"),
    ),
    "xml_entities": lambda p: _(
        "Refused: the XML defines entities (a known attack); nothing was stored."
    ),
    "apple_health_skipped_types": lambda p: _(
        "%(records)s records of %(types)s types Domestique does not use yet were skipped.",
        records=p.get("records", "?"),
        types=p.get("types", "?"),
    ),
    "apple_health_invalid_records": lambda p: _(
        "%(records)s records were skipped: a value that is not a number, an unknown unit or a "
        "date without a time zone.",
        records=p.get("records", "?"),
    ),
    "apple_health_routes_missing": lambda p: _(
        "%(routes)s workout routes named in the export are missing from it; the workouts were "
        "kept without a map.",
        routes=p.get("routes", "?"),
    ),
    "apple_health_routes_unreadable": lambda p: _(
        "%(routes)s workout routes could not be read; the workouts were kept without a map.",
        routes=p.get("routes", "?"),
    ),
    "gpx_invalid": lambda p: _("The GPX route is not valid XML."),
    # Garmin Connect
    "garmin_bad_payload": lambda p: _(
        "Garmin Connect sent an answer Domestique cannot read; it will be tried again at the "
        "next sync."
    ),
    "garmin_not_found": lambda p: _("Garmin Connect no longer has this item."),
    "garmin_bad_request": lambda p: _(
        "Garmin Connect refused the request; it will be tried again at the next sync."
    ),
    "rate_limited": lambda p: _(
        "%(source)s asked Domestique to slow down; syncing pauses and resumes by itself.",
        source=p.get("source", "Garmin Connect"),
    ),
    "auth_expired": lambda p: _(
        "%(source)s no longer accepts the saved sign-in. Reconnect on the Connections page.",
        source=p.get("source", "Garmin Connect"),
    ),
    # Strava
    "strava_bad_payload": lambda p: _(
        "Strava sent an answer Domestique cannot read; it will be tried again at the next sync."
    ),
    "strava_not_found": lambda p: _("Strava no longer has this item."),
    "strava_bad_request": lambda p: _(
        "Strava refused the request; it will be tried again at the next sync."
    ),
    "strava_app_inactive": lambda p: _(
        "Strava refuses your API application: the account that owns it has no Strava "
        "subscription, or the app reached its athlete limit. Nothing was imported or uploaded. "
        "Subscribe or reactivate the app at strava.com/settings/api, then reconnect on the "
        "Connections page."
    ),
    "strava_upload_failed": lambda p: _(
        "Strava could not read the uploaded file: %(detail)s",
        detail=p.get("detail", "?"),
    ),
    "strava_upload_duplicate": lambda p: _(
        "Strava already has this activity; it was linked instead of uploaded again."
    ),
    "strava_upload_no_file": lambda p: _(
        "This activity has no original FIT file to upload (only files from the watch, Garmin "
        "Connect or an import can be uploaded)."
    ),
    "strava_read_scope_missing": lambda p: _(
        "Strava was connected without access to your activities, so there is nothing to import. "
        "Connect again and leave \u201cView data about your activities\u201d checked."
    ),
    "strava_write_scope_missing": lambda p: _(
        "Strava did not allow Domestique to upload activities. Reconnect Strava and leave "
        "\u201cUpload your activities\u201d checked."
    ),
    "strava_upload_timeout": lambda p: _(
        "Strava was still processing the upload after an hour; retry it later."
    ),
    # Oura
    "oura_bad_payload": lambda p: _(
        "Oura sent an answer Domestique cannot read; it will be tried again at the next sync."
    ),
    "oura_bad_request": lambda p: _(
        "Oura refused the request; it will be tried again at the next sync."
    ),
    "oura_upgrade_required": lambda p: _(
        "Oura shares data only after the Oura app on your phone is updated. Nothing was "
        "imported; update the app, open it once, then sync again."
    ),
    "oura_membership_required": lambda p: _(
        "Oura shares your data only with an active Oura membership. Nothing was imported; "
        "renew it in the Oura app, then sync again."
    ),
    "oura_token_rejected": lambda p: _(
        "Oura no longer accepts the saved sign-in. Reconnect Oura on the Connections page."
    ),
    "oura_scope_missing": lambda p: _(
        "Oura did not allow access to %(scope)s data. Reconnect Oura on the Connections page "
        "and allow every permission it asks for.",
        scope=p.get("scope", "?"),
    ),
    "oura_refresh_rejected": lambda p: _(
        "Oura refused to renew the sign-in (it was already used or was revoked). Reconnect "
        "Oura on the Connections page."
    ),
    "oura_code_rejected": lambda p: _(
        "Oura did not accept the connection. Check your Oura application's client ID, secret "
        "and redirect URL, then connect again."
    ),
    "oura_personal_token_rejected": lambda p: _(
        "Oura no longer accepts the personal access token. Connect with your own Oura "
        "application on the Connections page."
    ),
    "oura_not_connected": lambda p: _(
        "Oura is not connected, or the saved sign-in cannot be read. Connect Oura on the "
        "Connections page."
    ),
    # Connecting and syncing
    "app_credentials_missing": lambda p: _(
        "Enter your application's client ID and client secret first."
    ),
    "strava_client_id_invalid": lambda p: _(
        "A Strava client ID is a number (shown on strava.com/settings/api)."
    ),
    "oauth_state_invalid": lambda p: _(
        "This connection attempt expired or did not start here. Press Connect again."
    ),
    "oauth_denied": lambda p: _(
        "%(source)s access was not granted, so nothing was connected.",
        source=p.get("source", "?"),
    ),
    "oauth_code_rejected": lambda p: _(
        "%(source)s did not accept the connection. Check the client ID, the client secret and "
        "the callback address of your application, then connect again.",
        source=p.get("source", "?"),
    ),
    "oauth_unreachable": lambda p: _(
        "%(source)s could not be reached to finish connecting. Try again in a few minutes.",
        source=p.get("source", "?"),
    ),
    "personal_token_missing": lambda p: _("Paste the personal access token first."),
    "login_refused": lambda p: _(
        "Garmin Connect did not accept the email or password. Check them and try again."
    ),
    "login_rate_limited": lambda p: _(
        "Garmin Connect is refusing sign-ins for this account for now (too many attempts). "
        "Domestique will not try again before %(until)s; trying sooner only extends the block.",
        until=p.get("until", "?"),
    ),
    "login_cooldown": lambda p: _(
        "Signing in waits until %(until)s because Garmin Connect refused recent attempts; "
        "trying sooner only extends the block.",
        until=p.get("until", "?"),
    ),
    "login_failed": lambda p: _("The sign-in failed unexpectedly; the logs have the details."),
    "sign_in_running": lambda p: _("A sign-in is already under way; wait for it to finish."),
    "mfa_rejected": lambda p: _(
        "That code was not accepted. Enter the newest code Garmin sent you."
    ),
    "mfa_expired": lambda p: _("The sign-in expired before the code was entered. Start again."),
    "mfa_code_missing": lambda p: _("Enter the code Garmin sent you."),
    "credentials_missing": lambda p: _("Enter the email and password of your Garmin account."),
    "source_unavailable": lambda p: _(
        "%(source)s could not be reached or had an error. Nothing was lost; the next sync "
        "tries again.",
        source=p.get("source", "Garmin Connect"),
    ),
    "sync_failed": lambda p: _(
        "The sync stopped on an unexpected error. Nothing was lost; the next sync tries again."
    ),
    "sync_busy": lambda p: _("A sync of this source is already running."),
    "not_connected": lambda p: _("This source is not connected."),
    "paused": lambda p: _("The history download is paused. Resume it when you like."),
    "sign_in_interrupted": lambda p: _(
        "The sign-in was cut short when Domestique restarted. Sign in again."
    ),
    # Backups
    "backup_tool_failed": lambda p: _(
        "%(what)s failed, so no backup was written; older backups are untouched. The logs have "
        "the details.",
        what=p.get("what", "?"),
    ),
    "backup_busy": lambda p: _(
        "Another backup or restore is running (perhaps from the command line). Try again when "
        "it has finished; nothing was changed."
    ),
    "app_running": lambda p: _(
        "Domestique is running and using this database, so nothing was changed. Restore from "
        "Settings → Backups, or stop the app first (`docker compose stop app`) and run the "
        "restore again."
    ),
    "backup_disk": lambda p: _(
        "The backup could not be written (%(error)s) — often a full disk. Nothing was deleted; "
        "free some space in the backups folder and try again.",
        error=p.get("error", "?"),
    ),
    "backup_corrupt": lambda p: _(
        "The backup file is damaged (%(name)s does not match its checksum or is missing). Use "
        "another backup.",
        name=p.get("name", "?"),
    ),
    "backup_member_too_large": lambda p: _(
        "The backup's %(name)s is larger than %(limit_mb)s MB, more than a Domestique backup "
        "ever holds; it was not read. Nothing was changed.",
        name=p.get("name", "?"),
        limit_mb=p.get("limit_mb", "?"),
    ),
    "backup_unverified": lambda p: _(
        "This backup was not made with this installation's secret key, or it was changed since. "
        "Nothing was changed. Restore it only if you made it yourself, and confirm that risk "
        "explicitly (Settings → Backups asks a second time; on the command line add "
        "`--accept-unverified`)."
    ),
    "backup_unreadable": lambda p: _(
        "This is not a Domestique backup, or it is cut short. Nothing was changed."
    ),
    "backup_newer": lambda p: _(
        "This backup comes from a newer Domestique (%(version)s). Upgrade first, then restore "
        "it. Nothing was changed.",
        version=p.get("version", "?"),
    ),
    "timescaledb_mismatch": lambda p: _(
        "The backup was made with another TimescaleDB version. It was restored; if pages show "
        "errors, run `ALTER EXTENSION timescaledb UPDATE` in the database (see the README)."
    ),
    "interrupted": lambda p: _(
        "The sync stopped because Domestique was shutting down or restoring a backup; it "
        "resumes by itself."
    ),
    "work_interrupted": lambda p: _(
        "It was cut short when Domestique stopped before it finished; try it again."
    ),
}


def describe(code: str | None, params: dict[str, Any] | None = None) -> str:
    """The owner-facing sentence for ``code`` (a generic one for codes this build lacks)."""
    if code is None:
        return ""
    render = _MESSAGES.get(code)
    if render is None:
        return _("The file could not be imported (%(code)s).", code=code)
    return render(params or {})


def known_codes() -> set[str]:
    return set(_MESSAGES)
