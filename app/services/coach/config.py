"""The coach's language-model settings, each with where it came from.

Precedence, field by field: what the owner entered in Settings → Coach (``coach_settings``,
origin ``ui``), else the environment (``DOMESTIQUE_LLM_*``, or its ``_FILE`` variant; origin
``env``), else the default (``default``). An empty field on the page means "not entered here",
so clearing it hands the field back to the environment. The API key entered on the page is
Fernet-encrypted with the app's :class:`~app.security.keys.SecretBox`; only its last four
characters are kept in clear (to tell keys apart), and it is decrypted only to build a client.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.coach.context import GROUPS
from app.config import Settings
from app.i18n import _, format_number
from app.models import CoachSettings
from app.models.owner import get_owner
from app.security.keys import SecretBox, SecretKeyError
from app.security.redaction import register_secret

UI, ENV, DEFAULT = "ui", "env", "default"
LANGUAGES = ("ko", "en")
MAX_PRICE_ROWS = 30
MAX_TIMEOUT_S = 900.0
MAX_RETENTION_DAYS = 3650
KEY_LAST4_MIN_LENGTH = 12  # a shorter key would give away too much of itself
_URL = re.compile(r"^https?://[^/?#\s]+(/[^?#\s]*)?$")
_NAME = re.compile(r"^[^\s\x00-\x1f\x7f]{1,200}$")


class CoachSettingsError(ValueError):
    """A value the owner typed cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Value[T]:
    """A setting in force and where it came from: ``ui``, ``env`` or ``default``."""

    value: T
    origin: str


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million tokens."""

    prompt_usd_per_m: float
    completion_usd_per_m: float

    def cost(self, prompt_tokens: int | None, completion_tokens: int | None) -> float:
        return (
            (prompt_tokens or 0) * self.prompt_usd_per_m
            + (completion_tokens or 0) * self.completion_usd_per_m
        ) / 1_000_000


@dataclass(frozen=True, slots=True)
class KeyState:
    """Whether a key is in force, from where (``ui``, ``env``; ``None``: no key) and its last
    four characters; ``readable`` is false when the key saved here cannot be decrypted with
    this installation's secret key."""

    origin: str | None
    last4: str | None
    readable: bool = True


@dataclass(frozen=True)
class LlmConfig:
    base_url: Value[str | None]
    model: Value[str | None]
    embedding_model: Value[str | None]
    timeout_s: Value[float]
    token_budget: Value[int]  # tokens a month; 0: no limit
    cost_budget_usd: Value[float | None]  # None: no limit
    retention_days: Value[int]
    language: Value[str]  # the coach's language; origin "default": the interface's
    key: KeyState
    prices: Mapping[str, Price]
    withheld: tuple[str, ...]
    timezone: str
    owner_locale: str  # the language of the owner's interface (failure sentences)
    entered: Mapping[str, Any] = field(default_factory=dict)  # the page's own values
    api_key: str = field(default="", repr=False)  # only when loaded with the box

    @property
    def configured(self) -> bool:
        return bool(self.base_url.value and self.model.value)

    def price(self, model: str) -> Price | None:
        return self.prices.get(model)


def _row(session: Session) -> CoachSettings | None:
    return session.get(CoachSettings, 1)


def _pick[T](entered: T | None, settings: Settings, name: str) -> Value[T]:
    if entered is not None:
        return Value(entered, UI)
    value = getattr(settings, name)
    return Value(value, ENV if name in settings.model_fields_set else DEFAULT)


def last4(key: str) -> str | None:
    return key[-4:] if len(key) >= KEY_LAST4_MIN_LENGTH else None


