"""Garmin's "original" download: a ZIP holding the watch's FIT file (or the FIT file itself),
decoded to activity records by the FIT pipeline."""

from __future__ import annotations

import zipfile
from io import BytesIO

from app import records
from app.sources import SourceDataError
from app.sources.fit import decode_fit, looks_like_fit

MAX_FIT_BYTES = 256 * 1024 * 1024


def decode(data: bytes, source: str, activity_id: str) -> list[records.Activity]:
    """The activities in the download, each with ``external_id`` set to Garmin's id."""
    if looks_like_fit(data[:14]):
        payloads = [data]
    else:
        try:
            with zipfile.ZipFile(BytesIO(data)) as archive:
                payloads = [
                    archive.read(name)
                    for name in archive.namelist()
                    if name.lower().endswith(".fit")
                    and archive.getinfo(name).file_size < MAX_FIT_BYTES
                ]
        except zipfile.BadZipFile as exc:
            raise SourceDataError(str(exc), code="zip_corrupt") from exc
    found: list[records.Activity] = []
    for payload in payloads:
        decoded = decode_fit(payload, source=source)
        for activity in decoded.activities:
            activity.external_id = activity_id
        found += decoded.activities
    return found
