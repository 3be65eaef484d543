"""Backups: one verified file in ``backups/`` holding everything needed to rebuild the install.

``domestique-YYYYMMDD-HHMMSS.tar`` (plain tar: the dump is already compressed, and FIT files
barely compress) with:

- ``db.dump`` — ``pg_dump --format=custom`` of the whole database. TimescaleDB hypertables dump
  as ordinary tables plus their catalog; a restore wraps ``pg_restore`` in
  ``timescaledb_pre_restore()`` / ``timescaledb_post_restore()``.
- ``raw/…`` — the raw store (every original file; the database can be rebuilt from it).
- ``secret.key`` — the key that encrypts stored credentials, when it lives in ``data/``
  (without it, restored Garmin/Strava/Oura tokens cannot be read). Keep backups as safe as the
  key: whoever has a backup can use the connections in it.
- ``metadata.json`` — app version, Alembic revision, PostgreSQL and TimescaleDB versions, row
  counts per table, and the SHA-256 and size of every other member.
- ``metadata.hmac`` — HMAC-SHA256 of ``metadata.json``'s bytes under a key derived (HKDF) from
  the install's secret key. Through the checksums it authenticates every member: a restore
  checks it before anything else, and a backup that does not verify with the current key (made
  elsewhere, under a lost key, or changed since) is restored only when the owner accepts that
  risk in so many words (``accept_unverified``) — only then does its ``secret.key`` replace ours.

Written to ``.partial``, fsynced, renamed; then verified by reading it back (every checksum, and
``pg_restore --list`` on the dump). Retention (keep the newest N daily, weekly and monthly
backups) prunes only after a new backup verified, and never touches a file it did not write.

A restore replaces the database, the raw store and the key under whoever uses them. The running
app restores in place (``in_running_app``: it has paused its work first, see
``app.services.work.maintenance``, and adopts the new key at the switch through ``on_switch``); any
other caller — ``domestique restore`` — runs only while no app uses the database: the app holds
a shared advisory lock for its lifetime (``app_presence``) and the command refuses
(``app_running``) instead of pulling the database from under it.

Size (~770 lines): making, verifying, pruning and restoring share the file's layout, its
metadata, the libpq environment and the locks (``one_at_a_time``, ``app_presence``) that keep a
backup and a restore apart; the seam for a later split is the restore (from ``RestoreResult``
on), once ``backups`` becomes a package.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import make_url

from app import __version__
from app.config import Settings
from app.db import roles
from app.db.extensions import create_timescaledb_for_restore, update_extensions
from app.db.locks import lock_key
from app.db.migrate import current_revision
from app.db.timescale import MANAGED_EXTENSIONS
from app.security.keys import (
    KEY_FILE_NAME,
    backup_signing_key,
    forget_previous_keys,
    load_master_key,
)

log = logging.getLogger(__name__)
PREFIX = "domestique-"
BUSY_LOCK = "domestique:backup-restore"
APP_LOCK = "domestique:app:"  # + the database's name: held (shared) while an app serves it
SUFFIX = ".tar"
CHUNK = 1024 * 1024
# metadata.json is read whole into memory: far more than the checksums of a million raw files,
# far less than a crafted member could make the app swallow.
METADATA_MAX_BYTES = 64 * 1024 * 1024
MAC_MEMBER = "metadata.hmac"
FORMAT_VERSION = 1


class BackupError(Exception):
    """A backup or its verification failed; ``code`` names why for the owner."""

    def __init__(self, message: str, *, code: str, **params: object) -> None:
        super().__init__(message)
        self.code, self.params = code, params


@dataclass(frozen=True)
class Retention:
    daily: int = 7
    weekly: int = 4
    monthly: int = 6

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        """The retention the owner configured (``DOMESTIQUE_BACKUP_KEEP_*``)."""
        return cls(
            settings.backup_keep_daily, settings.backup_keep_weekly, settings.backup_keep_monthly
        )


@dataclass
class BackupResult:
    path: Path
    size: int
    metadata: dict[str, Any]
    pruned: list[Path] = field(default_factory=list)


def _libpq(settings: Settings, *, admin: bool = False) -> tuple[str, dict[str, str]]:
    """The database as a libpq URI without the password, and the environment carrying it
    (so it never appears in a process list); with ``admin``, as the superuser."""
    url = make_url(roles.admin_url(settings) if admin else settings.database_url.get_secret_value())
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["?"]
        raise BackupError(f"{what} failed: {detail[0]}", code="backup_tool_failed", what=what)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def database_facts(settings: Settings) -> dict[str, Any]:
    """Versions, revision and row counts per table (what a restore compares)."""
    engine = create_engine(roles.admin_url(settings))
    try:
        with engine.connect() as connection:
            postgres = connection.execute(text("SHOW server_version")).scalar()
            timescale = connection.execute(
                text("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
            ).scalar()
            tables = sorted(inspect(connection).get_table_names())
            counts = {
                name: connection.execute(select(func.count()).select_from(table(name))).scalar_one()
                for name in tables
            }
        revision = current_revision(engine)
    finally:
        engine.dispose()
    return {
        "postgres": postgres,
        "timescaledb": timescale,
        "revision": revision,
        "row_counts": counts,
    }


def _raw_files(settings: Settings) -> Iterator[Path]:
    root = settings.raw_dir
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".incoming" not in path.relative_to(root).parts:
            yield path


def _add_file(archive: tarfile.TarFile, path: Path, name: str, checksums: dict) -> None:
    info = archive.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    digest = hashlib.sha256()

    class Hashing(io.RawIOBase):
        def __init__(self, handle) -> None:
            self.handle = handle

        def readinto(self, buffer) -> int:
            data = self.handle.read(len(buffer))
            digest.update(data)
            buffer[: len(data)] = data
            return len(data)

        def readable(self) -> bool:
            return True

    with path.open("rb") as handle:
        archive.addfile(info, io.BufferedReader(Hashing(handle), CHUNK))
    checksums[name] = {"sha256": digest.hexdigest(), "size": info.size}


def run_nightly_backup(settings: Settings) -> BackupResult:
    """The nightly backup (and *Back up now*) with the configured retention, after clearing
    what an interrupted one left; a failure raises, so the run is recorded as failed (the owner
    sees a banner) and older backups stay."""
    remove_leftovers(settings.backup_dir)
    return make_backup(settings, retention=Retention.from_settings(settings))


def backup_name(now: datetime) -> str:
    return f"{PREFIX}{now.strftime('%Y%m%d-%H%M%S')}{SUFFIX}"


@contextmanager
def one_at_a_time(settings: Settings) -> Iterator[None]:
    """One backup or restore at a time across processes (the app and ``domestique backup`` /
    ``restore``): a session advisory lock held on the server's ``postgres`` database, which a
    restore never renames. Raises ``BackupError("backup_busy")`` instead of waiting."""
    admin, _url = _admin(settings)
    try:
        with admin.connect() as connection:
            key = {"k": lock_key(BUSY_LOCK)}
            if not connection.execute(text("SELECT pg_try_advisory_lock(:k)"), key).scalar():
                raise BackupError("another backup or restore is running", code="backup_busy")
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), key)
    finally:
        admin.dispose()


def make_backup(
    settings: Settings,
    *,
    now: datetime | None = None,
    retention: Retention | None = None,
    progress: Callable[[str], None] | None = None,
    label: str = "",
) -> BackupResult:
    """Write, verify and (with ``retention``) prune. Raises ``BackupError``; a failed backup
    leaves no file behind and deletes nothing; one running elsewhere is ``backup_busy``."""
    with one_at_a_time(settings):
        return _write_backup(settings, now=now, retention=retention, progress=progress, label=label)


def _write_backup(
    settings: Settings,
    *,
    now: datetime | None,
    retention: Retention | None,
    progress: Callable[[str], None] | None,
    label: str,
) -> BackupResult:
    now = now or datetime.now(UTC)
    say = progress or (lambda step: None)
    folder = Path(settings.backup_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = backup_name(now)
    if label:
        name = name.replace(PREFIX, f"{PREFIX}{label}-")
    target = folder / name
    partial = folder / f".{name}.partial"
    conninfo, env = _libpq(settings, admin=True)
    try:
        with tempfile.TemporaryDirectory(dir=folder, prefix=".work-") as work:
            dump = Path(work) / "db.dump"
            say("dump")
            _run(
                ["pg_dump", "--format=custom", "--compress=6", f"--file={dump}", conninfo],
                env,
                "pg_dump",
            )
            facts = database_facts(settings)
            checksums: dict[str, dict[str, Any]] = {}
            say("archive")
            with tarfile.open(partial, "w") as archive:
                _add_file(archive, dump, "db.dump", checksums)
                key = Path(settings.data_dir) / KEY_FILE_NAME
                if key.is_file():
                    _add_file(archive, key, "secret.key", checksums)
                for path in _raw_files(settings):
                    relative = path.relative_to(settings.raw_dir).as_posix()
                    _add_file(archive, path, f"raw/{relative}", checksums)
                metadata = {
                    "format": FORMAT_VERSION,
                    "app_version": __version__,
                    "created_at": now.isoformat(),
                    **facts,
                    "members": checksums,
                }
                body = json.dumps(metadata, indent=1, sort_keys=True).encode()
                info = tarfile.TarInfo("metadata.json")
                info.size, info.mtime = len(body), int(now.timestamp())
                archive.addfile(info, io.BytesIO(body))
                mac = _sign(settings, body).encode()
                info = tarfile.TarInfo(MAC_MEMBER)
                info.size, info.mtime = len(mac), int(now.timestamp())
                archive.addfile(info, io.BytesIO(mac))
            with partial.open("rb") as handle:
                os.fsync(handle.fileno())
        os.replace(partial, target)
        _fsync_dir(folder)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise BackupError(str(error), code="backup_disk", error=str(error)) from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    say("verify")
    try:
        verify(target)
    except BackupError:
        target.unlink(missing_ok=True)
        raise
    # It holds the current key: the keys kept from before the last rotation can go.
    if settings.secret_key is None and forget_previous_keys(settings):
        log.info("removed the secret key kept from before the last rotation (a backup verified)")
    pruned = prune(folder, retention, keep=target) if retention else []
    return BackupResult(target, target.stat().st_size, metadata, pruned)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _open_tar(path: Path) -> tarfile.TarFile:
    """A backup is a plain tar: a compressed one (gzip, bz2, xz: a decompression bomb in
    waiting) is refused as unreadable, never inflated."""
    return tarfile.open(path, "r:")


def _sign(settings: Settings, body: bytes) -> str:
    return hmac.new(backup_signing_key(load_master_key(settings)), body, hashlib.sha256).hexdigest()


def is_authentic(settings: Settings, path: Path) -> bool:
    """Whether ``path``'s metadata carries a valid HMAC under this install's key (so every
    member, through its checksum, is as this install wrote it). False for a backup made under
    another key, one changed since, one written before backups were signed, or an unreadable
    one."""
    try:
        with _open_tar(path) as archive:
            body, mac = _member_bytes(archive, "metadata.json"), _member_bytes(archive, MAC_MEMBER)
    except (tarfile.TarError, KeyError, OSError, BackupError):
        return False
    return hmac.compare_digest(_sign(settings, body).encode(), mac.strip())


def _member_bytes(archive: tarfile.TarFile, name: str) -> bytes:
    member = archive.getmember(name)
    if not member.isfile() or member.size > METADATA_MAX_BYTES:
        raise BackupError(f"{name} is not a small file", code="backup_unreadable")
    handle = archive.extractfile(member)
    assert handle is not None
    return handle.read()


def read_metadata(path: Path) -> dict[str, Any]:
    try:
        with _open_tar(path) as archive:
            member = archive.getmember("metadata.json")
            if member.size > METADATA_MAX_BYTES:
                raise BackupError(
                    f"{path.name}: metadata.json has {member.size} bytes",
                    code="backup_member_too_large",
                    name="metadata.json",
                    limit_mb=METADATA_MAX_BYTES // (1024 * 1024),
                )
            handle = archive.extractfile(member)
            assert handle is not None
            return json.loads(handle.read())
    except (tarfile.TarError, KeyError, OSError, ValueError, AssertionError) as error:
        raise BackupError(f"{path.name}: {error}", code="backup_unreadable") from error


def verify(path: Path) -> dict[str, Any]:
    """Read the whole archive back: every member's checksum and size, and the dump's table of
    contents (``pg_restore --list``). Returns the metadata."""
    metadata = read_metadata(path)
    expected: dict[str, dict[str, Any]] = metadata.get("members", {})
    seen: set[str] = set()
    try:
        with (
            _open_tar(path) as archive,
            tempfile.TemporaryDirectory(dir=path.parent, prefix=".verify-") as work,
        ):
            for member in archive:
                if member.name in ("metadata.json", MAC_MEMBER):
                    continue
                if not member.isfile() or member.name not in expected:
                    raise BackupError(
                        f"unexpected member {member.name}", code="backup_corrupt", name=member.name
                    )
                if member.size != expected[member.name].get("size"):  # before reading a byte
                    raise BackupError(
                        f"{member.name} has {member.size} bytes, not the size the metadata says",
                        code="backup_corrupt",
                        name=member.name,
                    )
                handle = archive.extractfile(member)
                assert handle is not None
                digest = hashlib.sha256()
                sink = open(Path(work) / "db.dump", "wb") if member.name == "db.dump" else None  # noqa: SIM115
                try:
                    while chunk := handle.read(CHUNK):
                        digest.update(chunk)
                        if sink:
                            sink.write(chunk)
                finally:
                    if sink:
                        sink.close()
                want = expected[member.name]
                if digest.hexdigest() != want["sha256"] or member.size != want["size"]:
                    raise BackupError(
                        f"checksum mismatch in {member.name}",
                        code="backup_corrupt",
                        name=member.name,
                    )
                seen.add(member.name)
            missing = set(expected) - seen
            if missing:
                raise BackupError(
                    f"missing members: {sorted(missing)[:3]}",
                    code="backup_corrupt",
                    name=sorted(missing)[0],
                )
            _run(
                ["pg_restore", "--list", str(Path(work) / "db.dump")], {**os.environ}, "pg_restore"
            )
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupError(f"{path.name}: {error}", code="backup_corrupt", name=path.name) from error
    return metadata


def list_backups(folder: Path) -> list[Path]:
    """Our backup files, newest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.name.startswith(PREFIX) and p.name.endswith(SUFFIX)]
    return sorted(found, key=lambda p: p.name, reverse=True)


