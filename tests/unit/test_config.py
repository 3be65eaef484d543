from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
GOOD_URL = "postgresql+psycopg://domestique:s3cure-Passw0rd@db:5432/domestique"


def test_every_setting_is_documented_in_the_readme():
    documented = set(re.findall(r"^\| `(DOMESTIQUE_[A-Z_]+)`", README.read_text(), re.M))
    expected = {f"DOMESTIQUE_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set(), "add these to the README's settings table"
    assert documented - expected == set(), "the README documents settings that do not exist"


def test_environment_with_prefix(monkeypatch):
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_PORT", "8123")
    monkeypatch.setenv("DOMESTIQUE_SESSION_COOKIE_SECURE", "true")
    settings = Settings()
    assert settings.port == 8123 and settings.session_cookie_secure is True


def test_file_variant_reads_docker_secrets(monkeypatch, tmp_path):
    secret = tmp_path / "db_url"
    secret.write_text(GOOD_URL + "\n")
    token = tmp_path / "token"
    token.write_text("a-metrics-token")
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL_FILE", str(secret))
    monkeypatch.setenv("DOMESTIQUE_METRICS_TOKEN_FILE", str(token))
    settings = Settings()
    assert settings.database_url.get_secret_value() == GOOD_URL
    assert settings.metrics_token.get_secret_value() == "a-metrics-token"
    assert "s3cure" not in repr(settings) and "a-metrics-token" not in str(settings)


def test_production_refuses_placeholder_database_password(monkeypatch):
    monkeypatch.delenv("DOMESTIQUE_ENV", raising=False)
    monkeypatch.delenv("DOMESTIQUE_DATABASE_URL", raising=False)
    with pytest.raises(ValidationError, match="has the sample password") as refused:
        Settings()
    # It also says what to do when the database already started with that password.
    assert "psql -U domestique -d postgres -c '\\password domestique'" in str(refused.value)
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", GOOD_URL)
    assert Settings().env == "production"


def test_production_refuses_placeholder_secret_key(monkeypatch):
    monkeypatch.delenv("DOMESTIQUE_ENV", raising=False)
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", GOOD_URL)
    monkeypatch.setenv("DOMESTIQUE_SECRET_KEY", "change-me")
    with pytest.raises(ValidationError, match="SECRET_KEY is a placeholder"):
        Settings()


def test_development_allows_placeholders(monkeypatch):
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.delenv("DOMESTIQUE_DATABASE_URL", raising=False)
    assert Settings().env == "development"


def test_unknown_time_zone_is_refused(monkeypatch):
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValidationError):
        Settings()
