"""Chart payloads for ``static/js/charts.js`` (uPlot): numbers rounded for the wire, NaN as
null (a gap), downsampled with LTTB to what a screen can show, safe inside a ``<script>``."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from markupsafe import Markup

from app.analytics.downsample import lttb_indices
from app.i18n import gettext as _
from app.services.charts import Series

__all__ = ["SCREEN_POINTS", "Series", "chart_spec", "script_json"]

SCREEN_POINTS = 1000


def _clean(values: Sequence[float | None] | np.ndarray, digits: int) -> list[float | None]:
    array = np.asarray(values, dtype=np.float64)
    rounded = np.round(array, digits)
    return [None if not math.isfinite(v) else v for v in rounded.tolist()]


def chart_spec(
    x: Sequence[float] | np.ndarray,
    series: list[Series],
    *,
    x_kind: str,
    height: int = 220,
    detail_url: str | None = None,
    points: int | None = SCREEN_POINTS,
) -> dict[str, Any]:
    """The chart as a dict. With ``points``, downsample to at most that many x values, keeping
    the union of each series' LTTB picks (so every line keeps its own peaks)."""
    xs = np.asarray(x, dtype=np.float64)
    if points is not None and xs.size > points:
        per = max(3, points // max(len(series), 1))
        keep = np.unique(
            np.concatenate(
                [lttb_indices(xs, np.asarray(s.values, dtype=np.float64), per) for s in series]
            )
        )
    else:
        keep = np.arange(xs.size)
    spec: dict[str, Any] = {
        "x": _clean(xs[keep], 3),
        "xKind": x_kind,
        "xLabel": _x_label(x_kind),
        "height": height,
        "series": [
            {
                "label": s.label,
                "unit": s.unit,
                "values": _clean(np.asarray(s.values, dtype=np.float64)[keep], s.digits),
                "scale": s.scale,
                "kind": s.kind,
                "digits": s.digits,
                **({"color": s.color} if s.color else {}),
                **({"dash": s.dash} if s.dash else {}),
                **({"width": s.width} if s.width else {}),
                **s.extra,
            }
            for s in series
        ],
    }
    if detail_url:
        spec["detailUrl"] = detail_url
    return spec


def _x_label(x_kind: str) -> str:
    """The legend's name for the x axis (uPlot would say “Time” or “Value”, in English)."""
    labels = {"date": _("Date"), "seconds": _("Time"), "distance": _("Distance")}
    return labels.get(x_kind, "")


def script_json(spec: dict[str, Any]) -> Markup:
    """JSON that is safe inside ``<script type="application/json">``."""
    text = json.dumps(spec, separators=(",", ":"), allow_nan=False)
    escaped = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(escaped)  # noqa: S704 - every character that could end the script is escaped
