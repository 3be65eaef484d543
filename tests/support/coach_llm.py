"""The coach's language model in tests: settings that name only what a test sets (so the
others stay "default"), a clock that records waits instead of sleeping, and the fake LLM's
scripting helpers shared by the service, web and browser tests."""

from __future__ import annotations

from datetime import UTC, datetime

from app.config import Settings
from app.services.coach.llm import Clock

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
