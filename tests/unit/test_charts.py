"""Chart payloads: gaps as null, downsampled per series, safe inside a script tag."""

from __future__ import annotations

import json

import numpy as np

from app.web.charts import Series, chart_spec, script_json


def test_nan_is_a_gap_and_numbers_are_rounded():
    spec = chart_spec(
        [0, 1, 2], [Series("HR", [140.26, np.nan, 150.0], unit="bpm")], x_kind="seconds"
    )
    assert spec["series"][0]["values"] == [140.0, None, 150.0]
    assert spec["x"] == [0.0, 1.0, 2.0]


def test_long_series_are_downsampled_keeping_each_lines_peaks():
    x = np.arange(20_000)
    hr = np.full(x.size, 140.0)
    hr[5_000] = 190.0
    power = np.full(x.size, 200.0)
    power[15_000] = 900.0
    spec = chart_spec(x, [Series("HR", hr), Series("Power", power)], x_kind="seconds", points=600)
    assert len(spec["x"]) <= 600
    assert 190.0 in spec["series"][0]["values"] and 900.0 in spec["series"][1]["values"]


def test_the_json_cannot_close_the_script_tag():
    text = str(script_json({"label": "</script><b>&"}))
    assert "</script>" not in text and "<" not in text and "&" not in text
    assert json.loads(text)["label"] == "</script><b>&"
