"""Strava API JSON → our records (``Activity`` with ``Samples``).

Field names are those of Strava's ``SummaryActivity``/``DetailedActivity`` and ``StreamSet``
(recorded payloads in ``tests/fixtures/strava``). Units: metres, seconds, m/s, watts, bpm, °C.
Strava's cadence is already per foot for runs (its app doubles it for display), as FIT stores
it. ``start_date_local`` is local wall-clock time written with a misleading ``Z``.

Every record is marked ``extras["strava_api"] = True``: Strava's API agreement forbids sending
API data to AI models, and the coach must be able to tell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from app.records import Activity, Lap, Samples, finite
from app.sources import SourceDataError

SOURCE = "strava"

# Strava ``sport_type`` (and the older ``type``) → FIT sport / sub_sport names, the vocabulary of
# ``app.sources.garmin.sports``. Unknown values become ``("generic", None)``; the original is
# kept in ``extras["strava_sport_type"]``.
SPORTS: dict[str, tuple[str, str | None]] = {
    "Run": ("running", None),
    "TrailRun": ("running", "trail"),
    "VirtualRun": ("running", "virtual_activity"),
    "Ride": ("cycling", None),
    "MountainBikeRide": ("cycling", "mountain"),
    "GravelRide": ("cycling", "gravel_cycling"),
    "EBikeRide": ("cycling", "e_bike_fitness"),
    "EMountainBikeRide": ("cycling", "e_bike_mountain"),
    "VirtualRide": ("cycling", "virtual_activity"),
    "Handcycle": ("cycling", "hand_cycling"),
    "Velomobile": ("cycling", None),
    "Swim": ("swimming", None),
    "Walk": ("walking", None),
    "Hike": ("hiking", None),
    "AlpineSki": ("alpine_skiing", None),
    "BackcountrySki": ("alpine_skiing", "backcountry"),
    "NordicSki": ("cross_country_skiing", None),
    "Snowboard": ("snowboarding", None),
    "Snowshoe": ("snowshoeing", None),
    "IceSkate": ("ice_skating", None),
    "InlineSkate": ("inline_skating", None),
    "Rowing": ("rowing", None),
    "VirtualRow": ("fitness_equipment", "indoor_rowing"),
    "Canoeing": ("paddling", None),
    "Kayaking": ("kayaking", None),
    "StandUpPaddling": ("stand_up_paddleboarding", None),
    "Surfing": ("surfing", None),
    "Kitesurf": ("kitesurfing", None),
    "Windsurf": ("windsurfing", None),
    "Sail": ("sailing", None),
    "WeightTraining": ("training", "strength_training"),
    "Crossfit": ("training", "cardio_training"),
    "HighIntensityIntervalTraining": ("training", "hiit"),
    "Workout": ("training", None),
    "Yoga": ("training", "yoga"),
    "Pilates": ("training", "pilates"),
    "Elliptical": ("fitness_equipment", "elliptical"),
    "StairStepper": ("fitness_equipment", "stair_climbing"),
    "RockClimbing": ("rock_climbing", None),
    "Golf": ("golf", None),
    "Soccer": ("soccer", None),
    "Tennis": ("tennis", None),
    "Badminton": ("racket", "badminton"),
    "Pickleball": ("racket", "pickleball"),
    "Padel": ("racket", "padel"),
    "Racquetball": ("racket", "racquetball"),
    "Squash": ("racket", "squash"),
    "TableTennis": ("racket", "table_tennis"),
    "Basketball": ("basketball", None),
    "Volleyball": ("volleyball", None),
    "Cricket": ("cricket", None),
    "Dance": ("dance", None),
}
# On a trainer, the indoor variant.
_TRAINER = {"running": "treadmill", "cycling": "indoor_cycling"}

# Stream type → our sample channel (``latlng`` gives ``lat`` and ``lon``).
CHANNELS = {
    "heartrate": "heart_rate",
    "watts": "power",
    "cadence": "cadence",
    "velocity_smooth": "speed",
    "distance": "distance",
    "altitude": "altitude",
    "temp": "temperature",
}
# Streams without a sample channel, kept as record series in ``developer_fields``.
RECORD_SERIES = {"moving": ("strava_moving", "bool"), "grade_smooth": ("strava_grade_smooth", "%")}

# Summary fields without a column of their own, kept in ``extras`` as ``strava_<name>``.
EXTRAS = (
    "type",
    "sport_type",
    "workout_type",
    "external_id",
    "upload_id",
    "gear_id",
    "trainer",
    "commute",
    "manual",
    "private",
    "flagged",
    "max_speed",
    "weighted_average_watts",
    "kilojoules",
    "device_watts",
    "has_heartrate",
    "suffer_score",
    "perceived_exertion",
    "elev_high",
    "elev_low",
    "average_temp",
    "timezone",
    "utc_offset",
    "location_city",
    "location_state",
    "location_country",
)


_num = finite  # a finite float or None


def _bad(message: str, **params: object) -> SourceDataError:
    return SourceDataError(message, code="strava_bad_payload", **params)


def sport_of(
    sport_type: str | None, activity_type: str | None = None, *, trainer: bool = False
) -> tuple[str, str | None]:
    """FIT (sport, sub_sport) for Strava's ``sport_type`` (else its legacy ``type``)."""
    sport, sub_sport = SPORTS.get(sport_type or activity_type or "", ("generic", None))
    if trainer and sub_sport is None and sport in _TRAINER:
        sub_sport = _TRAINER[sport]
    return sport, sub_sport


