"""The FastAPI application: ``create_app()`` wires settings, database, scheduler and routes."""

from __future__ import annotations

import logging
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app import __version__
from app.config import Settings, get_settings
from app.db import make_engine, make_session_factory
from app.db.roles import as_app_role
from app.jobs import registry as default_registry
from app.jobs.coach import audit_purge_job, morning_decision_job
from app.jobs.missions import mission_clock_job
from app.jobs.missions import tick as mission_clock_tick
from app.jobs.nightly import nightly_backup_job, nightly_sync_job
from app.jobs.registry import JobRegistry
from app.jobs.scheduler import Scheduler, owner_schedule
from app.security.keys import SecretBox, load_master_key, previous_keys, session_signing_key
from app.services import backups as backup_service
from app.services.backups import Switched
from app.services.coach import library as library_service
from app.services.coach.llm import SYSTEM_CLOCK
from app.services.imports.runner import ImportRunner
from app.services.owner import account
from app.services.sync.adapters import SyncSource, default_sources
from app.services.work.maintenance import Maintenance
from app.services.work.runner import WorkRunner
from app.web.gate import OwnerGateMiddleware
from app.web.headers import SecurityHeadersMiddleware
from app.web.hosts import HostAllowlistMiddleware, allowed_hosts
from app.web.limits import BodySizeLimitMiddleware
from app.web.middleware import CrossOriginProtectionMiddleware, RequestContextMiddleware
from app.web.routes import (
    activities,
    auth,
    backups,
    coach,
    connections,
    imports,
    insights,
    pages,
    system,
    wellness,
)
from app.web.routes import calendar as calendar_routes
from app.web.routes import missions as missions_routes
from app.web.routes import settings as settings_routes
from app.web.sessions import OwnerSessionMiddleware, SessionSigning
from app.web.throttle import LoginThrottle, SlidingWindowLimiter

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
SESSION_COOKIE = "domestique_session"
log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    jobs: JobRegistry | None = None,
    sources: dict[str, SyncSource] | None = None,
    load_library: bool | None = None,
) -> FastAPI:
    # The shipped guideline library is loaded in the background at start when its files changed;
    # by default only by the server's own factory call (no settings given): tests and benches
    # pass their settings and load the library where they need it.
    load_library = settings is None if load_library is None else load_library
    settings = settings or as_app_role(get_settings())
    jobs = default_registry if jobs is None else jobs
    master_key = load_master_key(settings)
    engine = make_engine(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        presence = ExitStack()
        try:  # `domestique restore` refuses while this is held (and is waited for)
            presence.enter_context(backup_service.app_presence(settings))
        except Exception:
            log.exception("could not announce the app to `domestique restore`")
        _adopt_key(app)  # a restore from the command line may have brought another key
        runner = app.state.import_runner
        try:
            runner.start()
        except Exception:
            log.exception("the import runner did not start; unfinished imports wait for a restart")
        work_runner = app.state.work_runner
        try:
            work_runner.start()
        except Exception:
            log.exception("the sync runner did not start; syncs wait for a restart")
        scheduled = JobRegistry()
        for spec in jobs:
            scheduled.register(spec)
        scheduled.register(nightly_sync_job(work_runner))
        scheduled.register(nightly_backup_job(settings))
        scheduled.register(audit_purge_job(app.state.sessions, settings))
        scheduled.register(morning_decision_job(work_runner))  # after the nightly sync
        wrap_up = work_runner.submit_wrap_up  # a mission completed: the coach looks back
        scheduled.register(mission_clock_job(app.state.sessions, wrap_up))
        mission_clock_tick(app.state.sessions, completed=wrap_up)  # moves due while off
        sessions = app.state.sessions
        scheduler = Scheduler(scheduled, sessions, lambda: owner_schedule(sessions, settings))
        app.state.scheduler = scheduler
        try:
            scheduler.start()
        except Exception:
            log.exception("the scheduler did not start; pages still work, scheduled jobs do not")
        for part in (runner, work_runner, scheduler):  # paused while a restore runs
            app.state.maintenance.attach(part)
        if app.state.library_sync:  # the shipped guideline library, when its files changed
            app.state.library_thread = library_service.sync_in_background(sessions)
        _announce_setup_code(app)
        log.info("domestique %s started", __version__)
        try:
            yield
        finally:
            scheduler.shutdown()
            work_runner.stop()
            runner.stop()
            presence.close()
            engine.dispose()

    app = FastAPI(
        title="Domestique",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.state.secret_box = SecretBox(master_key, previous_keys(settings))
    app.state.llm_clock = SYSTEM_CLOCK  # tests inject theirs: the model's waits are recorded
    app.state.session_signing = SessionSigning(session_signing_key(master_key))
    app.state.login_limiter = SlidingWindowLimiter(settings.login_attempts_per_minute, 60.0)
    app.state.login_throttle = LoginThrottle(settings.login_attempts_per_minute, 60.0)
    app.state.scheduler = None
    app.state.library_sync = load_library
    app.state.maintenance = Maintenance()
    app.state.maintenance.on_switch(lambda change: _adopt_key(app, change))
    app.state.maintenance.on_reload(lambda: _reload_after_restore(app))
    app.state.import_runner = ImportRunner(app.state.sessions, settings)
    app.state.sync_sources = sources if sources is not None else default_sources(settings)
    app.state.work_runner = WorkRunner(
        app.state.sessions,
        settings,
        app.state.secret_box,
        app.state.sync_sources,
        maintenance=app.state.maintenance,
    )
    app.state.import_runner.after_job = lambda: app.state.work_runner.submit_uploads()

    # add_middleware wraps: the last added runs first.
    app.add_middleware(
        OwnerGateMiddleware,
        default_locale=settings.default_locale,
        default_timezone=settings.timezone,
        absolute_s=settings.session_absolute_days * 86400,
    )
    app.add_middleware(
        OwnerSessionMiddleware,
        signing=app.state.session_signing,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_days * 86400,
        same_site="lax",
        https_only=settings.session_cookie_secure,
    )
    app.add_middleware(CrossOriginProtectionMiddleware)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_body_bytes=settings.max_body_kb * 1024,
        max_upload_bytes=settings.max_upload_mb * 1024 * 1024,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(
        HostAllowlistMiddleware,
        allowed=allowed_hosts(settings),
        default_locale=settings.default_locale,
    )
    app.add_middleware(RequestContextMiddleware)
    if settings.trusted_proxy_list:
        # Outermost: the client's address and scheme come from X-Forwarded-* only when the
        # connection is from a trusted proxy (the login throttle, the logs and url_for use them).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        system,
        auth,
        insights,  # before pages, whose placeholder for /insights it replaces
        pages,
        activities,
        wellness,
        imports,
        connections,
        backups,
        settings_routes,
        coach,
        missions_routes,
        calendar_routes,
    ):
        app.include_router(module.router)
    return app


def _announce_setup_code(app: FastAPI) -> None:
    """Before the owner exists, the log says the setup code that ``/setup`` asks for."""
    try:
        with app.state.sessions() as session:
            code = account.pending_setup_code(session, app.state.settings.data_dir)
    except Exception:
        log.exception("could not read whether the owner exists; see domestique setup-code")
        return
    if code is not None:
        log.warning(
            "no owner yet: open /setup in your browser and enter the setup code %s "
            "(also shown by the command domestique setup-code)",
            code,
        )


def _adopt_key(app: FastAPI, change: Switched | None = None) -> None:
    """Use the master key as it is now (a restore may have brought the backup's) for stored
    credentials and session cookies. ``change`` (an in-app restore, at its switch): the sessions
    open here just before are carried over to the restored owner's new session epoch, and the
    database pool, whose connections the switch ended, starts afresh."""
    master_key = load_master_key(app.state.settings)
    app.state.secret_box.rekey(master_key, previous_keys(app.state.settings))
    app.state.session_signing.rotate(
        session_signing_key(master_key),
        previous_epoch=change.session_epoch_before if change else None,
        epoch=change.session_epoch if change else None,
    )
    if change is not None:
        app.state.engine.dispose()


def _reload_after_restore(app: FastAPI) -> None:
    """What the app keeps in memory about the data: cached pages, and the owner's schedule
    (the restored owner's time zone and nightly times)."""
    insights.forget_cached()
    activities.forget_cached()
    if app.state.scheduler is not None:
        app.state.scheduler.apply_schedule()