def _stamp(path: Path) -> datetime | None:
    try:
        return datetime.strptime(path.name[-len("YYYYMMDD-HHMMSS.tar") :][:15], "%Y%m%d-%H%M%S")
    except ValueError:
        return None


def prune(folder: Path, retention: Retention, *, keep: Path) -> list[Path]:
    """Keep the newest backup of each of the last ``daily`` days, ``weekly`` ISO weeks and
    ``monthly`` months (grandfather–father–son); delete the rest of our nightly files. Files
    with a label (safety backups before a restore, manual ones) are never pruned."""
    nightly = [p for p in list_backups(folder) if _stamp(p) and p.name.count("-") == 2]
    kept: set[Path] = {keep}
    for period, count in (
        (lambda d: d.date(), retention.daily),
        (lambda d: d.isocalendar()[:2], retention.weekly),
        (lambda d: (d.year, d.month), retention.monthly),
    ):
        buckets: list[Any] = []
        for path in nightly:  # newest first
            bucket = period(_stamp(path))
            if bucket in buckets:
                continue
            if len(buckets) >= count:
                break
            buckets.append(bucket)
            kept.add(path)
    removed = []
    for path in nightly:
        if path not in kept:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def remove_leftovers(folder: Path) -> None:
    """Partial files and work folders a killed backup left behind."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name.startswith(".") and (path.name.endswith(".partial") or "-" in path.name):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.name.endswith(".partial"):
                path.unlink(missing_ok=True)


def adopt_upload(settings: Settings, received: Path) -> Path:
    """A backup file the owner uploaded: verified, then kept as ``domestique-upload-…`` (never
    pruned). An unusable file is deleted and ``BackupError`` says why."""
    folder = Path(settings.backup_dir)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".upload-{received.name}.partial"
    try:
        shutil.move(str(received), partial)
        metadata = verify(partial)
        created = datetime.fromisoformat(metadata["created_at"])
        target = _keep_new(partial, folder, backup_name(created), "upload")
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    except (OSError, KeyError, ValueError) as error:
        partial.unlink(missing_ok=True)
        raise BackupError(str(error), code="backup_unreadable") from error
    return target


def _keep_new(partial: Path, folder: Path, name: str, label: str) -> Path:
    """Give ``partial`` its final name without ever replacing a file: ``created_at`` comes from
    the upload (forgeable), so a second file with the same time is kept as
    ``…-upload2-…``, ``…-upload3-…`` (a hard link fails when the name is taken)."""
    for n in range(1, 1000):
        tag = label if n == 1 else f"{label}{n}"
        target = folder / name.replace(PREFIX, f"{PREFIX}{tag}-")
        try:
            os.link(partial, target)
        except FileExistsError:
            continue
        partial.unlink()
        return target
    raise BackupError("too many uploads with the same time", code="backup_unreadable")


# --- restore -------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    before: dict[str, int]
    after: dict[str, int]
    safety_backup: Path | None
    previous_database: str
    warnings: list[str]
    switched: Switched | None = None


@dataclass(frozen=True)
class Switched:
    """What the switch changed, for a running app to adopt at once: whether the backup's key
    replaced ours, and the owner's session epoch before and after (the restored owner's epoch
    moves past both, so no session from the backup's time comes back; None: no owner)."""

    key_replaced: bool
    session_epoch_before: int | None
    session_epoch: int | None


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from app.db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    return {revision.revision for revision in script.walk_revisions()}


