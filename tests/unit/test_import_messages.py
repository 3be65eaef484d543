"""Every error or notice code an adapter or the import service can produce has a sentence for
the owner, in Korean and English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.i18n import current_locale
from app.messages import describe, known_codes

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((ROOT / "app" / "sources").rglob("*.py")),
    *sorted((ROOT / "app" / "services" / "imports").glob("*.py")),
]
PATTERNS = (
    re.compile(r'code="([a-z0-9_]+)"'),
    re.compile(r'Notice\(\s*"([a-z0-9_]+)"'),
)


CONNECTION_SOURCES = [
    ROOT / "app" / "services" / name
    for name in (
        "sync/linking.py",
        "sync/engine.py",
        "sync/connect.py",
        "work/runner.py",
        "sync/status.py",
    )
] + [ROOT / "app" / "web" / "routes" / "connections.py"]
CONNECTION_PATTERNS = (
    re.compile(r'SignInRefused\("([a-z_]+)"'),
    re.compile(r'_failed\(session, source, "([a-z_]+)"'),
    re.compile(r'(?:rate_code|last_error_code)="([a-z_]+)"'),
    re.compile(r'_Stop\("[a-z_]+", "([a-z_]+)"'),
    re.compile(r'_back\(request, name, "([a-z_]+)"'),
    re.compile(r'_refuse\(desk, name, state, "([a-z_]+)"'),
    re.compile(r'return "([a-z_]+)"'),
    re.compile(r'"((?:login|sync|source)_[a-z_]+)"'),
)
OUTCOMES = {"connected", "mfa"}  # sign-in outcomes, not errors


def _connection_codes() -> set[str]:
    found: set[str] = set()
    for path in CONNECTION_SOURCES:
        text = path.read_text()
        for pattern in CONNECTION_PATTERNS:
            found.update(pattern.findall(text))
    return found - OUTCOMES


def test_connection_codes_are_found():
    assert {"login_cooldown", "mfa_expired", "paused", "credentials_missing"} <= _connection_codes()


@pytest.mark.parametrize("code", sorted(_connection_codes()))
def test_every_connection_code_has_a_sentence(code):
    assert code in known_codes()


def _codes_in_code() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        text = path.read_text()
        for pattern in PATTERNS:
            found.update(pattern.findall(text))
    found.discard("malformed")  # SourceDataError's default, never raised by an import path
    return found


def test_codes_are_found():
    codes = _codes_in_code()
    assert {"not_fit", "zip_bomb", "xml_entities", "fit_truncated"} <= codes


@pytest.mark.parametrize("code", sorted(_codes_in_code()))
def test_every_code_has_a_sentence(code):
    assert code in known_codes()


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_sentences_fill_their_parameters(locale):
    token = current_locale.set(locale)
    try:
        text = describe("fit_truncated", {"records": 473})
        assert "473" in text and "%(" not in text
        assert "%(" not in describe("zip_bomb", {"limit_mb": 20480})
        assert describe("no_such_code") and "no_such_code" in describe("no_such_code")
    finally:
        current_locale.reset(token)
