"""Every message has a Korean and an English translation; formatting follows the locale."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from app import i18n
from app.i18n_tool import compiled, extract, load, po_path, untranslated
from tests.support import korean
from tests.support.korean import PLACEHOLDER


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


def _pairs(locale: str):
    """(msgid, translation) for every form of every message of ``locale``'s catalog."""
    for message in load(locale):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            yield ids[-1], string


@pytest.mark.parametrize("locale", i18n.SUPPORTED_LOCALES)
def test_translations_fill_in_what_their_message_fills_in(locale):
    wrong = [
        (msgid, string)
        for msgid, string in _pairs(locale)
        if sorted(set(PLACEHOLDER.findall(msgid))) != sorted(set(PLACEHOLDER.findall(string)))
    ]
    assert wrong == []


# A placeholder followed at once by one form of a particle pair (은, 를, 가…): the other form is
# needed whenever the value ends the other way. Write both, 이(가), and let gettext choose.
FIXED_PARTICLE = re.compile(
    r"%\(\w+\)[sd][”’\"']*(?:이|가|은|는|을|를|과|와|으로|로|랑)(?![가-힣(])"
)


def test_korean_particles_after_a_value_are_left_to_the_value():
    fixed = [string for _msgid, string in _pairs("ko") if FIXED_PARTICLE.search(string)]
    assert fixed == []


def test_korean_messages_keep_only_allowed_english():
    english = {
        string: words for _msgid, string in _pairs("ko") if (words := korean.english_words(string))
    }
    assert english == {}