def check_restorable(metadata: dict[str, Any], facts: dict[str, Any] | None) -> list[str]:
    """Refuse what this code cannot read; warn about what the owner should know."""
    if metadata.get("format") != FORMAT_VERSION:
        raise BackupError("unknown backup format", code="backup_unreadable")
    revision = metadata.get("revision")
    if revision is not None and revision not in _known_revisions():
        raise BackupError(
            f"backup schema {revision} is newer than this version",
            code="backup_newer",
            version=metadata.get("app_version", "?"),
        )
    warnings = []
    ours, theirs = (facts or {}).get("timescaledb"), metadata.get("timescaledb")
    if ours and theirs and ours != theirs:
        warnings.append("timescaledb_mismatch")
    return warnings


def _admin(settings: Settings):
    """The superuser's engine on the server's ``postgres`` database, and the URL of ours."""
    url = make_url(roles.admin_url(settings))
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT"), url


def restore_backup(
    settings: Settings,
    path: Path,
    *,
    progress: Callable[[str], None] | None = None,
    on_switch: Callable[[Switched], None] | None = None,
    in_running_app: bool = False,
    accept_unverified: bool = False,
) -> RestoreResult:
    """Restore ``path`` into a fresh database and switch to it only when it is complete: a
    failure part-way leaves the current database and raw store as they were. A safety backup
    of the current state is written first (``domestique-safety-…``). Only one backup or restore
    runs at a time (``backup_busy``).

    ``in_running_app``: the app itself restores, its work paused; ``on_switch`` is called right
    after the database, raw store and key switched over (before the old database is dropped).
    Otherwise no app may be serving the database (``app_running``).

    A backup that ``is_authentic`` does not vouch for is refused (``backup_unverified``, before
    anything is read or changed) unless ``accept_unverified``: the owner has been told that its
    contents, key included, then replace ours unchecked."""
    if not accept_unverified and not is_authentic(settings, path):
        read_metadata(path)  # a damaged or foreign file says so first
        raise BackupError(f"{path.name} is not signed by this install", code="backup_unverified")
    app_stopped = nullcontext() if in_running_app else _no_app_running(settings)
    with one_at_a_time(settings), app_stopped:
        return _restore(settings, path, progress, on_switch)


