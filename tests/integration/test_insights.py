"""“What is working” from the database: a planted relation is found at its lag and told as a
sentence in Korean and English; noise and short histories give nothing."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from app.i18n import current_locale
from app.models import DailyWellness
from app.services.pages import correlations

END = date(2026, 11, 20)
DAYS = 240


def _wellness(db_session, rng, *, planted: bool, days: int = DAYS) -> None:
    sleep = rng.normal(7.2, 0.8, days)
    noise = rng.normal(0, 1.2, days)
    for i in range(days):
        day = END - timedelta(days=days - 1 - i)
        rhr = 50.0 + noise[i]
        if planted and i >= 1:
            rhr -= 3.0 * (sleep[i - 1] - 7.2)  # more sleep, lower resting HR the next morning
        db_session.add(
            DailyWellness(
                day=day, sleep_s=float(sleep[i] * 3600), resting_hr=float(rhr), sources={}
            )
        )
    db_session.flush()


def test_a_planted_relation_is_found_at_its_lag_and_said_plainly(db_session):
    _wellness(db_session, np.random.default_rng(7), planted=True)
    frame = correlations.build_frame(db_session, END)
    assert frame is not None and frame.days == DAYS

    result = correlations.what_is_working(frame)
    assert result.enough_data
    pairs = {(i.finding.input, i.finding.outcome, i.finding.lag) for i in result.working}
    assert ("sleep_h", "resting_hr", 1) in pairs
    assert not any(i.finding.input == i.finding.outcome for i in result.working)
    found = next(i for i in result.working if i.finding.input == "sleep_h")
    token = current_locale.set("en")
    try:
        text = correlations.sentence(found.finding)
    finally:
        current_locale.reset(token)
    assert text.startswith("1 day after sleep of ") and "resting heart rate is" in text
    assert "lower" in text and f"n = {found.finding.n}" in text

    x, y = correlations.pair_points(frame, "sleep_h", "resting_hr", 1)
    assert len(x) == len(y) == DAYS - 1
    assert np.corrcoef(x, y)[0, 1] < -0.5


def test_noise_gives_no_findings(db_session):
    _wellness(db_session, np.random.default_rng(3), planted=False)
    result = correlations.what_is_working(correlations.build_frame(db_session, END))
    assert result.enough_data and result.working == [] and result.not_working == []


@pytest.mark.parametrize("days", [0, 30])
def test_too_little_data_says_so(db_session, days):
    if days:
        _wellness(db_session, np.random.default_rng(1), planted=True, days=days)
    result = correlations.what_is_working(correlations.build_frame(db_session, END))
    assert not result.enough_data and result.working == []


def test_the_sentence_speaks_korean(db_session):
    _wellness(db_session, np.random.default_rng(7), planted=True)
    found = correlations.what_is_working(correlations.build_frame(db_session, END)).working[0]
    token = current_locale.set("ko")
    try:
        text = correlations.sentence(found.finding)
    finally:
        current_locale.reset(token)
    assert "안정 시 심박수" in text and "일 뒤" in text