def _utc(value: Any, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as e:
        raise _bad(f"Strava {what} is not a date: {value!r}") from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _local(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).rstrip("Z")).replace(tzinfo=None)
    except ValueError:
        return None


def _floats(values: Sequence[Any], key: str) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if value is None or isinstance(value, bool):
            continue
        try:
            out[i] = float(value)
        except (TypeError, ValueError) as e:
            raise _bad(f"Strava stream {key!r} holds {value!r}", stream=key) from e
    return out


def _time_axis(streams: Mapping[str, Sequence[Any]]) -> tuple[np.ndarray, np.ndarray] | None:
    """Seconds from the start and the mask of points kept (time finite and strictly rising)."""
    raw = streams.get("time")
    if not raw:
        return None
    offsets = _floats(raw, "time")
    for key, values in streams.items():
        if len(values) != len(offsets):
            raise _bad(
                f"Strava stream {key!r} has {len(values)} points, time has {len(offsets)}",
                stream=key,
            )
    finite = np.where(np.isfinite(offsets), offsets, -np.inf)
    previous_max = np.concatenate(([-np.inf], np.maximum.accumulate(finite)[:-1]))
    keep = np.isfinite(offsets) & (finite > previous_max)
    return offsets, keep


def streams_to_samples(streams: Mapping[str, Sequence[Any]], start: datetime) -> Samples | None:
    """Strava streams (``StravaClient.streams``) as per-second samples aligned on ``time``
    (seconds after ``start``, an aware UTC datetime); ``None`` without a time stream. Points
    whose time does not rise are dropped; ``None`` values become NaN."""
    axis = _time_axis(streams)
    if axis is None:
        return None
    offsets, keep = axis
    channels: dict[str, np.ndarray] = {}
    for key, channel in CHANNELS.items():
        if streams.get(key):
            channels[channel] = _floats(streams[key], key)[keep]
    if streams.get("latlng"):
        lat = np.full(len(offsets), np.nan)
        lon = np.full(len(offsets), np.nan)
        for i, point in enumerate(streams["latlng"]):
            if point is None:
                continue
            if not isinstance(point, Sequence) or len(point) != 2:
                raise _bad(f"Strava latlng point {point!r} is not [lat, lon]", stream="latlng")
            la, lo = _num(point[0]), _num(point[1])
            if la is not None and lo is not None:
                lat[i], lon[i] = la, lo
        channels["lat"], channels["lon"] = lat[keep], lon[keep]
    return Samples(time=start.timestamp() + offsets[keep], channels=channels)


