"""The context snapshot's pure shaping (``app.coach.context``): what it computes from what the
service read, what withholding removes, and that the hash names the canonical JSON."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import numpy as np
import pytest

from app.analytics import pmc
from app.coach import context as shaping

TODAY = date(2026, 3, 20)


def _inputs(**changes) -> shaping.ContextInputs:
    loads = np.array([60.0, 0.0, 80.0, 40.0, 0.0, 120.0, 50.0] * 20)  # 140 days
    values = {
        "today": TODAY,
        "sex": "female",
        "birth_year": 1983,
        "sports": ("running", "cycling"),
        "thresholds": {
            "ftp_w": {"value": 251.4, "source": "owner:2026-01-05"},
            "lthr_bpm": {"value": 171, "source": "estimated:lthr_from_runs"},
            "hr_rest_bpm": {"value": 48, "source": "estimated:median_resting_hr_90d"},
            "weight_kg": {"value": 61.23, "source": "owner:2025-06-01"},
        },
        "load_start": TODAY - timedelta(days=loads.size - 1),
        "loads": loads,
        "sessions": (
            shaping.SessionRow(
                TODAY - timedelta(days=2), "running", 3000.0, 10_050.0, 61.6, "rtss", 0.86,
                1.234, 3.21, "Tempo with Minji",
            ),
        ),
        "wellness": shaping.WellnessInputs(
            start=TODAY - timedelta(days=29),
            columns={
                "hrv_ms": np.arange(30, dtype=float) + 50,
                "resting_hr": np.full(30, 49.0),
                "sleep_h": np.full(30, 7.25),
                "sleep_score": np.full(30, np.nan),
                "readiness": np.full(30, 70.0),
            },
            hrv_statistic="rmssd",
            hrv_7d=np.full(30, 70.0),
            hrv_low=np.full(30, 60.0),
            hrv_high=np.full(30, 75.0),
            hrv_status=["normal"] * 30,
        ),
        "body_weight": shaping.BodyWeight(61.04, TODAY - timedelta(days=1), 61.3),
        "findings": (
            shaping.FindingRow(
                "sleep_h", "resting_hr", 1, -0.41, 200, 0.001, -2.1, -4.0, 7.5, True, "s"
            ),
            shaping.FindingRow("load", "hrv_ms", 1, -0.35, 200, 0.01, -3.0, -5.0, 90, False, "t"),
        ),
    }  # fmt: skip
    return shaping.ContextInputs(**{**values, **changes})


def test_the_load_figures_are_the_pmc_of_the_daily_loads():
    inputs = _inputs()
    data = shaping.snapshot(inputs)
    curve = pmc.pmc(inputs.loads, ctl_days=42, atl_days=7, tsb="yesterday")
    assert data["load"]["today"]["ctl"] == round(float(curve.ctl[-1]), 1)
    assert data["load"]["today"]["tsb"] == round(float(curve.tsb[-1]), 1)
    assert data["load"]["trend"]["7d_ago"]["atl"] == round(float(curve.atl[-8]), 1)
    assert data["load"]["trend"]["90d_ago"]["ctl"] == round(float(curve.ctl[-91]), 1)
    assert data["load"]["load_last_7d"] == 350
    assert shaping.snapshot(_inputs(load_start=None, loads=np.zeros(0)))["load"] is None


def test_profile_thresholds_and_sessions_are_compact():
    data = shaping.snapshot(_inputs())
    assert data["profile"] == {
        "sex": "female",
        "age_band": "40-44",
        "sports": ["running", "cycling"],
    }
    assert data["thresholds"]["ftp_w"] == {"value": 251, "source": "owner", "since": "2026-01-05"}
    assert data["thresholds"]["lthr_bpm"] == {
        "value": 171,
        "source": "estimated",
        "method": "lthr_from_runs",
    }
    (session,) = data["recent_sessions"]
    assert session == {
        "date": "2026-03-18",
        "sport": "running",
        "name": "Tempo with Minji",
        "duration_min": 50,
        "distance_km": 10.05,
        "load": 62,
        "load_model": "rtss",
        "if": 0.86,
        "ef": 1.234,
        "decoupling_pct": 3.2,
    }
    wellness = data["wellness"]
    assert len(wellness["days"]) == 14 and "sleep_score" not in wellness["days"][0]
    assert wellness["baseline"]["hrv_ms"]["days"] == 16
    assert wellness["baseline"]["hrv_band_ms"] == {"statistic": "rmssd", "low": 60, "high": 75}


@pytest.mark.parametrize(
    ("withheld", "gone"),
    [
        (("wellness",), {"wellness"}),
        (("body_weight",), {"body_weight"}),
        (("notes",), set()),
    ],
)
def test_withheld_groups_take_what_derives_from_them(withheld, gone):
    data = shaping.snapshot(_inputs(), withheld=withheld)
    assert gone.isdisjoint(data) and data["withheld"] == list(withheld)
    findings = {(f["input"], f["outcome"]) for f in data["findings"]}
    if "wellness" in withheld:
        assert ("sleep_h", "resting_hr") not in findings and ("load", "hrv_ms") not in findings
        assert "hr_rest_bpm" not in data["thresholds"]  # estimated from wellness
    if "body_weight" in withheld:
        assert "weight_kg" not in data["thresholds"]
    if "notes" in withheld:
        assert "name" not in data["recent_sessions"][0]
    with pytest.raises(ValueError, match="unknown groups"):
        shaping.snapshot(_inputs(), withheld=("gps",))


def test_the_hash_is_of_the_canonical_json_and_sections_have_their_place():
    data = shaping.snapshot(_inputs(sections={"plan": {"weeks": 12}}))
    text = shaping.canonical_json(data)
    assert shaping.snapshot_sha256(data) == hashlib.sha256(text.encode()).hexdigest()
    assert data["mission"] is None and data["plan"] == {"weeks": 12}
    assert '": ' not in text and ', "' not in text  # no spaces between items
    assert shaping.age_band(None, TODAY) is None and shaping.age_band(2030, TODAY) is None