def app_running(settings: Settings) -> bool:
    """Whether an app serves this database now (it holds ``app_presence``)."""
    admin, _url = _admin(settings)
    try:
        with admin.connect() as connection:
            key = {"k": _app_lock_key(settings)}
            free = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), key).scalar()
            if free:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), key)
            return not free
    finally:
        admin.dispose()


def _app_lock_key(settings: Settings) -> int:
    return lock_key(APP_LOCK + str(make_url(settings.database_url.get_secret_value()).database))


@contextmanager
def app_presence(settings: Settings) -> Iterator[None]:
    """Held by the running app for its lifetime: a shared advisory lock on the server's
    ``postgres`` database (released by the server if the process dies). A restore from the
    command line holding it exclusively is waited for, so the app starts on the restored data."""
    admin, _url = _admin(settings)
    try:
        with admin.connect() as connection:
            key = {"k": _app_lock_key(settings)}
            if not connection.execute(text("SELECT pg_try_advisory_lock_shared(:k)"), key).scalar():
                log.warning("a restore from the command line is running; starting after it")
                connection.execute(text("SELECT pg_advisory_lock_shared(:k)"), key)
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock_shared(:k)"), key)
    finally:
        admin.dispose()


@contextmanager
def _no_app_running(settings: Settings) -> Iterator[None]:
    """The app's presence lock, exclusively, for a restore from outside the app: refused
    (``app_running``) while the app serves the database, and an app starting meanwhile waits."""
    admin, _url = _admin(settings)
    try:
        with admin.connect() as connection:
            key = {"k": _app_lock_key(settings)}
            if not connection.execute(text("SELECT pg_try_advisory_lock(:k)"), key).scalar():
                raise BackupError("the app is running", code="app_running")
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), key)
    finally:
        admin.dispose()


