"""What each decoding path hands to the mapper: the same shape whichever library read the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.records import Notice


@dataclass(slots=True)
class RawFit:
    """One FIT file, decoded but not yet interpreted.

    - ``messages``: the kinds in ``profile.SUMMARY_MESSAGES``, in file order, as dicts keyed by
      profile field name (developer fields by their ``field_name``, unknown fields by number);
      fields holding FIT's invalid value are absent; enum fields are integer codes; date_time
      fields are Unix seconds; scale and offset are applied; arrays are lists, ``byte`` arrays
      ``bytes``.
    - ``records``: one float64 column per ``profile.RECORD_FIELDS`` name present, one row per
      ``record`` message (rows without a timestamp included), NaN where invalid or absent,
      positions in degrees. Where a record repeats a field, the first valid value wins.
    - ``record_dev``: numeric developer fields of ``record`` messages, same rows.
    - ``hrv_ms``: every valid R-R interval of the ``hrv`` messages, in file order, in ms;
      ``hrv_row``: for each of them, the row in ``records`` of the last ``record`` message that
      came before its ``hrv`` message (-1 when none did).
    """

    messages: dict[str, list[dict[str | int, Any]]]
    records: dict[str, np.ndarray]
    record_dev: dict[str, np.ndarray]
    record_count: int
    hrv_ms: np.ndarray
    hrv_row: np.ndarray
    decoder: str  # "fitfast" or "fitdecode"
    notices: list[Notice] = field(default_factory=list)
