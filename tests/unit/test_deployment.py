"""compose.yaml, Dockerfile, .env.example and pyproject.toml, checked by reading (no Docker
engine here): what a NAS install needs to work the first time and to survive upgrades."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePosixPath

import pytest
import yaml

from app.config import PLACEHOLDERS, Settings
from app.security.keys import KEY_FILE_NAME

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (ROOT / "compose.yaml").read_text()


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    """``NAME=value`` lines of .env.example (commented-out ones excluded)."""
    pairs = re.findall(r"^([A-Z_]+)=(.*)$", (ROOT / ".env.example").read_text(), re.M)
    return dict(pairs)


def _dockerfile_env(dockerfile: str) -> dict[str, str]:
    return dict(re.findall(r"\b(DOMESTIQUE_[A-Z_]+)=(\S+)", dockerfile))


def _pg_major_of_image(compose: dict) -> str:
    image = compose["services"]["db"]["image"]
    match = re.fullmatch(
        r"timescale/timescaledb-ha:pg(\d+)(\.\d+)?-ts2\.\d+(\.\d+)?(@sha256:[0-9a-f]{64})?", image
    )
    assert match, image
    return match[1]


def test_compose_starts_with_install_steps(compose_text):
    head = compose_text.splitlines()[:12]
    assert head[0].startswith("#") and any("docker compose up -d" in line for line in head)


# --- 1. the sample password ------------------------------------------------------------------


def test_env_example_ships_an_empty_password_that_compose_refuses(env_example, compose_text):
    """An empty value stops `docker compose up` before the database is initialised with it;
    a sample value would become the database's password for good."""
    assert env_example["POSTGRES_PASSWORD"] == ""
    uses = re.findall(r"\$\{POSTGRES_PASSWORD([^}]*)\}", compose_text)
    assert len(uses) == 2  # the db's POSTGRES_PASSWORD and the app's database URL
    # `:?` refuses an unset *or empty* variable (`?` alone would accept an empty one).
    assert all(use.startswith(":?") and "set POSTGRES_PASSWORD in .env" in use for use in uses)
    assert "" in PLACEHOLDERS  # and the app refuses it too, should compose be bypassed


def test_env_example_only_names_real_settings_and_compose_variables(compose_text):
    text = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.M))
    known = {f"DOMESTIQUE_{name.upper()}" for name in Settings.model_fields}
    app_settings = {name for name in names if name.startswith("DOMESTIQUE_")}
    assert app_settings and app_settings <= known
    compose_only = names - app_settings
    assert compose_only == {"POSTGRES_PASSWORD", "HTTP_PORT", "TS_TUNE_MEMORY"}
    for name in compose_only:
        assert f"${{{name}" in compose_text, f"{name} is in .env.example but compose ignores it"


def test_readme_lists_every_compose_variable(env_example):
    readme = (ROOT / "README.md").read_text()
    for name in ("POSTGRES_PASSWORD", "HTTP_PORT", "TS_TUNE_MEMORY"):
        assert f"`{name}`" in readme


# --- 2. where the database's files live; what the app mounts ----------------------------------


def test_database_lives_in_a_named_volume_outside_data(compose):
    db = compose["services"]["db"]
    (volume,) = db["volumes"]
    source, target = volume.split(":")
    assert target == "/home/postgres/pgdata"  # the image's PGDATA is pgdata/data below it
    assert source in compose["volumes"], "a named volume, declared at the top level"
    assert not source.startswith((".", "/")), "not a bind mount of a NAS folder"


def test_app_mounts_only_what_it_writes_and_matches_its_settings(compose, dockerfile):
    app = compose["services"]["app"]
    env = _dockerfile_env(dockerfile)
    data, backups = env["DOMESTIQUE_DATA_DIR"], env["DOMESTIQUE_BACKUP_DIR"]
    assert sorted(app["volumes"]) == sorted([f"./backups:{backups}", f"./data:{data}"])
    db_volume = compose["services"]["db"]["volumes"][0].split(":")[0]
    assert not any(v.startswith(f"{db_volume}:") for v in app["volumes"])
    # The folders Docker mounts are the ones the app's settings point at, and everything the
    # app writes lies below them: the raw store and its uploads in progress, the key, and the
    # restore's side-by-side copies (renamed next to raw/, so data/ itself must be the mount).
    settings = Settings(env="development", data_dir=data, backup_dir=backups)
    inside_data = [
        settings.raw_dir,
        settings.raw_dir / ".incoming",
        settings.data_dir / KEY_FILE_NAME,
        settings.raw_dir.with_name("raw.restore-20260101000000"),
    ]
    for path in inside_data:
        assert PurePosixPath(path).is_relative_to(data), path
    assert PurePosixPath(settings.raw_dir) != PurePosixPath(data)
    assert PurePosixPath(settings.backup_dir) == PurePosixPath(backups)
    assert re.search(rf'^VOLUME \["{data}", "{backups}"\]$', dockerfile, re.M)


