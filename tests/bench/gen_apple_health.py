"""A synthetic Apple Health ``export.xml`` in the shape iOS 16+ writes, for benchmarks.

``write_export(path, target_mb)`` writes roughly ``target_mb`` megabytes: the internal DTD Apple
ships broken since HealthKit Export Version 12 (the ``VisionPrescription`` attribute list is never
closed and a stray ``>`` precedes ``]>``), a few stray control characters (``\\x0b``, ``\\x1f``) in
source names and metadata values, ``ExportDate`` and ``Me``, then records grouped by type the way
Apple writes them (heart rate dominant; steps and distance from both the iPhone and the Watch;
HRV SDNN with per-beat lists; sleep stages; body mass in kg and lb; VO2max; respiratory rate;
SpO2 as a fraction; running power; a few types the importer skips), food correlations, workouts
with statistics, events and route references, and one activity summary per day.

Everything comes from a seeded generator: the same arguments write the same bytes. With
``routes=True`` a 1 Hz GPX file is also written under ``<path's folder>/workout-routes/`` for
every workout that references one (large: about 1 MB per hour of workout).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, timedelta
from pathlib import Path

import numpy as np

__all__ = ["write_export"]

DTD_V12_BROKEN = """<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 12 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord|Audiogram|VisionPrescription)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Me EMPTY>
<!ATTLIST Me
  HKCharacteristicTypeIdentifierDateOfBirth                   CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBiologicalSex                 CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBloodType                     CDATA #REQUIRED
  HKCharacteristicTypeIdentifierFitzpatrickSkinType           CDATA #REQUIRED
  HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse   CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!-- Note: Any Records that appear as children of a correlation also appear as top-level records in this document. -->
<!ELEMENT Correlation ((MetadataEntry|Record)*)>
<!ATTLIST Correlation
  type          CDATA #REQUIRED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT Workout ((MetadataEntry|WorkoutEvent|WorkoutRoute|WorkoutStatistics)*)>
<!ATTLIST Workout
  workoutActivityType   CDATA #REQUIRED
  duration              CDATA #IMPLIED
  durationUnit          CDATA #IMPLIED
  totalDistance         CDATA #IMPLIED
  totalDistanceUnit     CDATA #IMPLIED
  totalEnergyBurned     CDATA #IMPLIED
  totalEnergyBurnedUnit CDATA #IMPLIED
  sourceName            CDATA #REQUIRED
  sourceVersion         CDATA #IMPLIED
  device                CDATA #IMPLIED
  creationDate          CDATA #IMPLIED
  startDate             CDATA #REQUIRED
  endDate               CDATA #REQUIRED
>
<!ELEMENT WorkoutActivity ((MetadataEntry)*)>
<!ATTLIST WorkoutActivity
  uuid                 CDATA #REQUIRED
  startDate            CDATA #REQUIRED
  endDate              CDATA #IMPLIED
  duration             CDATA #IMPLIED
  durationUnit         CDATA #IMPLIED
>
<!ELEMENT WorkoutEvent ((MetadataEntry)*)>
<!ATTLIST WorkoutEvent
  type                 CDATA #REQUIRED
  date                 CDATA #REQUIRED
  duration             CDATA #IMPLIED
  durationUnit         CDATA #IMPLIED
>
<!ELEMENT WorkoutStatistics EMPTY>
<!ATTLIST WorkoutStatistics
  type                 CDATA #REQUIRED
  startDate            CDATA #REQUIRED
  endDate              CDATA #REQUIRED
  average              CDATA #IMPLIED
  minimum              CDATA #IMPLIED
  maximum              CDATA #IMPLIED
  sum                  CDATA #IMPLIED
  unit                 CDATA #IMPLIED
>
<!ELEMENT WorkoutRoute ((MetadataEntry|FileReference)*)>
<!ATTLIST WorkoutRoute
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT FileReference EMPTY>
<!ATTLIST FileReference
  path CDATA #REQUIRED
>
<!ELEMENT ActivitySummary EMPTY>
<!ATTLIST ActivitySummary
  dateComponents           CDATA #IMPLIED
  activeEnergyBurned       CDATA #IMPLIED
  activeEnergyBurnedGoal   CDATA #IMPLIED
  activeEnergyBurnedUnit   CDATA #IMPLIED
  appleMoveTime            CDATA #IMPLIED
  appleMoveTimeGoal        CDATA #IMPLIED
  appleExerciseTime        CDATA #IMPLIED
  appleExerciseTimeGoal    CDATA #IMPLIED
  appleStandHours          CDATA #IMPLIED
  appleStandHoursGoal      CDATA #IMPLIED