def _session_epoch(url: str) -> int | None:
    """The owner's session epoch in the database at ``url`` (None: no owner, or no schema)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT session_epoch FROM owner")).scalar()
    except Exception:  # an empty or unreachable database has no owner
        return None
    finally:
        engine.dispose()


def _restore(
    settings: Settings,
    path: Path,
    progress: Callable[[str], None] | None,
    on_switch: Callable[[Switched], None] | None,
) -> RestoreResult:
    say = progress or (lambda step: None)
    say("verify")
    metadata = verify(path)
    try:
        facts: dict[str, Any] | None = database_facts(settings)
    except Exception:  # an empty or unreachable database has nothing to keep
        facts = None
    epoch_before = _session_epoch(settings.database_url.get_secret_value()) if facts else None
    warnings = check_restorable(metadata, facts)
    safety = None
    if facts and any(facts["row_counts"].values()):
        say("safety backup")
        safety = _write_backup(
            settings, now=None, retention=None, progress=None, label="safety"
        ).path
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    admin, url = _admin(settings)
    name = url.database
    fresh, previous = f"{name}_restore_{stamp}", f"{name}_before_{stamp}"
    role = _restore_role(settings)
    fresh_admin = url.set(database=fresh).render_as_string(hide_password=False)
    fresh_url = (
        roles.role_url(fresh_admin, *role)
        if role
        else make_url(settings.database_url.get_secret_value())
        .set(database=fresh)
        .render_as_string(hide_password=False)
    )
    fresh_settings = settings.model_copy(
        update={
            "database_url": type(settings.database_url)(fresh_url),
            "database_admin_url": type(settings.database_url)(fresh_admin),
        }
    )
    # pg_restore connects as the role, never as the superuser: a crafted dump's statements
    # (COPY … TO PROGRAM, a function in an untrusted language) are refused by the server.
    conninfo, env = _libpq(fresh_settings)
    raw_new = settings.raw_dir.with_name(f"raw.restore-{stamp}")
    switched = False
    try:
        with admin.connect() as connection:
            # From template0: the dump brings its own extensions, and TimescaleDB must be the
            # version the dump was made with, not whichever version template1 holds.
            connection.execute(text(f'CREATE DATABASE "{fresh}" TEMPLATE template0'))
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".restore-") as work:
            say("extract")
            with _open_tar(path) as archive:
                for member in archive:
                    if member.name == "db.dump":
                        archive.extract(member, work, filter="data")
                    elif member.name.startswith("raw/") or member.name == "secret.key":
                        archive.extract(member, Path(work) / "files", filter="data")
            dump = Path(work) / "db.dump"
            entries, extensions = _dump_entries(dump)
            create_timescaledb_for_restore(fresh_admin, metadata.get("timescaledb"))
            _prepare_for_restore(fresh_admin, role[0] if role else None, extensions)
            (Path(work) / "entries.list").write_text(entries, encoding="utf-8")
            say("restore database")
            _run(
                ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                 f"--use-list={Path(work) / 'entries.list'}", f"--dbname={conninfo}", str(dump)],
                env,
                "pg_restore",
            )  # fmt: skip
            _finish_restore(fresh_admin, role[0] if role else None)
            say("migrate")
            from app.db.migrate import upgrade

            # A backup from an older TimescaleDB was restored into that version: update it
            # (and any other extension the dump created behind the server's version).
            update_extensions(fresh_admin, [fresh])
            upgrade(fresh_settings.database_url.get_secret_value())
            epoch = _move_session_epoch(fresh_settings, epoch_before)
            files = Path(work) / "files"
            if (files / "raw").is_dir():
                shutil.move(str(files / "raw"), raw_new)
            else:
                raw_new.mkdir(parents=True)
            key = files / "secret.key"
            say("switch")
            with admin.connect() as connection:
                _swap_databases(connection, name, previous, fresh)
            switched = True
            if settings.raw_dir.exists():
                settings.raw_dir.rename(settings.raw_dir.with_name(f"raw.before-{stamp}"))
            raw_new.rename(settings.raw_dir)
            target_key = Path(settings.data_dir) / KEY_FILE_NAME
            key_replaced = key.is_file()
            if key_replaced:
                if target_key.is_file():
                    target_key.rename(target_key.with_name(f"{KEY_FILE_NAME}.before-{stamp}"))
                shutil.copy2(key, target_key)
    except BaseException:
        with admin.connect() as connection:
            if switched:  # put the old database, raw store and key back under their names
                _swap_databases(connection, name, fresh, previous)
                _put_back(settings.raw_dir, settings.raw_dir.with_name(f"raw.before-{stamp}"))
                target_key = Path(settings.data_dir) / KEY_FILE_NAME
                _put_back(target_key, target_key.with_name(f"{KEY_FILE_NAME}.before-{stamp}"))
            connection.execute(text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
        shutil.rmtree(raw_new, ignore_errors=True)
        admin.dispose()
        raise
    change = Switched(key_replaced, epoch_before, epoch)
    if on_switch is not None:
        try:
            on_switch(change)
        except Exception:  # the restore is done; the app must still end its maintenance
            log.exception("the running app could not adopt the restored state")
    try:  # the safety backup holds the previous state; the old database and raw store can go
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{previous}" WITH (FORCE)'))
        shutil.rmtree(settings.raw_dir.with_name(f"raw.before-{stamp}"), ignore_errors=True)
    except Exception:
        log.exception("could not remove the database %s kept from before the restore", previous)
    admin.dispose()
    after = database_facts(settings)["row_counts"]
    return RestoreResult(
        before=(facts or {}).get("row_counts", {}),
        after=after,
        safety_backup=safety,
        previous_database=previous,
        warnings=warnings,
        switched=change,
    )


def _restore_role(settings: Settings) -> tuple[str, str | None] | None:
    """(name, password) of the role that replays a dump: the app's own role (created now if
    this install never started), or None when the role is switched off or the configured user
    is not a superuser (then that user, which cannot run programs either, replays it)."""
    return roles.app_role(settings)


# Extension configuration tables whose rows a TimescaleDB dump carries (its catalog): the role
# may write them while the dump is replayed, and only then.
_TIMESCALE_CATALOG = ("_timescaledb_catalog", "_timescaledb_config")
_CHUNK_SCHEMAS = ("_timescaledb_internal",)


def _dump_entries(dump: Path) -> tuple[str, list[str]]:
    """The dump's table of contents without its extensions (and their comments), which the
    superuser creates before the role replays the rest; and the extensions it names that this
    app manages (any other one is left out, so what needs it fails)."""
    listing = subprocess.run(  # noqa: S603
        ["pg_restore", "--list", str(dump)],  # noqa: S607
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if listing.returncode != 0:
        raise BackupError("pg_restore --list failed", code="backup_tool_failed", what="pg_restore")
    kept, extensions = [], []
    for line in listing.stdout.splitlines():
        words = line.split()
        if len(words) >= 6 and words[3] == "EXTENSION" and words[4] == "-":
            if words[5] in MANAGED_EXTENSIONS:
                extensions.append(words[5])
            continue
        if len(words) >= 7 and words[3:6] == ["COMMENT", "-", "EXTENSION"]:
            continue
        kept.append(line)
    return "\n".join(kept) + "\n", extensions


def _prepare_for_restore(fresh_admin: str, role: str | None, extensions: list[str]) -> None:
    """As the superuser in the fresh database: the dump's extensions, the schema handed to the
    role, TimescaleDB's catalog writable by the role for the replay, restore mode on."""
    import psycopg
    from psycopg import sql

    from app.db.extensions import conninfo

    with psycopg.connect(conninfo(fresh_admin), autocommit=True) as connection:
        for name in extensions:  # names from MANAGED_EXTENSIONS only
            connection.execute(
                sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name))
            )
        if role is not None:
            who = sql.Identifier(role)
            database = make_url(fresh_admin).database
            connection.execute(
                sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                    sql.Identifier(database), who
                )
            )
            connection.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(who))
            for schema in _existing_schemas(connection, _CHUNK_SCHEMAS):  # the dump's chunks
                connection.execute(
                    sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(
                        sql.Identifier(schema), who
                    )
                )
            for schema in _existing_schemas(connection, _TIMESCALE_CATALOG):
                connection.execute(
                    sql.SQL(
                        "GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {0} TO {1}; "
                        "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {0} TO {1}"
                    ).format(sql.Identifier(schema), who)
                )
        if _existing_schemas(connection, ("_timescaledb_catalog",)):
            connection.execute("SELECT timescaledb_pre_restore()")