def _record_series(streams: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    axis = _time_axis(streams)
    if axis is None:
        return {}
    _, keep = axis
    out: dict[str, Any] = {}
    for key, (name, units) in RECORD_SERIES.items():
        values = streams.get(key)
        if values:
            kept = [value for value, k in zip(values, keep, strict=True) if k]
            if key == "moving":
                kept = [bool(v) if v is not None else None for v in kept]
            else:
                kept = [_num(v) for v in kept]
            out[name] = {"units": units, "values": kept}
    return out


def _lap(lap: Mapping[str, Any]) -> Lap:
    return Lap(
        start=_utc(lap.get("start_date"), "lap start"),
        elapsed_s=_num(lap.get("elapsed_time")),
        moving_s=_num(lap.get("moving_time")),
        distance_m=_num(lap.get("distance")),
        avg_hr=_num(lap.get("average_heartrate")),
        max_hr=_num(lap.get("max_heartrate")),
        avg_power=_num(lap.get("average_watts")),
        avg_cadence=_num(lap.get("average_cadence")),
        avg_speed=_num(lap.get("average_speed")),
        ascent_m=_num(lap.get("total_elevation_gain")),
    )


def activity_to_record(
    summary: Mapping[str, Any], streams: Mapping[str, Sequence[Any]] | None = None
) -> Activity:
    """A Strava activity (list summary or detail, plus optional ``streams``) as a record.

    ``external_id`` is Strava's activity id; Strava's own ``external_id`` (often the uploader's
    file name, ``garmin_push_<garmin id>`` for Garmin) is kept as ``extras["strava_external_id"]``
    to help deduplicate against Garmin and FIT imports.
    """
    try:
        activity_id = int(summary["id"])
        start = _utc(summary["start_date"], "start_date")
    except (KeyError, TypeError, ValueError) as e:
        raise _bad(f"Strava activity without id or start: {e}") from e
    trainer = bool(summary.get("trainer"))
    sport, sub_sport = sport_of(summary.get("sport_type"), summary.get("type"), trainer=trainer)
    extras: dict[str, Any] = {
        f"strava_{k}": summary[k] for k in EXTRAS if summary.get(k) is not None
    }
    extras["strava_api"] = True
    samples = None
    developer_fields: dict[str, Any] = {}
    if streams:
        samples = streams_to_samples(streams, start)
        series = _record_series(streams)
        if series:
            developer_fields["record"] = series
        extras["strava_streams"] = sorted(streams)
    try:
        laps = [_lap(lap) for lap in summary.get("laps") or [] if isinstance(lap, Mapping)]
    except SourceDataError:
        laps = []
    return Activity(
        source=SOURCE,
        sport=sport,
        sub_sport=sub_sport,
        start=start,
        local_start=_local(summary.get("start_date_local")),
        external_id=str(activity_id),
        name=summary.get("name"),
        device=summary.get("device_name"),
        elapsed_s=_num(summary.get("elapsed_time")),
        moving_s=_num(summary.get("moving_time")),
        distance_m=_num(summary.get("distance")),
        ascent_m=_num(summary.get("total_elevation_gain")),
        calories=_num(summary.get("calories")),
        avg_hr=_num(summary.get("average_heartrate")),
        max_hr=_num(summary.get("max_heartrate")),
        avg_power=_num(summary.get("average_watts")),
        max_power=_num(summary.get("max_watts")),
        avg_cadence=_num(summary.get("average_cadence")),
        avg_speed=_num(summary.get("average_speed")),
        laps=laps,
        samples=samples,
        developer_fields=developer_fields,
        extras=extras,
    )
