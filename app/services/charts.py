"""What a chart shows, shared by the read models that build charts (``wellness.trends``, the
dashboard's PMC) and the web, which turns a list of series into the uPlot payload
(``app.web.charts.chart_spec``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Series:
    """One line (or bars, an area, points) of a chart; NaN or None is a gap."""

    label: str
    values: Sequence[float | None] | np.ndarray
    unit: str = ""
    color: str | None = None
    scale: str = "y"
    kind: str = "line"  # line | bars | area | points
    digits: int = 0
    dash: list[int] | None = None
    width: float | None = None  # the stroke, when not the default
    extra: dict[str, Any] = field(default_factory=dict)  # more options for charts.js
