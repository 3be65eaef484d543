"""The coach's language model in tests: settings that name only what a test sets (so the
others stay "default"), a clock that records waits instead of sleeping, and the fixtures the
coach's service and web tests share — the fake LLM server, the endpoint configured through the
environment, a secret box, the clock, and Strava connected to its loopback fake (a pytest
plugin, ``pytest_plugins`` in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from app.config import Settings
from app.security.keys import SecretBox
from app.services.coach.llm import Clock
from app.services.sync import connections, oauth
from app.services.sync.adapters import strava_source
from app.services.work.runner import InlineWorkRunner
from tests.support.fake_llm import FakeLlm

KEY = "sk-coach-test-5e1d9a3f7c2b4e80"
MODEL = "coach-model"


def llm_settings(base: Settings, **values) -> Settings:
    """``base``'s database and folders with only ``values`` of the LLM settings given (the
    rest keep their defaults and read as such)."""
    return Settings(
        env="development",
        database_url=base.database_url,
        data_dir=base.data_dir,
        backup_dir=base.backup_dir,
        timezone=base.timezone,
        **values,
    )


class TestClock:
    """``now`` is set by the test; ``sleep`` records; ``monotonic`` advances 0.25 s a read."""

    __test__ = False

    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
        self.sleeps: list[float] = []
        self._ticks = 0.0

    def _monotonic(self) -> float:
        self._ticks += 0.25
        return self._ticks

    @property
    def clock(self) -> Clock:
        return Clock(now=lambda: self.current, sleep=self.sleeps.append, monotonic=self._monotonic)


# --- fixtures (a pytest plugin: ``pytest_plugins`` in ``tests/conftest.py``) -------------------


@pytest.fixture
def llm_server() -> Iterator[FakeLlm]:
    """The fake OpenAI-compatible server, asking for ``KEY``."""
    server = FakeLlm(api_key=KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llm_box() -> SecretBox:
    """A secret box under a key of the test's own."""
    return SecretBox(Fernet.generate_key().decode())


@pytest.fixture
def llm_clock() -> TestClock:
    return TestClock(datetime(2026, 3, 10, 3, 0, tzinfo=UTC))


@pytest.fixture
def llm_env(settings, llm_server) -> Settings:
    """The fake server configured through the environment only (endpoint, model, key)."""
    return llm_settings(
        settings, llm_base_url=llm_server.base_url, llm_model=MODEL, llm_api_key=KEY
    )


@pytest.fixture
def with_model(app, llm_env) -> Settings:
    """The app (and its work runner) configured for the fake server through the environment."""
    app.state.settings = llm_env
    app.state.work_runner.settings = llm_env
    return llm_env


@pytest.fixture
def connect_strava(app, sessions, settings):
    """``connect_strava(fake_strava, clock)``: Strava connected to the loopback fake (the app's
    credentials and the owner's tokens saved) and a work runner that syncs it in the caller's
    thread, returned."""

    def connect(strava, clock) -> InlineWorkRunner:
        fast = Settings.model_validate({**settings.model_dump(), "sync_delay_s": 0.0})
        box = app.state.secret_box
        with sessions.begin() as session:
            oauth.save_app_credentials(
                session, box, "strava", str(strava.client_id), strava.client_secret
            )
            connections.save_tokens(session, box, "strava", strava.issue_tokens())
        return InlineWorkRunner(
            sessions,
            fast,
            box,
            {"strava": strava_source(fast, endpoints=strava.endpoints)},
            clock=clock,
        )

    return connect