def load_config(session: Session, settings: Settings, box: SecretBox | None = None) -> LlmConfig:
    """The settings in force. With ``box`` the API key is decrypted into ``api_key`` (to build a
    client); without it only the key's state is known (pages)."""
    row = _row(session)
    owner = get_owner(session)
    owner_locale = (owner.locale if owner is not None else None) or settings.default_locale
    timezone = (owner.timezone if owner is not None else None) or settings.timezone
    entered: dict[str, Any] = {}
    if row is not None:
        for name in (
            "base_url",
            "model",
            "embedding_model",
            "timeout_s",
            "monthly_token_budget",
            "monthly_cost_budget_usd",
            "audit_retention_days",
            "language",
        ):
            entered[name] = getattr(row, name)
    env_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    api_key = ""
    if row is not None and row.api_key_encrypted:
        key = KeyState(UI, row.api_key_last4)
        if box is not None:
            try:
                api_key = box.decrypt(row.api_key_encrypted)
                register_secret(api_key)
            except SecretKeyError:
                key = KeyState(UI, row.api_key_last4, readable=False)
    elif env_key:
        key, api_key = KeyState(ENV, last4(env_key)), env_key
    else:
        key = KeyState(None, None)
    language = entered.get("language")
    prices = {}
    for model, entry in ((row.prices if row is not None else None) or {}).items():
        try:
            prices[model] = Price(float(entry["prompt"]), float(entry["completion"]))
        except (KeyError, TypeError, ValueError):
            continue
    withheld = tuple(g for g in GROUPS if row is not None and g in (row.withheld or []))
    return LlmConfig(
        base_url=_pick(entered.get("base_url"), settings, "llm_base_url"),
        model=_pick(entered.get("model"), settings, "llm_model"),
        embedding_model=_pick(entered.get("embedding_model"), settings, "llm_embedding_model"),
        timeout_s=_pick(entered.get("timeout_s"), settings, "llm_timeout_s"),
        token_budget=_pick(
            entered.get("monthly_token_budget"), settings, "llm_monthly_token_budget"
        ),
        cost_budget_usd=_pick(
            entered.get("monthly_cost_budget_usd"), settings, "llm_monthly_cost_budget_usd"
        ),
        retention_days=_pick(
            entered.get("audit_retention_days"), settings, "llm_audit_retention_days"
        ),
        language=Value(language, UI) if language in LANGUAGES else Value(owner_locale, DEFAULT),
        key=key,
        prices=prices,
        withheld=withheld,
        timezone=timezone,
        owner_locale=owner_locale,
        entered=entered,
        api_key=api_key if key.readable else "",
    )


# --- saving --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingsForm:
    """The Settings → Coach form as typed; an empty field is "not entered here". An empty
    ``api_key`` keeps the key saved here; ``forget_key`` removes it."""

    base_url: str = ""
    model: str = ""
    api_key: str = field(default="", repr=False)
    forget_key: bool = False
    embedding_model: str = ""
    timeout_s: str = ""
    token_budget: str = ""
    cost_budget_usd: str = ""
    retention_days: str = ""
    language: str = ""
    prices: Sequence[tuple[str, str, str]] = ()  # (model, prompt, completion) per row


def _number(text: str, label: str, *, integer: bool, low: float, high: float) -> float | None:
    cleaned = text.strip().replace(",", "").replace(" ", "").replace("_", "")
    if not cleaned:
        return None
    try:
        value = int(cleaned) if integer else float(cleaned)
    except ValueError as exc:
        raise CoachSettingsError(_("%(field)s is not a number.", field=label)) from exc
    if not math.isfinite(value) or not low <= value <= high:
        raise CoachSettingsError(
            _(
                "%(field)s must be between %(low)s and %(high)s.",
                field=label,
                low=_plain(low),
                high=_plain(high),
            )
        )
    return value


def _plain(value: float) -> str:
    return format_number(value)


def _name(text: str, label: str) -> str | None:
    value = text.strip()
    if not value:
        return None
    if not _NAME.match(value):
        raise CoachSettingsError(
            _("%(field)s cannot contain spaces and is at most 200 characters.", field=label)
        )
    return value


