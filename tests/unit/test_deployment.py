"""compose.yaml, Dockerfile and .env.example, checked by reading (no Docker engine here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from app.config import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_starts_with_install_steps():
    head = (ROOT / "compose.yaml").read_text().splitlines()[:12]
    assert head[0].startswith("#") and any("docker compose up -d" in line for line in head)


def test_db_service_is_pinned_timescaledb_ha_with_healthcheck(compose):
    db = compose["services"]["db"]
    assert re.fullmatch(r"timescale/timescaledb-ha:pg17(\.\d+)?-ts2\.\d+(\.\d+)?", db["image"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert db["restart"] == "unless-stopped"
    assert any(volume.startswith("./data/") for volume in db["volumes"])
    assert "POSTGRES_PASSWORD" in db["environment"]


def test_app_service_waits_for_db_mounts_data_and_runs_one_worker(compose):
    app = compose["services"]["app"]
    assert app["build"] == "."
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["restart"] == "unless-stopped"
    assert {"./data:/data", "./backups:/backups"} <= set(app["volumes"])
    assert ".env" in app["env_file"]
    assert "/healthz" in " ".join(app["healthcheck"]["test"])
    command = " ".join(app["command"])
    assert command.startswith("domestique serve") and "--workers" not in command


def test_dockerfile_is_python_313_trixie_non_root_with_healthcheck():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.13-slim-trixie$", dockerfile, re.M)
    assert "postgresql-client-17" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert re.search(r"^HEALTHCHECK .*\n.*healthz", dockerfile, re.M)
    assert '"domestique", "serve"' in dockerfile and "--workers" not in dockerfile


def test_serve_runs_exactly_one_worker():
    source = (ROOT / "app" / "cli.py").read_text()
    assert "workers=1" in source


def test_env_example_only_names_real_settings():
    names = set(
        re.findall(r"^#?\s*(DOMESTIQUE_[A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    known = {f"DOMESTIQUE_{name.upper()}" for name in Settings.model_fields}
    assert names and names <= known