def test_nothing_is_kept_under_data_db(compose_text):
    """The old layout put the live cluster in ./data/db, where the app and NAS file backups
    could reach it."""
    assert "./data/db" not in compose_text


# --- 4. telemetry, 5. stop and memory ----------------------------------------------------------


def test_db_has_telemetry_off_and_time_to_stop_cleanly(compose):
    db = compose["services"]["db"]
    # A string: YAML reads a bare `off` as false, which the image would not recognise.
    assert db["environment"]["TIMESCALEDB_TELEMETRY"] == "off"
    assert db["stop_grace_period"] == "60s"
    assert db["stop_signal"] == "SIGINT"  # PostgreSQL's fast shutdown


def test_db_memory_is_tuned_for_a_small_nas_by_default(compose):
    tune = compose["services"]["db"]["environment"]["TS_TUNE_MEMORY"]
    match = re.fullmatch(r"\$\{TS_TUNE_MEMORY:-(\d+)(MB|GB)\}", tune)
    assert match, tune
    megabytes = int(match[1]) * (1024 if match[2] == "GB" else 1)
    assert 512 <= megabytes <= 2048  # shared_buffers of 128–512 MB on a 4–8 GB NAS


# --- 6. start order ----------------------------------------------------------------------------


def test_app_waits_for_db_and_runs_one_worker_that_prepares_the_database(compose):
    app = compose["services"]["app"]
    assert app["build"] == "."
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["restart"] == "unless-stopped"
    assert ".env" in app["env_file"]
    assert "/healthz" in " ".join(app["healthcheck"]["test"])
    command = " ".join(app["command"])
    assert command.startswith("domestique serve") and "--workers" not in command
    # `serve` waits for the database, updates extensions and migrates before serving.
    source = (ROOT / "app" / "cli" / "server.py").read_text()
    serve = source[source.index("def serve(") : source.index("def migrate(")]
    assert "prepare_database(settings)" in serve and "workers=1" in serve


def test_db_service_is_pinned_timescaledb_ha_with_healthcheck(compose):
    db = compose["services"]["db"]
    assert _pg_major_of_image(compose) == "17"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert db["restart"] == "unless-stopped"
    assert "POSTGRES_PASSWORD" in db["environment"]


# --- 7. pins -----------------------------------------------------------------------------------


def test_pg_dump_major_and_volume_follow_the_servers_major(compose, dockerfile):
    """pg_dump refuses a server newer than itself; a data directory of another major will not
    start. The volume's name carries the major, so a new major starts in a fresh volume."""
    major = _pg_major_of_image(compose)
    clients = re.findall(r"postgresql-client-(\d+)", dockerfile)
    assert clients == [major]
    db_volumes = [name for name in compose["volumes"] if name != "ollama-models"]
    assert db_volumes == [f"db-pg{major}"]
    assert compose["services"]["db"]["volumes"] == [f"db-pg{major}:/home/postgres/pgdata"]
    readme = (ROOT / "README.md").read_text()
    assert (
        f"domestique_db-pg{major}" in readme
        and f"domestique_db-pg{major}" in (ROOT / "compose.yaml").read_text()
    )


def test_setuptools_understands_the_spdx_license_string():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert isinstance(pyproject["project"]["license"], str)  # SPDX expression (PEP 639)
    (requirement,) = pyproject["build-system"]["requires"]
    match = re.fullmatch(r"setuptools==(\d+)\.\d+\.\d+", requirement)
    assert match and int(match[1]) >= 77  # the first setuptools to accept it


def test_dockerfile_is_python_313_trixie_non_root_with_healthcheck(dockerfile):
    assert re.search(r"^FROM python:3\.13-slim-trixie(@sha256:[0-9a-f]{64})?$", dockerfile, re.M)
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert "useradd --uid 1000 " in dockerfile  # the uid the README and compose.yaml name
    assert re.search(r"^HEALTHCHECK .*\n.*healthz", dockerfile, re.M)
    assert '"domestique", "serve"' in dockerfile and "--workers" not in dockerfile


def test_dockerignore_keeps_data_and_secrets_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {"data", "backups", ".env", ".git"} <= ignored


# --- the local coach (profile llm) -------------------------------------------------------------