def _finish_restore(fresh_admin: str, role: str | None) -> None:
    """As the superuser after the replay: every TimescaleDB job runs as the role (a dump may
    name another owner, and a job runs as its owner), the catalog is read-only for the role
    again, restore mode off."""
    import psycopg
    from psycopg import sql

    from app.db.extensions import conninfo

    with psycopg.connect(conninfo(fresh_admin), autocommit=True) as connection:
        timescale = bool(_existing_schemas(connection, ("_timescaledb_catalog",)))
        if role is not None:
            who = sql.Identifier(role)
            if timescale:
                connection.execute(
                    sql.SQL(
                        "UPDATE _timescaledb_config.bgw_job SET owner = {0}::regrole "
                        "WHERE owner <> {0}::regrole"
                    ).format(sql.Literal(role))
                )
            for schema in _existing_schemas(connection, _CHUNK_SCHEMAS):
                connection.execute(
                    sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(
                        sql.Identifier(schema), who
                    )
                )
            for schema in _existing_schemas(connection, _TIMESCALE_CATALOG):
                connection.execute(
                    sql.SQL(
                        "REVOKE SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {0} FROM {1}; "
                        "REVOKE USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {0} FROM {1}"
                    ).format(sql.Identifier(schema), who)
                )
        if timescale:
            connection.execute("SELECT timescaledb_post_restore()")
    if role is not None:
        roles.hand_over(fresh_admin, role)