>
<!ELEMENT MetadataEntry EMPTY>
<!ATTLIST MetadataEntry
  key   CDATA #REQUIRED
  value CDATA #REQUIRED
>
<!-- Note: Heart Rate Variability records captured by Apple Watch may include an associated list of instantaneous beats-per-minute readings. -->
<!ELEMENT HeartRateVariabilityMetadataList (InstantaneousBeatsPerMinute*)>
<!ELEMENT InstantaneousBeatsPerMinute EMPTY>
<!ATTLIST InstantaneousBeatsPerMinute
  bpm  CDATA #REQUIRED
  time CDATA #REQUIRED
>
<!ELEMENT ClinicalRecord EMPTY>
<!ATTLIST ClinicalRecord
  type              CDATA #REQUIRED
  identifier        CDATA #REQUIRED
  sourceName        CDATA #REQUIRED
  sourceURL         CDATA #REQUIRED
  fhirVersion       CDATA #REQUIRED
  receivedDate      CDATA #REQUIRED
  resourceFilePath  CDATA #REQUIRED
>
<!ELEMENT VisionPrescription ((RightEye|LeftEye|Attachment|MetadataEntry)*)>
<!ATTLIST VisionPrescription
  type             CDATA #REQUIRED
  dateIssued       CDATA #REQUIRED
  expirationDate   CDATA #IMPLIED
  brand            CDATA #IMPLIED
<!ELEMENT RightEye EMPTY>
<!ATTLIST RightEye
  sphere           CDATA #IMPLIED
  sphereUnit       CDATA #IMPLIED
  cylinder         CDATA #IMPLIED
  cylinderUnit     CDATA #IMPLIED
  axis             CDATA #IMPLIED
  axisUnit         CDATA #IMPLIED
>
<!ELEMENT LeftEye EMPTY>
<!ATTLIST LeftEye
  sphere           CDATA #IMPLIED
  sphereUnit       CDATA #IMPLIED
  cylinder         CDATA #IMPLIED
  cylinderUnit     CDATA #IMPLIED
  axis             CDATA #IMPLIED
  axisUnit         CDATA #IMPLIED
>
<!ELEMENT Attachment EMPTY>
<!ATTLIST Attachment
  identifier       CDATA #IMPLIED
>
>
]>
"""  # noqa: E501 - Apple's DTD text, as shipped

_HK_Q = "HKQuantityTypeIdentifier"
_HK_C = "HKCategoryTypeIdentifier"
_WATCH = "Jin’s Apple Watch"  # curly apostrophe, as Apple writes device names
_PHONE = "Jin’s iPhone"
_WATCH_DEVICE = (
    "&lt;&lt;HKDevice: 0x283d4a3f0&gt;, name:Apple Watch, manufacturer:Apple Inc., "
    "model:Watch, hardware:Watch6,1, software:9.1&gt;"
)
_PHONE_DEVICE = (
    "&lt;&lt;HKDevice: 0x283d4b1c0&gt;, name:iPhone, manufacturer:Apple Inc., "
    "model:iPhone, hardware:iPhone14,2, software:16.1&gt;"
)
_SCALE = "Withings"
_SCALE_LB = "Renpho"
_HMS = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
_CLOCK = [
    f"{(s // 3600) % 12 or 12}:{s // 60 % 60:02d}:{s % 60:02d}.{(s * 37) % 100:02d} "
    f"{'AM' if s < 43200 else 'PM'}"
    for s in range(0, 86400)
]

# (workoutActivityType, share, has route, distance statistic, power statistic)
_WORKOUTS = (
    ("HKWorkoutActivityTypeRunning", 0.40, True, "DistanceWalkingRunning", "RunningPower"),
    ("HKWorkoutActivityTypeCycling", 0.25, True, "DistanceCycling", "CyclingPower"),
    ("HKWorkoutActivityTypeWalking", 0.12, True, "DistanceWalkingRunning", None),
    ("HKWorkoutActivityTypeTraditionalStrengthTraining", 0.10, False, None, None),
    ("HKWorkoutActivityTypeHighIntensityIntervalTraining", 0.05, False, None, None),
    ("HKWorkoutActivityTypeYoga", 0.04, False, None, None),
    ("HKWorkoutActivityTypeSwimming", 0.04, False, "DistanceSwimming", None),
)
_SLEEP = (
    "HKCategoryValueSleepAnalysisAsleepCore",
    "HKCategoryValueSleepAnalysisAsleepDeep",
    "HKCategoryValueSleepAnalysisAsleepREM",
    "HKCategoryValueSleepAnalysisAwake",
)


class _Calendar:
    """Day strings and UTC offsets: Seoul (+0900), with a trip to California (-0700) each year."""

    def __init__(self, first: date, days: int) -> None:
        self.first = first
        self.days = days + 2
        self.date_str = []
        self.offset_str = []
        self.offset_s = []
        for i in range(self.days):
            day = first + timedelta(days=i)
            travelling = 200 <= i % 365 < 212
            self.date_str.append(day.isoformat())
            self.offset_str.append("-0700" if travelling else "+0900")
            self.offset_s.append(-7 * 3600 if travelling else 9 * 3600)

    def stamp(self, day: int, second: int) -> str:
        """``YYYY-MM-DD HH:MM:SS ±HHMM`` for a local second of ``day`` (may overflow the day),
        always at ``day``'s offset, so that times across a time-zone change stay in order."""
        offset = self.offset_str[day]
        while second >= 86400:
            second -= 86400
            day += 1
        while second < 0:
            second += 86400
            day -= 1
        return f"{self.date_str[day]} {_HMS[second]} {offset}"


