"""The owner's sentences for the language model's failure codes and for *Test connection*, in
the reader's language (gettext, ``make i18n``).

Codes come from the adapter (``app.sources.llm.errors``: ``llm_auth`` …, the four output codes)
and from the coach's services (``llm_budget_exceeded``, ``llm_not_configured``); the connection
check's codes are ``app.sources.llm.schemas.CheckCode``. Every sentence says what happened and
what to do; none passes on the model's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.i18n import _, format_date, format_number

BUDGET_EXCEEDED = "llm_budget_exceeded"
NOT_CONFIGURED = "llm_not_configured"
KEY_UNREADABLE = "llm_key_unreadable"
MAX_MODELS_LISTED = 15

Params = Mapping[str, Any]


def failure_sentence(code: str, params: Params | None = None) -> str:
    """What a failed call means for the owner (an unknown code gets a general sentence)."""
    p = dict(params or {})
    if code == BUDGET_EXCEEDED:
        return _budget(p)
    sentences = {
        NOT_CONFIGURED: lambda: _(
            "No language model is set up yet: enter an endpoint and a model in Settings → Coach."
        ),
        KEY_UNREADABLE: lambda: _(
            "The API key saved in Settings → Coach cannot be read with this installation's "
            "secret key (a backup of another installation restored?): enter it again."
        ),
        "llm_auth": lambda: _(
            "The model's server refused the API key. Check the key in Settings → Coach."
        ),
        "llm_model_not_found": lambda: _(
            "The server does not have the model %(model)s. Check its name in Settings → Coach "
            "(with Ollama, pull the model first).",
            model=p.get("model", "?"),
        ),
        "llm_endpoint_not_found": lambda: _(
            "Nothing answers like an OpenAI-compatible API at that address. Check the base URL "
            "in Settings → Coach: it usually ends in /v1."
        ),
        "llm_rate_limited": lambda: _(
            "The model's server is limiting requests right now. Nothing was changed; try again "
            "in a few minutes."
        ),
        "llm_quota_exceeded": lambda: _(
            "The account behind the API key is out of credit or quota. Add credit with the "
            "provider, or enter another key in Settings → Coach."
        ),
        "llm_unavailable": lambda: _(
            "The model's server did not answer (it may be down, busy or out of reach). Nothing "
            "was changed; try again later."
        ),
        "llm_bad_request": lambda: _(
            "The model's server refused the request. The model may not support answers that "
            "follow a schema (structured outputs); try another model."
        ),
        "llm_bad_response": lambda: _(
            "The server at that address answered, but not like an OpenAI-compatible API. "
            "Check the base URL in Settings → Coach."
        ),
        "llm_invalid_json": lambda: _(
            "The model's answer was not valid JSON, even when asked again, so nothing of it "
            "was used. A larger or newer model may do better."
        ),
        "llm_schema_violation": lambda: _(
            "The model's answer did not have the expected form, even when asked again, so "
            "nothing of it was used. A larger or newer model may do better."
        ),
        "llm_truncated": lambda: _(
            "The model's answer was cut off at its length limit twice, so nothing of it was "
            "used. Try again, or choose a model with a larger output limit."
        ),
        "llm_refused": lambda: _(
            "The model declined to answer, so there is no result. Try again or rephrase."
        ),
    }
    sentence = sentences.get(code)
    if sentence is None:
        return _(
            "The call to the language model failed (%(code)s); nothing was changed.", code=code
        )
    return sentence()


def _budget(p: dict[str, Any]) -> str:
    resets = p.get("resets_on")
    when = format_date(resets) if resets else "?"
    if p.get("kind") == "cost":
        return _(
            "The coach has used this month's budget (US$%(used)s of US$%(budget)s). It can "
            "answer again from %(date)s, or raise the budget in Settings → Coach.",
            used=format_number(float(p.get("used", 0)), 2),
            budget=format_number(float(p.get("budget", 0)), 2),
            date=when,
        )
    return _(
        "The coach has used this month's budget (%(used)s of %(budget)s tokens). It can answer "
        "again from %(date)s, or raise the budget in Settings → Coach.",
        used=format_number(int(p.get("used", 0))),
        budget=format_number(int(p.get("budget", 0))),
        date=when,
    )


def check_sentence(code: str, params: Params | None = None) -> str:
    """*Test connection*'s result in words (``app.sources.llm.schemas.CheckCode``)."""
    p = dict(params or {})
    sentences = {
        "ok": lambda: _(
            "Connected: %(model)s answered a structured request correctly.",
            model=p.get("model", "?"),
        ),
        "key_refused": lambda: _("The server refused the key. Check the API key."),
        "model_not_found": lambda: _(
            "The server does not have the model %(model)s.", model=p.get("model", "?")
        ),
        "wrong_address": lambda: _(
            "Nothing OpenAI-compatible answers at this address. The base URL usually ends in "
            "/v1 (for Ollama: http://<address>:11434/v1)."
        ),
        "unreachable": lambda: _(
            "The server cannot be reached or did not answer in time. Check the address, that "
            "the server is running, and the network between it and the NAS."
        ),
        "not_structured": lambda: _(
            "The server answered, but this model cannot give answers that follow a schema "
            "(structured outputs). Choose a model that supports them."
        ),
        "rate_limited": lambda: _(
            "The server is limiting requests right now (too many requests). Try again in a minute."
        ),
        "quota_exceeded": lambda: _(
            "The account behind the key is out of credit or quota. Add credit with the "
            "provider or use another key."
        ),
    }
    sentence = sentences.get(code)
    return sentence() if sentence is not None else code


def embedding_check_sentence(code: str, params: Params | None = None) -> str:
    """The embedding model's part of *Test connection*."""
    p = dict(params or {})
    model = p.get("model", "?")
    if code == "ok":
        return _(
            "The embedding model %(model)s answered too (%(dimension)s dimensions).",
            model=model,
            dimension=format_number(int(p.get("dimension") or 0)),
        )
    if code == "model_not_found":
        return _(
            "The server does not have the embedding model %(model)s; the library will search "
            "by words only until it does.",
            model=model,
        )
    return _(
        "The embedding model %(model)s did not answer: %(reason)s",
        model=model,
        reason=check_sentence(code, p),
    )


def offered_models_sentence(models: list[str]) -> str:
    shown = ", ".join(models[:MAX_MODELS_LISTED])
    if len(models) > MAX_MODELS_LISTED:
        shown += ", …"
    return _("The server offers: %(models)s.", models=shown)


def purpose_label(purpose: str) -> str:
    """A call's purpose as the usage table names it; an unknown one stays as written."""
    labels = {
        "check": _("Connection test"),
        "ask": _("Questions to the coach"),
        "daily_decision": _("Daily coach"),
        "plan_draft": _("Plan drafts"),
        "plan_change": _("Plan changes"),
        "mission_draft": _("Mission drafts"),
        "mission_wrap_up": _("Mission wrap-ups"),
        "library_index": _("Library indexing"),
        "library_search": _("Library search"),
        "embedding": _("Embeddings"),
    }
    return labels.get(purpose, purpose)
