"""Every message has a Korean and an English translation; formatting follows the locale."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app import i18n
from app.i18n_tool import compiled, extract, load, po_path, untranslated


@pytest.fixture(scope="module")
def template():
    return extract()


@pytest.mark.parametrize("locale", i18n.SUPPORTED_LOCALES)
def test_every_message_is_translated(template, locale):
    catalog = load(locale)
    ids = {message.id for message in catalog if message.id}
    missing_from_catalog = [m.id for m in template if m.id and m.id not in ids]
    assert missing_from_catalog == [], f"run `make i18n` and translate ({locale})"
    assert untranslated(catalog) == [], f"untranslated {locale} messages"


def test_extraction_finds_templates_and_python(template):
    ids = {message.id for message in template}
    assert "Dashboard" in ids  # templates
    assert "The two passwords are not the same." in ids  # python


@pytest.mark.parametrize("locale", i18n.SUPPORTED_LOCALES)
def test_compiled_catalogs_are_current(locale):
    mo_file = po_path(locale).with_suffix(".mo")
    assert mo_file.read_bytes() == compiled(load(locale)), "run `make i18n`"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ko-KR,ko;q=0.9,en-US;q=0.8", "ko"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR,ko;q=0.5", "ko"),
        ("fr-FR,de;q=0.9", "en"),
        ("en;q=0.2,ko;q=0.8", "ko"),
        ("", "en"),
        ("garbage;;,", "en"),
    ],
)
def test_negotiate(header, expected):
    assert i18n.negotiate(header, "en") == expected


def test_formatting_follows_locale_and_time_zone():
    moment = datetime(2026, 3, 5, 23, 30, tzinfo=UTC)
    token_locale = i18n.current_locale.set("ko")
    token_tz = i18n.current_timezone.set("Asia/Seoul")
    try:
        assert i18n.format_date(moment) == "2026. 3. 6."  # already the 6th in Seoul
        assert i18n.format_number(12345.678, 1) == "12,345.7"
        assert i18n.format_number(-0.04, 1) == "0.0"  # never “-0.0”
        assert i18n.format_number(-0.0) == "0"
        assert i18n.gettext("Dashboard") == "대시보드"
        assert i18n.gettext("The password needs at least %(n)s characters.", n=10) == (
            "비밀번호는 10자 이상이어야 합니다."
        )
    finally:
        i18n.current_locale.reset(token_locale)
        i18n.current_timezone.reset(token_tz)
    token_locale = i18n.current_locale.set("en")
    try:
        assert i18n.format_date(moment) == "Mar 5, 2026"  # UTC by default
        assert i18n.gettext("Dashboard") == "Dashboard"
    finally:
        i18n.current_locale.reset(token_locale)