def _existing_schemas(connection, names: tuple[str, ...]) -> list[str]:
    rows = connection.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s) ORDER BY nspname", [list(names)]
    ).fetchall()
    return [row[0] for row in rows]


def _move_session_epoch(fresh_settings: Settings, before: int | None) -> int | None:
    """Move the restored owner's session epoch past the current and the restored one: every
    session from the backup's time stays ended (a running app carries its own sessions over)."""
    engine = create_engine(fresh_settings.database_url.get_secret_value())
    try:
        with engine.begin() as connection:
            return connection.execute(
                text(
                    "UPDATE owner SET session_epoch = GREATEST(session_epoch, :before) + 1 "
                    "RETURNING session_epoch"
                ),
                {"before": before if before is not None else 0},
            ).scalar()
    finally:
        engine.dispose()


def _swap_databases(connection, name: str, previous: str, fresh: str) -> None:
    """``name`` becomes ``previous`` and ``fresh`` becomes ``name``. New connections to ``name``
    are refused first and the open ones ended (waiting until they are gone), so an app still
    serving pages cannot slip a connection in between and make the rename fail; the database
    under ``name`` afterwards accepts connections. A failure leaves the names as they were."""
    connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
    renamed = False
    try:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        connection.execute(text(f'ALTER DATABASE "{name}" RENAME TO "{previous}"'))
        renamed = True
        connection.execute(text(f'ALTER DATABASE "{fresh}" RENAME TO "{name}"'))
    except BaseException:
        if renamed:
            connection.execute(text(f'ALTER DATABASE "{previous}" RENAME TO "{name}"'))
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        raise
    connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))


def _put_back(current: Path, kept: Path) -> None:
    """Undo ``current.rename(kept)`` (what took its place is removed)."""
    if not kept.exists():
        return
    if current.is_dir():
        shutil.rmtree(current, ignore_errors=True)
    else:
        current.unlink(missing_ok=True)
    kept.rename(current)