def parse_form(form: SettingsForm) -> dict[str, Any]:
    """The columns to store, or :class:`CoachSettingsError` naming the first wrong field."""
    base_url = form.base_url.strip().rstrip("/") or None
    if base_url is not None and (len(base_url) > 500 or not _URL.match(base_url)):
        raise CoachSettingsError(
            _(
                "The endpoint must be an address starting with http:// or https://, such as "
                "https://api.openai.com/v1 or http://ollama:11434/v1."
            )
        )
    values: dict[str, Any] = {
        "base_url": base_url,
        "model": _name(form.model, _("The model")),
        "embedding_model": _name(form.embedding_model, _("The embedding model")),
        "timeout_s": _number(
            form.timeout_s, _("The timeout"), integer=False, low=1, high=MAX_TIMEOUT_S
        ),
        "monthly_token_budget": _number(
            form.token_budget, _("The token budget"), integer=True, low=0, high=10**12
        ),
        "monthly_cost_budget_usd": _number(
            form.cost_budget_usd, _("The cost budget"), integer=False, low=0, high=10**6
        ),
        "audit_retention_days": _number(
            form.retention_days,
            _("The audit retention"),
            integer=True,
            low=1,
            high=MAX_RETENTION_DAYS,
        ),
    }
    if form.language not in ("", *LANGUAGES):
        raise CoachSettingsError(_("Choose the coach's language from the list."))
    values["language"] = form.language or None
    key = form.api_key.strip()
    if key and (len(key) > 1000 or any(c.isspace() for c in key)):
        raise CoachSettingsError(_("The API key cannot contain spaces."))
    values["api_key"] = key or None
    prices: dict[str, dict[str, float]] = {}
    rows = [row for row in form.prices if any(part.strip() for part in row)]
    if len(rows) > MAX_PRICE_ROWS:
        raise CoachSettingsError(_("At most 30 prices can be entered."))
    for model, prompt, completion in rows:
        name = _name(model, _("The model of a price"))
        if name is None:
            raise CoachSettingsError(_("Each price needs the model's name."))
        prompt_price = _number(prompt, _("The prompt price"), integer=False, low=0, high=10_000)
        completion_price = _number(
            completion, _("The completion price"), integer=False, low=0, high=10_000
        )
        if prompt_price is None or completion_price is None:
            raise CoachSettingsError(
                _("Enter both prices for %(model)s, or neither to remove it.", model=name)
            )
        prices[name] = {"prompt": prompt_price, "completion": completion_price}
    values["prices"] = prices
    return values


def save_settings(sessions: sessionmaker[Session], box: SecretBox, form: SettingsForm) -> None:
    """Store what the owner entered (nothing when a field is wrong)."""
    values = parse_form(form)
    key = values.pop("api_key")
    with sessions.begin() as session:
        row = _row(session)
        if row is None:
            row = CoachSettings(id=1, prices={}, withheld=[])
            session.add(row)
        for name, value in values.items():
            setattr(row, name, value)
        if key is not None:
            register_secret(key)  # from now on it cannot reach a log line
            row.api_key_encrypted = box.encrypt(key)
            row.api_key_last4 = last4(key)
        elif form.forget_key:
            row.api_key_encrypted = None
            row.api_key_last4 = None


def save_withheld(sessions: sessionmaker[Session], groups: Sequence[str]) -> tuple[str, ...]:
    """The groups of data the owner keeps from the model, applied to every later snapshot."""
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise CoachSettingsError(_("Unknown group of data."))
    chosen = [g for g in GROUPS if g in groups]
    with sessions.begin() as session:
        row = _row(session)
        if row is None:
            row = CoachSettings(id=1, prices={}, withheld=[])
            session.add(row)
        row.withheld = chosen
    return tuple(chosen)


def withheld_groups(session: Session) -> tuple[str, ...]:
    row = _row(session)
    return tuple(g for g in GROUPS if row is not None and g in (row.withheld or []))
