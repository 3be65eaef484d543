"""Korean and English: gettext catalogs under app/locale, Babel formatting for the locale.

The current locale and time zone live in context variables set per request
(``app.web.middleware.RequestContextMiddleware``), so Python code and templates translate with
the same ``gettext``.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.core import UnknownLocaleError
from babel.support import Translations

from app.i18n_particles import resolve as resolve_particles

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SUPPORTED_LOCALES = ("ko", "en")
DOMAIN = "messages"

current_locale: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default="en")
current_timezone: contextvars.ContextVar[str] = contextvars.ContextVar("timezone", default="UTC")
current_units: contextvars.ContextVar[str] = contextvars.ContextVar("units", default="metric")

METERS_PER_MILE = 1609.344
FEET_PER_METER = 3.280839895
POUNDS_PER_KG = 2.20462262185


@lru_cache
def translations(locale: str) -> Translations:
    return Translations.load(str(LOCALE_DIR), [locale], DOMAIN)


def gettext(message: str, **variables: object) -> str:
    """``message`` in the current language, its ``%(name)s`` filled in and its Korean
    particles (``이(가)``…) agreeing with what was filled in (``app.i18n_particles``)."""
    text = translations(current_locale.get()).gettext(message)
    return resolve_particles(text % variables if variables else text)


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations(current_locale.get()).ngettext(singular, plural, n)
    return resolve_particles(text % {"num": n, **variables})


_ = gettext


@contextmanager
def using(
    locale: str | None = None, units: str | None = None, timezone: str | None = None
) -> Iterator[None]:
    """Translate and format in ``locale``, ``units`` and ``timezone`` inside the block (those
    given), whoever the request is for: a calendar feed or a file written for the owner."""
    tokens = [
        (variable, variable.set(value))
        for variable, value in (
            (current_locale, locale),
            (current_units, units),
            (current_timezone, timezone),
        )
        if value is not None
    ]
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


def negotiate(accept_language: str | None, default: str) -> str:
    """The best supported locale for an ``Accept-Language`` header."""
    if not accept_language:
        return default
    wanted: list[tuple[float, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            wanted.append((quality - index * 1e-6, tag.strip()))
    for _quality, tag in sorted(wanted, reverse=True):
        try:
            language = Locale.parse(tag.replace("-", "_")).language
        except (UnknownLocaleError, ValueError):
            continue
        if language in SUPPORTED_LOCALES:
            return language
    return default


def _tz() -> ZoneInfo:
    return ZoneInfo(current_timezone.get())


def format_datetime(value: datetime, format: str = "medium") -> str:
    locale = current_locale.get()
    return dates.format_datetime(
        value, format=_datetime_pattern(format, locale), tzinfo=_tz(), locale=locale
    )


@lru_cache
def _datetime_pattern(format: str, locale: str) -> str:
    """Babel's named date-and-time pattern, with the day period written out in Korean: CLDR
    abbreviates it to “AM”/“PM” there (“26. 3. 5. PM 10:30”), where Korean writes 오전/오후."""
    if locale != "ko" or format not in ("short", "medium", "long", "full"):
        return format
    data = Locale.parse(locale)
    time = re.sub(r"(?<!a)a(?!a)", "aaaa", data.time_formats[format].pattern)
    date = data.date_formats[format].pattern
    return str(data.datetime_formats[format]).replace("{0}", time).replace("{1}", date)


def format_date(value: date | datetime | str, format: str = "medium") -> str:
    """A day in the locale's words; also an ISO date string (``2026-03-06``) as the JSON
    statistics carry it."""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(_tz()).date()
    return dates.format_date(value, format=format, locale=current_locale.get())


def format_number(value: float | int, digits: int | None = None) -> str:
    """``value`` in the locale's digits; what shows as zero is never “-0” or “-0.0”."""
    if value == 0 or (digits is not None and round(value, digits) == 0):
        value = 0
    if digits is None:
        return numbers.format_decimal(value, locale=current_locale.get())
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return numbers.format_decimal(value, format=pattern, locale=current_locale.get())


def format_percent(value: float) -> str:
    return numbers.format_percent(value, locale=current_locale.get())


def format_duration(value: timedelta, threshold: float = 0.85) -> str:
    """A rough duration in words (“3 hours”, “3시간”), for ETAs."""
    return dates.format_timedelta(value, threshold=threshold, locale=current_locale.get())


def format_elapsed(value: timedelta | float) -> str:
    """An exact short duration: ``1:02:03`` or ``4:05`` (the same in every language)."""
    seconds = round(value.total_seconds() if isinstance(value, timedelta) else value)
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _imperial() -> bool:
    return current_units.get() == "imperial"


def format_distance(meters: float | None, digits: int = 1) -> str:
    """``12.3 km`` or ``7.6 mi`` by the owner's units (symbols are the same in every language)."""
    if meters is None:
        return "—"
    if _imperial():
        return f"{format_number(meters / METERS_PER_MILE, digits)} mi"
    return f"{format_number(meters / 1000, digits)} km"


def format_pace(seconds_per_km: float | None) -> str:
    """``5:12 /km`` or ``8:22 /mi``."""
    if seconds_per_km is None or not seconds_per_km > 0:
        return "—"
    per, unit = (
        (seconds_per_km * METERS_PER_MILE / 1000, "/mi") if _imperial() else (seconds_per_km, "/km")
    )
    return f"{format_elapsed(per)} {unit}"


def format_speed(meters_per_second: float | None, digits: int = 1) -> str:
    if meters_per_second is None:
        return "—"
    if _imperial():
        return f"{format_number(meters_per_second * 3600 / METERS_PER_MILE, digits)} mph"
    return f"{format_number(meters_per_second * 3.6, digits)} km/h"


def format_elevation(meters: float | None) -> str:
    if meters is None:
        return "—"
    if _imperial():
        return f"{format_number(meters * FEET_PER_METER, 0)} ft"
    return f"{format_number(meters, 0)} m"


def format_weight(kilograms: float | None, digits: int = 1) -> str:
    if kilograms is None:
        return "—"
    if _imperial():
        return f"{format_number(kilograms * POUNDS_PER_KG, digits)} lb"
    return f"{format_number(kilograms, digits)} kg"


def language_name(locale: str) -> str:
    """A language's own name for itself (한국어, English)."""
    return Locale.parse(locale).get_display_name(locale).capitalize()
