"""An insight's sentence in both languages: the significance as written (“q < 0.001”, never
“q = < 0.001”), units in the owner's language and units, a change that never reads “0 %”."""

from __future__ import annotations

import pytest

from app import i18n
from app.analytics.correlations import Finding, GroupEffect
from app.services.pages import correlations


def _finding(input_key, outcome_key, *, lag=0, q=0.0004, threshold=7.5, percent=-4.2, n=180):
    difference = -1.0 if percent < 0 else 1.0
    effect = GroupEffect("threshold", threshold, threshold, 90, 90, 50.0, 51.0, difference, percent)
    return Finding(input_key, outcome_key, lag, -0.4, -0.38, n, 150.0, 1e-5, q, "negative", effect)


def _say(finding, locale="en", units="metric"):
    tokens = i18n.current_locale.set(locale), i18n.current_units.set(units)
    try:
        return correlations.sentence(finding)
    finally:
        i18n.current_locale.reset(tokens[0])
        i18n.current_units.reset(tokens[1])


@pytest.mark.parametrize(
    ("q", "written"),
    [(0.0004, "q < 0.001"), (0.00099, "q < 0.001"), (0.001, "q = 0.001"), (0.0214, "q = 0.021")],
)
def test_the_significance_is_written_with_its_own_sign(q, written):
    assert correlations.significance(q) == written


def test_the_sentence_in_english():
    assert _say(_finding("sleep_h", "resting_hr")) == (
        "On days with sleep of 7.5 h or more, your resting heart rate is 4 % lower "
        "(n = 180, q < 0.001)."
    )
    assert _say(_finding("sleep_h", "resting_hr", lag=1, q=0.0214)) == (
        "1 day after sleep of 7.5 h or more, your resting heart rate is 4 % lower "
        "(n = 180, q = 0.021)."
    )
    assert _say(_finding("respiration", "hrv_ms", lag=3, threshold=16.0, percent=0.3)) == (
        "3 days after breathing rate of 16.0 breaths/min or more, your HRV is 0.3 % higher "
        "(n = 180, q < 0.001)."
    )


def test_the_sentence_in_korean():
    assert _say(_finding("sleep_h", "hrv_ms"), "ko") == (
        "수면이 7.5시간 이상인 날에는 HRV가 4 % 낮습니다(n = 180, q < 0.001)."
    )
    assert _say(_finding("respiration", "hrv_ms", lag=2, threshold=16.0), "ko") == (
        "호흡수가 분당 16.0회 이상이었던 날로부터 2일 뒤에는 HRV가 4 % 낮습니다"
        "(n = 180, q < 0.001)."
    )


def test_weight_follows_the_owners_units():
    finding = _finding("weight_kg", "hrv_ms", threshold=70.0)
    assert "weight of 70.0 kg or more" in _say(finding)
    assert "weight of 154.3 lb or more" in _say(finding, units="imperial")
