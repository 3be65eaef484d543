"""FIT profile names and constants shared by both decoding paths.

Names come from fitdecode's generated copy of the FIT profile, whichever path decoded the file, so
the fast and the tolerant path name sports, products and file types identically (fitfast carries a
newer profile; only codes it knows and fitdecode does not would differ, and those come out as
numbers on both paths).
"""

from __future__ import annotations

from typing import Any

from fitdecode import profile as _profile

# FIT date_time counts seconds from 1989-12-31T00:00:00Z.
FIT_EPOCH = 631065600
# date_time raw values below this are seconds since the device powered on, not UTC (FIT protocol,
# "date_time" type): a device without a real-time clock wrote the file.
SYSTEM_TIME_MAX = 0x10000000
RELATIVE_TIME_LIMIT = FIT_EPOCH + SYSTEM_TIME_MAX  # the same bound in Unix seconds

# Global message numbers.
MESG_FILE_ID = 0
MESG_SPORT = 12
MESG_SESSION = 18
MESG_LAP = 19
MESG_RECORD = 20
MESG_ACTIVITY = 34
MESG_MONITORING = 55
MESG_HRV = 78
MESG_MONITORING_INFO = 103
MESG_HR = 132
MESG_FIELD_DESCRIPTION = 206
MESG_DEVELOPER_DATA_ID = 207

# The messages other than ``record`` and ``hrv`` that the mapper reads.
SUMMARY_MESSAGES = {
    MESG_FILE_ID: "file_id",
    MESG_SPORT: "sport",
    MESG_SESSION: "session",
    MESG_LAP: "lap",
    MESG_ACTIVITY: "activity",
    MESG_MONITORING: "monitoring",
    MESG_MONITORING_INFO: "monitoring_info",
    MESG_HR: "hr",
    MESG_FIELD_DESCRIPTION: "field_description",
    MESG_DEVELOPER_DATA_ID: "developer_data_id",
}

# ``record`` fields the samples are built from (profile names).
RECORD_FIELDS = (
    "timestamp",
    "heart_rate",
    "power",
    "cadence",
    "speed",
    "enhanced_speed",
    "distance",
    "position_lat",
    "position_long",
    "altitude",
    "enhanced_altitude",
    "temperature",
)
RECORD_FIELD_NAMES = frozenset(f.name for f in _profile.MESSAGE_TYPES[MESG_RECORD].fields.values())

SEMICIRCLE_TO_DEGREES = 180.0 / 2**31


def _enum(type_name: str) -> dict[int, str]:
    return dict(_profile.FIELD_TYPES[type_name].enum)


FILE_TYPES = _enum("file")
MANUFACTURERS = _enum("manufacturer")
SPORTS = _enum("sport")
SUB_SPORTS = _enum("sub_sport")
GARMIN_PRODUCTS = _enum("garmin_product")
FAVERO_PRODUCTS = _enum("favero_product")
# Manufacturers whose ``product`` is a ``garmin_product`` (the profile's subfield references).
_GARMIN_FAMILY = frozenset(
    ref.raw_value
    for sub in _profile.MESSAGE_TYPES[MESG_FILE_ID].fields[2].subfields
    if sub.name == "garmin_product"
    for ref in sub.ref_fields
)
_FAVERO = 263


def _code(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def file_kind(value: Any) -> str | None:
    code = _code(value)
    if code is None:
        return None
    return FILE_TYPES.get(code, str(code))


def sport_name(value: Any) -> str | None:
    code = _code(value)
    if code is None:
        return None
    return SPORTS.get(code, str(code))


def sub_sport_name(value: Any) -> str | None:
    code = _code(value)
    if code is None:
        return None
    return SUB_SPORTS.get(code, str(code))


def device_name(file_id: dict[str | int, Any]) -> str | None:
    """``"<manufacturer> <product>"``: Garmin-family products by their profile name, else the
    file's ``product_name`` string, else the numeric product id ("wahoo_fitness 28")."""
    maker_code = _code(file_id.get("manufacturer"))
    product = _code(file_id.get("product"))
    product_name = file_id.get("product_name")
    maker = MANUFACTURERS.get(maker_code, str(maker_code)) if maker_code is not None else None
    model: str | None = None
    if product is not None and maker_code in _GARMIN_FAMILY:
        model = GARMIN_PRODUCTS.get(product)
    elif product is not None and maker_code == _FAVERO:
        model = FAVERO_PRODUCTS.get(product)
    if model is None and isinstance(product_name, str) and product_name.strip():
        model = product_name.strip()
    if model is None and product is not None:
        model = str(product)
    parts = [part for part in (maker, model) if part]
    return " ".join(parts) or None