def test_ollama_runs_only_with_the_llm_profile_and_keeps_its_models(compose, compose_text):
    ollama = compose["services"]["ollama"]
    assert ollama["profiles"] == ["llm"], "a plain `docker compose up` must not start it"
    assert re.fullmatch(r"ollama/ollama:\d+\.\d+\.\d+", ollama["image"]), "pinned"
    (volume,) = ollama["volumes"]
    source, target = volume.split(":")
    assert target == "/root/.ollama" and source in compose["volumes"]
    assert "ports" not in ollama, "only the app reaches it, on the compose network"
    assert "ollama" not in compose["services"]["app"].get("depends_on", {})
    assert "docker compose exec ollama ollama pull" in compose_text
    assert "DOMESTIQUE_LLM_BASE_URL=http://ollama:11434/v1" in compose_text
    # The address the README and .env.example give is one the settings accept.
    settings = Settings(env="development", llm_base_url="http://ollama:11434/v1")
    assert settings.llm_base_url == "http://ollama:11434/v1"
    text = (ROOT / ".env.example").read_text()
    assert "# DOMESTIQUE_LLM_BASE_URL=http://ollama:11434/v1" in text
    readme = (ROOT / "README.md").read_text()
    assert "docker compose --profile llm up -d" in readme
    assert "docker compose exec ollama ollama pull" in readme


def test_no_other_service_shares_the_apps_folders_and_the_app_sees_no_database_files(compose):
    """Issue 21 item 9: the app mounts data/ and backups/ only; the database's files live in a
    volume only the database sees, and nothing gives the app the Docker socket."""
    app = compose["services"]["app"]
    sources = {volume.split(":")[0] for volume in app["volumes"]}
    assert sources == {"./data", "./backups"}
    for name, service in compose["services"].items():
        if name == "app":
            continue
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] not in sources, (name, volume)
    targets = [volume.split(":")[1] for volume in app["volumes"]]
    for forbidden in ("/home/postgres", "/var/lib/postgresql", "/var/run/docker.sock"):
        assert not any(target.startswith(forbidden) for target in targets)
    assert "PGDATA" not in app.get("environment", {})


# --- issue 21 item 11: locked, hashed, audited dependencies ------------------------------------

_LOCK_ENTRY = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)(?: ; [^\\]+)? \\$")


def _lock(name: str) -> dict[str, tuple[str, int]]:
    """{normalised package name: (version, number of hashes)} of a lock file."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / name).read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LOCK_ENTRY.match(line)
        if match:
            current = re.sub(r"[-_.]+", "-", match[1]).lower()
            version, hashes = entries.get(current, (match[2], 0))
            entries[current] = (version, hashes)
            continue
        assert line.startswith("    --hash=sha256:"), f"{name}: unexpected line {line!r}"
        assert current is not None
        version, hashes = entries[current]
        entries[current] = (version, hashes + 1)
    return entries


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9._-]+)(\[[^\]]+\])?==(\S+)", requirement)
        assert match, f"{requirement!r} is not an exact pin"
        pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[3]
    return pins


@pytest.mark.parametrize(
    ("lock", "groups"),
    [("requirements.lock", ("runtime",)), ("requirements-dev.lock", ("runtime", "dev"))],
)
def test_the_locks_pin_every_package_with_hashes_and_follow_pyproject(lock, groups):
    """Every package (dependencies of dependencies too) at one version with its hashes, and
    each pin of pyproject.toml (and the build backend) at the version pyproject names: a
    changed pin without `make lock` fails here."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = _pins(pyproject["build-system"]["requires"])
    wanted |= _pins(pyproject["project"]["dependencies"])
    if "dev" in groups:
        wanted |= _pins(pyproject["project"]["optional-dependencies"]["dev"])
    entries = _lock(lock)
    assert len(entries) > len(wanted)  # the dependencies' dependencies are locked too
    assert all(hashes >= 1 for _version, hashes in entries.values()), lock
    for name, version in wanted.items():
        assert entries.get(name, (None,))[0] == version, f"{lock}: {name} is not {version}"
    if "dev" not in groups:
        assert "pytest" not in entries and "ruff" not in entries


def test_the_image_and_the_development_root_install_only_from_the_locks(dockerfile):
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert installs and all(
        "--require-hashes --no-deps -r requirements.lock" in line or "--no-index" in line
        for line in installs
    ), installs
    assert "COPY requirements.lock" in dockerfile
    inside = (ROOT / ".devroot" / "inside.sh").read_text()
    assert "pip install -q --require-hashes --no-deps -r requirements-dev.lock" in inside
    assert "sha256sum requirements-dev.lock" in inside  # the venv follows the lock
    assert "pip-audit" in inside and "make lock" in (ROOT / "README.md").read_text()


def test_base_images_are_pinned_by_tag_and_a_digest_when_there_is_one(compose, dockerfile):
    """A digest may follow the tag (README, "Pinning the images"); a digest is 64 hex digits,
    never a placeholder."""
    images = [service["image"] for service in compose["services"].values() if "image" in service]
    images = [image for image in images if not image.startswith("domestique:")]
    images += re.findall(r"^FROM (\S+)", dockerfile, re.M)
    for image in images:
        assert re.fullmatch(r"[\w./-]+:[\w.-]+(@sha256:[0-9a-f]{64})?", image), image