class _Writer:
    def __init__(self, path: Path) -> None:
        self.handle = path.open("wb")
        self.parts: list[str] = []
        self.pending = 0
        self.bytes = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pending += len(text)
        if self.pending > 4_000_000:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            data = "".join(self.parts).encode("utf-8")
            self.handle.write(data)
            self.bytes += len(data)
            self.parts.clear()
            self.pending = 0

    def close(self) -> None:
        self.flush()
        self.handle.close()


def _record(
    kind: str,
    source: str,
    version: str,
    device: str | None,
    unit: str | None,
    created: str,
    start: str,
    end: str,
    value: str,
    children: str = "",
) -> str:
    device_attr = f' device="{device}"' if device else ""
    unit_attr = f' unit="{unit}"' if unit else ""
    head = (
        f' <Record type="{kind}" sourceName="{source}" sourceVersion="{version}"{device_attr}'
        f'{unit_attr} creationDate="{created}" startDate="{start}" endDate="{end}" value="{value}"'
    )
    if children:
        return f"{head}>\n{children} </Record>\n"
    return f"{head}/>\n"


class _Generator:
    def __init__(self, seed: int, calendar: _Calendar, *, quirks: bool = True) -> None:
        self.rng = np.random.default_rng(seed)
        self.cal = calendar
        self.quirks = quirks
        self.records = 0
        self.control_chars = 0

    # -- one type over a range of days -------------------------------------------------------

    def heart_rate(self, day: int, workout_windows: list[tuple[int, int]]) -> list[str]:
        rng, cal = self.rng, self.cal
        n = int(rng.integers(330, 420))
        seconds = np.sort(rng.integers(0, 86400, n)).tolist()
        values = rng.integers(48, 110, n).tolist()
        motion = rng.integers(0, 3, n).tolist()
        out = []
        q = _HK_Q + "HeartRate"
        for second, value, context in zip(seconds, values, motion, strict=True):
            stamp = cal.stamp(day, second)
            created = cal.stamp(day, second + 7)
            meta = (
                f'  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="{context}"/>\n'
            )
            out.append(
                _record(
                    q,
                    _WATCH,
                    "9.1",
                    _WATCH_DEVICE,
                    "count/min",
                    created,
                    stamp,
                    stamp,
                    str(value),
                    meta,
                )
            )
        for begin, end in workout_windows:  # dense samples during workouts, every ~5 s
            times = list(range(begin, end, 5))
            values = np.clip(rng.normal(148, 14, len(times)), 80, 195).astype(int).tolist()
            for second, value in zip(times, values, strict=True):
                stamp = cal.stamp(day, second)
                created = cal.stamp(day, end + 60)
                out.append(
                    _record(
                        q,
                        _WATCH,
                        "9.1",
                        _WATCH_DEVICE,
                        "count/min",
                        created,
                        stamp,
                        stamp,
                        str(value),
                    )
                )
        self.records += len(out)
        return out

    def intervals(
        self, day: int, kind: str, unit: str, per_source: tuple, scale: float, decimals: int
    ) -> list[str]:
        """Cumulative quantities over short intervals (steps, distance, energy), per source."""
        rng, cal = self.rng, self.cal
        out = []
        for source, version, device, count in per_source:
            n = int(rng.integers(int(count * 0.8), int(count * 1.2) + 1))
            starts = np.sort(rng.integers(6 * 3600, 23 * 3600, n)).tolist()
            lengths = rng.integers(30, 600, n).tolist()
            values = (rng.gamma(2.0, scale, n)).tolist()
            for start, length, value in zip(starts, lengths, values, strict=True):
                text = f"{value:.{decimals}f}" if decimals else str(max(1, round(value)))
                out.append(
                    _record(
                        kind,
                        source,
                        version,
                        device,
                        unit,
                        cal.stamp(day, start + length + 30),
                        cal.stamp(day, start),
                        cal.stamp(day, start + length),
                        text,
                    )
                )
        self.records += len(out)
        return out

    def daily_points(
        self,
        day: int,
        kind: str,
        unit: str,
        source: str,
        device: str | None,
        values: list[float],
        fmt: str,
        window: tuple[int, int] = (0, 86400),
        children: str = "",
    ) -> list[str]:
        rng, cal = self.rng, self.cal
        seconds = np.sort(rng.integers(window[0], window[1], len(values))).tolist()
        out = []
        for second, value in zip(seconds, values, strict=True):
            stamp = cal.stamp(day, second)
            out.append(
                _record(
                    kind,
                    source,
                    "9.1",
                    device,
                    unit,
                    cal.stamp(day, second + 120),
                    stamp,
                    stamp,
                    fmt % value,
                    children,
                )
            )
        self.records += len(out)
        return out

    def hrv(self, day: int) -> list[str]:
        rng, cal = self.rng, self.cal
        n = int(rng.integers(3, 8))
        seconds = np.sort(rng.integers(0, 86300, n)).tolist()
        out = []
        for second in seconds:
            beats = int(rng.integers(50, 75))
            bpm = rng.integers(52, 80, beats).tolist()
            lines = "".join(
                f'   <InstantaneousBeatsPerMinute bpm="{b}" '
                f'time="{_CLOCK[min(second + i, 86399)]}"/>\n'
                for i, b in enumerate(bpm)
            )
            children = (
                f"  <HeartRateVariabilityMetadataList>\n{lines}"
                "  </HeartRateVariabilityMetadataList>\n"
            )
            start = cal.stamp(day, second)
            out.append(
                _record(
                    _HK_Q + "HeartRateVariabilitySDNN",
                    _WATCH,
                    "9.1",
                    _WATCH_DEVICE,
                    "ms",
                    cal.stamp(day, second + 62),
                    start,
                    cal.stamp(day, second + 60),
                    f"{rng.gamma(9.0, 5.5):.4f}",
                    children,
                )
            )
        self.records += len(out)
        return out

    def sleep(self, day: int) -> list[str]:
        """The night ending on ``day``: the iPhone's in-bed window plus the Watch's stages."""
        rng, cal = self.rng, self.cal
        bedtime = int(rng.integers(-5400, 1800))  # 22:30 the evening before … 00:30
        second = bedtime + int(rng.integers(300, 1200))
        wake = bedtime + int(rng.integers(6 * 3600, 8 * 3600 + 1800))
        out = []
        tz = '  <MetadataEntry key="HKTimeZone" value="Asia/Seoul"/>\n'
        out.append(
            _record(
                _HK_C + "SleepAnalysis",
                _PHONE,
                "16.1",
                None,
                None,
                cal.stamp(day, wake + 600),
                cal.stamp(day, bedtime),
                cal.stamp(day, wake),
                "HKCategoryValueSleepAnalysisInBed",
                tz,
            )
        )
        while second < wake:
            stage = _SLEEP[int(rng.choice(4, p=(0.5, 0.18, 0.24, 0.08)))]
            length = (
                int(rng.integers(240, 2400)) if "Awake" not in stage else int(rng.integers(30, 400))
            )
            end = min(second + length, wake)
            out.append(
                _record(
                    _HK_C + "SleepAnalysis",
                    _WATCH,
                    "9.1",
                    _WATCH_DEVICE,
                    None,
                    cal.stamp(day, wake + 900),
                    cal.stamp(day, second),
                    cal.stamp(day, end),
                    stage,
                    tz,
                )
            )
            second = end
        self.records += len(out)
        return out

    def respiratory(self, day: int) -> list[str]:
        n = int(self.rng.integers(12, 24))
        values = self.rng.normal(14.5, 1.2, n).tolist()
        return self.daily_points(
            day,
            _HK_Q + "RespiratoryRate",
            "count/min",
            _WATCH,
            _WATCH_DEVICE,
            values,
            "%.1f",
            (-3 * 3600 + 86400, 86399),
        )

    def spo2(self, day: int) -> list[str]:
        n = int(self.rng.integers(4, 9))
        values = np.clip(self.rng.normal(0.965, 0.012, n), 0.88, 1.0).tolist()
        return self.daily_points(
            day, _HK_Q + "OxygenSaturation", "%", _WATCH, _WATCH_DEVICE, values, "%.2f"
        )

    def body(self, day: int) -> list[str]:
        rng = self.rng
        out = []
        if day % 3 == 0:
            kg = float(rng.normal(71.0, 0.6))
            children = '  <MetadataEntry key="HKWasUserEntered" value="0"/>\n'
            if day % 57 == 3:  # a metadata value with a stray vertical tab (seen in the wild)
                tab = "\x0b" if self.quirks else ""
                children += f'  <MetadataEntry key="Withings Note" value="after{tab}run"/>\n'
                self.control_chars += len(tab)
            if day % 2:
                out += self.daily_points(
                    day,
                    _HK_Q + "BodyMass",
                    "lb",
                    _SCALE_LB,
                    None,
                    [kg / 0.45359237],
                    "%.1f",
                    (6 * 3600, 9 * 3600),
                    children,
                )
            else:
                out += self.daily_points(
                    day,
                    _HK_Q + "BodyMass",
                    "kg",
                    _SCALE,
                    None,
                    [kg],
                    "%.2f",
                    (6 * 3600, 9 * 3600),
                    children,
                )
            out += self.daily_points(
                day,
                _HK_Q + "BodyFatPercentage",
                "%",
                _SCALE,
                None,
                [float(rng.normal(0.16, 0.01))],
                "%.3f",
                (6 * 3600, 9 * 3600),
            )
        return out

    # -- the file -----------------------------------------------------------------------------

    def day_records(self, kind: str, day: int, windows: dict[int, list]) -> list[str]:
        rng = self.rng
        if kind == "HeartRate":
            return self.heart_rate(day, [(w[1], w[2]) for w in windows.get(day, [])])
        if kind == "StepCount":
            return self.intervals(
                day,
                _HK_Q + "StepCount",
                "count",
                ((_PHONE, "16.1", _PHONE_DEVICE, 70), (_WATCH, "9.1", _WATCH_DEVICE, 110)),
                60.0,
                0,
            )
        if kind == "DistanceWalkingRunning":
            return self.intervals(
                day,
                _HK_Q + "DistanceWalkingRunning",
                "km",
                ((_PHONE, "16.1", _PHONE_DEVICE, 70), (_WATCH, "9.1", _WATCH_DEVICE, 110)),
                0.04,
                5,
            )
        if kind == "ActiveEnergyBurned":
            return self.intervals(
                day,
                _HK_Q + "ActiveEnergyBurned",
                "kcal",
                ((_WATCH, "9.1", _WATCH_DEVICE, 230),),
                1.1,
                3,
            )
        if kind == "BasalEnergyBurned":
            return self.intervals(
                day,
                _HK_Q + "BasalEnergyBurned",
                "kcal",
                ((_WATCH, "9.1", _WATCH_DEVICE, 120),),
                6.0,
                3,
            )
        if kind == "RestingHeartRate":
            return self.daily_points(
                day,
                _HK_Q + "RestingHeartRate",
                "count/min",
                _WATCH,
                _WATCH_DEVICE,
                [float(rng.normal(52, 3))],
                "%d",
                (20 * 3600, 86399),
            )
        if kind == "HeartRateVariabilitySDNN":
            return self.hrv(day)
        if kind == "SleepAnalysis":
            return self.sleep(day)
        if kind == "BodyMass":
            return self.body(day)
        if kind == "VO2Max":
            if day % 4:
                return []
            return self.daily_points(
                day,
                _HK_Q + "VO2Max",
                "mL/min·kg",
                _WATCH,
                _WATCH_DEVICE,
                [float(rng.normal(51, 1))],
                "%.2f",
                (8 * 3600, 20 * 3600),
            )
        if kind == "RespiratoryRate":
            return self.respiratory(day)
        if kind == "OxygenSaturation":
            return self.spo2(day)
        if kind == "RunningPower":
            out = []
            for sport, begin, end, _ in windows.get(day, []):
                if sport == 0:
                    times = list(range(begin, end, 10))
                    values = rng.normal(250, 25, len(times)).tolist()
                    for second, value in zip(times, values, strict=True):
                        stamp = self.cal.stamp(day, second)
                        out.append(
                            _record(
                                _HK_Q + "RunningPower",
                                _WATCH,
                                "9.1",
                                _WATCH_DEVICE,
                                "W",
                                self.cal.stamp(day, end + 60),
                                stamp,
                                stamp,
                                f"{value:.0f}",
                            )
                        )
            self.records += len(out)
            return out
        if kind == "AppleStandTime":
            return self.intervals(
                day, _HK_Q + "AppleStandTime", "min", ((_WATCH, "9.1", _WATCH_DEVICE, 14),), 1.5, 0
            )
        if kind == "EnvironmentalAudioExposure":
            return self.intervals(
                day,
                _HK_Q + "EnvironmentalAudioExposure",
                "dBASPL",
                ((_WATCH, "9.1", _WATCH_DEVICE, 25),),
                30.0,
                4,
            )
        if kind == "MindfulSession":  # a source name with a stray unit separator
            if day % 9 != 1:
                return []
            separator = "\x1f" if self.quirks else ""
            self.control_chars += len(separator)
            return self.daily_points(
                day,
                _HK_C + "MindfulSession",
                None,
                f"Calm{separator}",
                None,
                [0.0],
                "HKCategoryValueNotApplicable%.0s",
            )
        raise ValueError(kind)

    def workout(self, day: int, sport: int, begin: int, end: int) -> str:
        rng, cal = self.rng, self.cal
        kind, _, has_route, distance_type, power_type = _WORKOUTS[sport]
        start, stop = cal.stamp(day, begin), cal.stamp(day, end)
        minutes = (end - begin) / 60
        legacy = day % 5 == 0  # pre-iOS 16 rows carry totals as attributes
        attrs = f'workoutActivityType="{kind}" duration="{minutes:.6f}" durationUnit="min"'
        speed_kmh = {0: 11.0, 1: 27.0, 2: 5.2, 6: 2.4}.get(sport, 0.0)
        km = speed_kmh * minutes / 60
        kcal = minutes * float(rng.uniform(6, 12))
        if legacy:
            attrs += (
                f' totalDistance="{km:.4f}" totalDistanceUnit="km"'
                f' totalEnergyBurned="{kcal:.3f}" totalEnergyBurnedUnit="kcal"'
            )
        lines = [
            f' <Workout {attrs} sourceName="{_WATCH}" sourceVersion="9.1" '
            f'device="{_WATCH_DEVICE}" creationDate="{cal.stamp(day, end + 30)}" '
            f'startDate="{start}" endDate="{stop}">\n',
            f'  <MetadataEntry key="HKIndoorWorkout" value="{0 if has_route else 1}"/>\n',
            '  <MetadataEntry key="HKTimeZone" value="Asia/Seoul"/>\n',
            f'  <MetadataEntry key="HKWeatherTemperature" '
            f'value="{rng.uniform(30, 85):.1f} degF"/>\n',
        ]
        if has_route:
            lines.append(
                f'  <MetadataEntry key="HKElevationAscended" '
                f'value="{int(rng.uniform(500, 40000))} cm"/>\n'
            )
        for k in range(1, int(minutes // 10) + 1):
            lines.append(
                f'  <WorkoutEvent type="HKWorkoutEventTypeSegment" '
                f'date="{cal.stamp(day, begin + (k - 1) * 600)}" '
                'duration="10" durationUnit="min"/>\n'
            )
        pause = begin + (end - begin) // 2
        lines.append(
            f'  <WorkoutEvent type="HKWorkoutEventTypePause" date="{cal.stamp(day, pause)}"/>\n'
        )
        lines.append(
            f'  <WorkoutEvent type="HKWorkoutEventTypeResume" '
            f'date="{cal.stamp(day, pause + 20)}"/>\n'
        )
        span = f'startDate="{start}" endDate="{stop}"'
        lines.append(
            f'  <WorkoutStatistics type="{_HK_Q}ActiveEnergyBurned" {span} sum="{kcal:.3f}" '
            f'unit="kcal"/>\n'
        )
        lines.append(
            f'  <WorkoutStatistics type="{_HK_Q}BasalEnergyBurned" {span} '
            f'sum="{minutes * 1.1:.3f}" unit="kcal"/>\n'
        )
        if distance_type:
            unit, value = ("m", km * 1000) if sport == 6 else ("km", km)
            lines.append(
                f'  <WorkoutStatistics type="{_HK_Q}{distance_type}" {span} sum="{value:.4f}" '
                f'unit="{unit}"/>\n'
            )
        hr = rng.normal(145, 8)
        lines.append(
            f'  <WorkoutStatistics type="{_HK_Q}HeartRate" {span} average="{hr:.2f}" '
            f'minimum="{hr - 40:.0f}" maximum="{hr + 30:.0f}" unit="count/min"/>\n'
        )
        if power_type:
            watts = rng.normal(240 if sport == 0 else 200, 20)
            lines.append(
                f'  <WorkoutStatistics type="{_HK_Q}{power_type}" {span} average="{watts:.1f}" '
                f'minimum="0" maximum="{watts * 1.8:.0f}" unit="W"/>\n'
            )
        if has_route:
            local = cal.stamp(day, begin)
            hour = int(local[11:13])
            name = (
                f"route_{local[:10]}_{hour % 12 or 12}.{local[14:16]}"
                f"{'am' if hour < 12 else 'pm'}.gpx"
            )
            sync = uuid.UUID(bytes=hashlib.md5(start.encode(), usedforsecurity=False).digest())
            lines.append(
                f'  <WorkoutRoute sourceName="{_WATCH}" sourceVersion="9.1" '
                f'creationDate="{cal.stamp(day, end + 40)}" {span}>\n'
                '   <MetadataEntry key="HKMetadataKeySyncVersion" value="2"/>\n'
                f'   <MetadataEntry key="HKMetadataKeySyncIdentifier" value="{sync}"/>\n'
                f'   <FileReference path="/workout-routes/{name}"/>\n'
                "  </WorkoutRoute>\n"
            )
        lines.append(" </Workout>\n")
        return "".join(lines)


_RECORD_TYPES = (
    "HeartRate",
    "StepCount",
    "DistanceWalkingRunning",
    "ActiveEnergyBurned",
    "BasalEnergyBurned",
    "RestingHeartRate",
    "HeartRateVariabilitySDNN",
    "SleepAnalysis",
    "BodyMass",
    "VO2Max",
    "RespiratoryRate",
    "OxygenSaturation",
    "RunningPower",
    "AppleStandTime",
    "EnvironmentalAudioExposure",
    "MindfulSession",
)


def _workout_plan(
    rng: np.random.Generator, days: int
) -> dict[int, list[tuple[int, int, int, int]]]:
    """day -> [(sport index, start second, end second, route index)] — about 0.7 a day."""
    shares = np.array([w[1] for w in _WORKOUTS])
    plan: dict[int, list[tuple[int, int, int, int]]] = {}
    for day in range(days):
        if rng.random() < 0.7:
            sport = int(rng.choice(len(_WORKOUTS), p=shares / shares.sum()))
            begin = int(rng.integers(6 * 3600, 19 * 3600))
            length = int(rng.integers(20 * 60, 100 * 60))
            plan.setdefault(day, []).append((sport, begin, begin + length, day))
    return plan


def _gpx(cal: _Calendar, day: int, begin: int, end: int, rng: np.random.Generator) -> str:
    n = end - begin
    lat = 37.55 + np.cumsum(rng.normal(0, 2e-5, n))
    lon = 126.98 + np.cumsum(rng.normal(0, 2e-5, n))
    ele = 30 + np.cumsum(rng.normal(0, 0.1, n))
    speed = np.abs(rng.normal(3.0, 0.3, n))
    utc0 = begin - cal.offset_s[day]
    base = np.datetime64(cal.date_str[day]) + np.timedelta64(utc0, "s")
    times = (base + np.arange(n).astype("timedelta64[s]")).astype(str).tolist()
    points = "".join(
        f'      <trkpt lon="{lo:.6f}" lat="{la:.6f}"><ele>{e:.6f}</ele><time>{t}Z</time>'
        f"<extensions><speed>{s:.6f}</speed><course>-1.000000</course>"
        f"<hAcc>3.5</hAcc><vAcc>2.1</vAcc></extensions></trkpt>\n"
        for lo, la, e, t, s in zip(
            lon.tolist(), lat.tolist(), ele.tolist(), times, speed.tolist(), strict=True
        )
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="Apple Health Export" '
        'xmlns="http://www.topografix.com/GPX/1/1">\n  <trk>\n    <trkseg>\n'
        f"{points}    </trkseg>\n  </trk>\n</gpx>\n"
    )


def _bytes_per_day(seed: int, days: int) -> float:
    cal = _Calendar(date(2016, 1, 1), days)
    probe = _Generator(seed + 1, cal)
    plan = _workout_plan(probe.rng, days + 1)
    total = sum(
        len(text.encode("utf-8"))
        for kind in _RECORD_TYPES
        for day in range(1, days + 1)
        for text in probe.day_records(kind, day, plan)
    )
    total += sum(
        len(probe.workout(day, *entry[:3]).encode("utf-8"))
        for day in range(1, days + 1)
        for entry in plan.get(day, [])
    )
    return total / days + 260  # + the day's ActivitySummary


def write_export(
    path: Path, target_mb: int, *, seed: int = 1, routes: bool = False, quirks: bool = True
) -> dict:
    """Write a synthetic iOS-16-style ``export.xml`` of about ``target_mb`` MB to ``path``.

    ``quirks=False`` writes the same records without Apple's broken DTD and without the stray
    control characters: a file that stdlib-based tools (the healthkit-to-sqlite anchor) read.

    Returns ``{"records", "workouts", "bytes", "days", "control_chars", "routes"}``: top-level
    ``Record`` elements (correlation children excluded), ``Workout`` elements, the file size,
    the number of days covered, stray control characters written and GPX files written.
    """
    path = Path(path)
    target = max(1, target_mb) * 1_000_000
    # Size the span from a probe: a week, then two months when the file needs more than that
    # (workout days carry dense heart rate, so short probes vary by several percent).
    per_day = _bytes_per_day(seed, 7)
    if target / per_day > 60:
        per_day = _bytes_per_day(seed, 60)
    days = max(2, round(target / per_day))

    cal = _Calendar(date(2016, 1, 1), days)
    gen = _Generator(seed, cal, quirks=quirks)
    plan = _workout_plan(gen.rng, days + 1)
    out = _Writer(path)
    export_day = days + 1
    out.add('<?xml version="1.0" encoding="UTF-8"?>\n')
    if quirks:
        out.add(DTD_V12_BROKEN)
    out.add('<HealthData locale="ko_KR">\n')
    out.add(f' <ExportDate value="{cal.stamp(export_day, 36000)}"/>\n')
    out.add(
        ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1988-04-02" '
        'HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexMale" '
        'HKCharacteristicTypeIdentifierBloodType="HKBloodTypeAPositive" '
        'HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet" '
        'HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse="None"/>\n'
    )
    for kind in _RECORD_TYPES:
        for day in range(1, days + 1):
            for text in gen.day_records(kind, day, plan):
                out.add(text)
    # A food correlation now and then; its child records also appear at the top level in real
    # exports, but they are not counted in ``records`` here (only the correlation is written).
    for day in range(1, days + 1, 30):
        stamp = cal.stamp(day, 45000)
        out.add(
            f' <Correlation type="HKCorrelationTypeIdentifierFood" sourceName="MyFitnessPal" '
            f'sourceVersion="22.1" creationDate="{stamp}" startDate="{stamp}" endDate="{stamp}">\n'
            '  <MetadataEntry key="HKFoodMeal" value="Lunch"/>\n'
            f'  <Record type="{_HK_Q}DietaryEnergyConsumed" sourceName="MyFitnessPal" '
            f'sourceVersion="22.1" unit="kcal" creationDate="{stamp}" startDate="{stamp}" '
            f'endDate="{stamp}" value="640"/>\n'
            " </Correlation>\n"
        )
    workouts = 0
    route_files = 0
    route_dir = path.parent / "workout-routes"
    for day in range(1, days + 1):
        for sport, begin, end, _ in plan.get(day, []):
            text = gen.workout(day, sport, begin, end)
            out.add(text)
            workouts += 1
            if routes and _WORKOUTS[sport][2]:
                name = text.split("/workout-routes/", 1)[1].split('"', 1)[0]
                route_dir.mkdir(exist_ok=True)
                (route_dir / name).write_text(_gpx(cal, day, begin, end, gen.rng), "utf-8")
                route_files += 1
    for day in range(1, days + 1):
        kcal = float(gen.rng.normal(520, 120))
        out.add(
            f' <ActivitySummary dateComponents="{cal.date_str[day]}" '
            f'activeEnergyBurned="{kcal:.3f}" activeEnergyBurnedGoal="600" '
            'activeEnergyBurnedUnit="kcal" appleMoveTime="0" appleMoveTimeGoal="0" '
            f'appleExerciseTime="{int(gen.rng.integers(5, 90))}" appleExerciseTimeGoal="30" '
            f'appleStandHours="{int(gen.rng.integers(6, 15))}" appleStandHoursGoal="12"/>\n'
        )
    out.add("</HealthData>\n")
    out.close()
    return {
        "records": gen.records,
        "workouts": workouts,
        "bytes": out.bytes,
        "days": days,
        "control_chars": gen.control_chars,
        "routes": route_files,
    }


if __name__ == "__main__":  # pragma: no cover - manual use: python gen_apple_health.py out.xml 50
    import sys
    import time

    started = time.perf_counter()
    counts = write_export(Path(sys.argv[1]), int(sys.argv[2]))
    print(counts, f"{time.perf_counter() - started:.1f} s")
