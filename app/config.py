"""The one Settings object. Only this module reads the environment.

Every field is set by ``DOMESTIQUE_<NAME>``; secrets also by ``DOMESTIQUE_<NAME>_FILE`` (a path
whose content is the value, for Docker secrets). The README's settings table documents every
field; a test fails when one is missing there.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "DOMESTIQUE_"
PLACEHOLDERS = {"", "change-me", "changeme", "change_me", "secret", "password", "placeholder"}


class FileVariantSource(PydanticBaseSettingsSource):
    """Reads ``DOMESTIQUE_<NAME>_FILE`` for every field (the Docker secrets convention)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        path = os.environ.get(f"{ENV_PREFIX}{field_name.upper()}_FILE")
        if not path:
            return None, field_name, False
        return Path(path).read_text(encoding="utf-8").strip(), field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    env: Literal["production", "development"] = Field(
        "production", description="`development` relaxes the placeholder-secret check."
    )
    database_url: SecretStr = Field(
        SecretStr("postgresql+psycopg://domestique:change-me@db:5432/domestique"),
        description="SQLAlchemy URL of the PostgreSQL database.",
    )
    database_role: str = Field(
        "domestique_app",
        pattern=r"^([a-z_][a-z0-9_]{0,62})?$",
        description="Database role the app connects as, created on first start by the "
        "superuser of `DOMESTIQUE_DATABASE_URL`: it owns the schema and is not a superuser "
        "(password generated into `data/database-role.password`); empty: the app connects as "
        "the user of `DOMESTIQUE_DATABASE_URL` for everything.",
    )
    database_admin_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL with a superuser's credentials, for extension updates and "
        "for creating, renaming and dropping databases during a restore; unset: "
        "`DOMESTIQUE_DATABASE_URL` (which then is the superuser's); set: "
        "`DOMESTIQUE_DATABASE_URL` names the app's role and its password.",
    )
    data_dir: Path = Field(Path("data"), description="Raw files, uploads and the secret key.")
    backup_dir: Path = Field(Path("backups"), description="Where backups are written.")
    secret_key: SecretStr | None = Field(
        None,
        description="Fernet key (or a passphrase of 32+ characters) that encrypts credentials "
        "and signs sessions; generated into `data/secret.key` when unset.",
    )
    host: str = Field("0.0.0.0", description="Address `domestique serve` listens on.")  # noqa: S104
    port: int = Field(8000, description="Port `domestique serve` listens on.")
    session_cookie_secure: bool = Field(
        False, description="Mark the session cookie `Secure` (set when served over HTTPS)."
    )
    session_max_age_days: int = Field(
        30, ge=1, description="Days a login stays valid unused (each day of use extends it)."
    )
    session_absolute_days: int = Field(
        90, ge=1, description="Days a login lasts at most, however often it is used."
    )
    login_attempts_per_minute: int = Field(
        5,
        ge=1,
        description="Logins allowed per minute for one user name from one client address (four "
        "times as many for one user name from all addresses, or from one address for all names).",
    )
    trusted_proxies: str = Field(
        "127.0.0.1",
        description="Addresses or networks (comma-separated, e.g. `172.18.0.0/16`) of reverse "
        "proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed; unset: none.",
    )
    metrics_token: SecretStr | None = Field(
        None, description="Bearer token required by `/metrics` when set."
    )
    max_upload_mb: int = Field(
        2048, ge=1, description="Largest upload (import, backup upload) accepted, in MiB."
    )
    max_body_kb: int = Field(
        64, ge=1, description="Largest request body accepted outside the upload routes, in KiB."
    )
    import_workers: int = Field(
        -1,
        ge=-1,
        description="Processes that decode FIT files during an import; `-1`: one fewer than the "
        "CPU count (at least 1, at most 4); `0`: decode in the app process.",
    )
    import_max_unpacked_gb: int = Field(
        20, ge=1, description="Largest total uncompressed size of one archive (ZIP bomb guard)."
    )
    sync_time: str = Field(
        "04:30",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local time (HH:MM, the owner's time zone) of the nightly sync of every "
        "connected source.",
    )
    sync_delay_s: float = Field(
        1.0,
        ge=0.0,
        description="Seconds between two calls to a source while syncing (one call at a time).",
    )
    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^/?#]+(/[^?#]*)?$",
        description="The address the owner's browser uses for Domestique (e.g. "
        "`http://nas.local:8000`), for the Strava and Oura callback addresses; unset: the "
        "address of the request.",
    )
    allowed_hosts: str = Field(
        "",
        description="Host names the app answers to besides `localhost`, this machine's name, "
        "any IP address and the host of `DOMESTIQUE_PUBLIC_URL`: comma-separated, "
        "`*.example.com` for a domain and its subdomains, `*` for any name.",
    )
    garmin_domain: Literal["garmin.com", "garmin.cn"] = Field(
        "garmin.com", description="Garmin Connect region: `garmin.cn` for accounts in China."
    )
    backup_time: str = Field(
        "05:30",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local time (HH:MM) of the nightly backup; keep it after the nightly sync.",
    )
    backup_keep_daily: int = Field(7, ge=1, description="Nightly backups kept, one per day.")
    backup_keep_weekly: int = Field(4, ge=0, description="Weekly backups kept (one per week).")
    backup_keep_monthly: int = Field(6, ge=0, description="Monthly backups kept (one per month).")
    default_locale: Literal["ko", "en"] = Field(
        "en", description="Language when neither the owner nor the browser says."
    )
    timezone: str = Field("UTC", description="Default time zone for a new owner and the scheduler.")
    log_level: str = Field("INFO", description="Python log level of the JSON logs.")
    # The coach's language model (app.services.coach.config): values entered in Settings →
    # Coach take precedence over these, and the page says which value is in force.
    llm_base_url: str | None = Field(
        None,
        pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
        description="Base URL of an OpenAI-compatible API (e.g. `https://api.openai.com/v1`, "
        "`http://ollama:11434/v1`); unset: no coach until one is entered in Settings → Coach.",
    )
    llm_api_key: SecretStr | None = Field(
        None, description="API key of the LLM endpoint (none for a local Ollama)."
    )
    llm_model: str | None = Field(None, description="Chat model (e.g. `gpt-4o-mini`, `qwen3:8b`).")
    llm_embedding_model: str | None = Field(
        None, description="Embedding model for the coach's library; unset: lexical search only."
    )
    llm_timeout_s: float = Field(
        120.0, gt=0, le=900, description="Seconds to wait for one answer of the model."
    )
    llm_monthly_token_budget: int = Field(
        2_000_000,
        ge=0,
        description="Tokens (prompt and completion) the coach may use per calendar month in the "
        "owner's time zone; `0`: no limit.",
    )
    llm_monthly_cost_budget_usd: float | None = Field(
        None,
        ge=0,
        description="US dollars the coach may spend per month, counted for models whose price "
        "is entered in Settings → Coach; unset: no limit.",
    )
    llm_audit_retention_days: int = Field(
        30, ge=1, le=3650, description="Days the text of every LLM request and answer is kept."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, FileVariantSource(settings_cls), file_secret_settings)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.env == "development":
            return self
        password = urlsplit(self.database_url.get_secret_value()).password
        if password is not None and password.lower() in PLACEHOLDERS:
            raise ValueError(
                "DOMESTIQUE_DATABASE_URL has the sample password (with Docker Compose: "
                "POSTGRES_PASSWORD in .env). Set a real one in .env: letters and digits, 24 or "
                "more. If the database already started with the sample password, it keeps it: "
                "give it the new one too with docker compose exec db psql -U domestique -d "
                "postgres -c '\\password domestique' (type the new password twice), then "
                "docker compose up -d"
            )
        if (
            self.secret_key is not None
            and self.secret_key.get_secret_value().lower() in PLACEHOLDERS
        ):
            raise ValueError(
                "DOMESTIQUE_SECRET_KEY is a placeholder; set a real key or leave it unset"
            )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        import ipaddress

        for item in _comma_list(value):
            if item == "*":
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"DOMESTIQUE_TRUSTED_PROXIES: {item!r} is not an IP address or network "
                    "(e.g. 172.18.0.1 or 172.18.0.0/16)"
                ) from exc
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        return _comma_list(self.trusted_proxies)

    @property
    def allowed_host_list(self) -> list[str]:
        return [name.strip() for name in self.allowed_hosts.replace(" ", ",").split(",") if name]

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.replace(" ", ",").split(",") if item.strip()]


@lru_cache
def get_settings() -> Settings:
    """The settings from the environment. The app and the commands run with
    ``app.db.roles.as_app_role(get_settings())``: as the app's own database role once the
    first start created it."""
    return Settings()
