"""Jinja2 with gettext and Babel filters; one helper renders a page, or its fragment for HTMX."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from app import __version__, i18n
from app.i18n_particles import resolve as resolve_particles
from app.web.charts import script_json

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"
MAINTENANCE_BANNER = "components/_maintenance.html"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: i18n.translations(i18n.current_locale.get()).gettext(message),
        lambda singular, plural, n: i18n.translations(i18n.current_locale.get()).ngettext(
            singular, plural, n
        ),
        newstyle=True,
    )
    for name in ("gettext", "ngettext"):  # `_` calls gettext
        env.globals[name] = _agreeing_particles(env.globals[name])
    env.filters.update(
        datetime=i18n.format_datetime,
        date=i18n.format_date,
        number=i18n.format_number,
        percent=i18n.format_percent,
        duration=i18n.format_duration,
        elapsed=i18n.format_elapsed,
        chart_json=script_json,
        distance=i18n.format_distance,
        pace=i18n.format_pace,
        speed=i18n.format_speed,
        elevation=i18n.format_elevation,
        weight=i18n.format_weight,
    )
    env.globals.update(
        app_version=__version__,
        current_locale=i18n.current_locale.get,
        current_units=i18n.current_units.get,
        supported_locales=i18n.SUPPORTED_LOCALES,
        language_name=i18n.language_name,
        maintenance_step=maintenance_step,
    )
    return env


def _agreeing_particles(translate: Any) -> Any:
    """A template's ``gettext``/``ngettext`` whose Korean particles (``이(가)``…) agree with the
    values filled in; the escaped result stays ``Markup`` (only Hangul is ever added)."""

    @pass_context
    def translated(context: Context, *args: Any, **variables: Any) -> str:
        text = translate(context, *args, **variables)
        resolved = resolve_particles(text)
        # only Hangul replaced a marker in text that was escaped already
        return Markup(resolved) if isinstance(text, Markup) else resolved  # noqa: S704

    return translated


def maintenance_step(step: str) -> str:
    """What a restore is doing, for the banner (``app.services.work.maintenance.RESTORE_STEPS``)."""
    _ = i18n.gettext
    labels = {
        "waiting": _("waiting for the work in progress to stop"),
        "verify": _("checking the backup"),
        "safety backup": _("backing up the current data first"),
        "extract": _("unpacking the backup"),
        "restore database": _("restoring the database"),
        "migrate": _("updating the database"),
        "switch": _("switching over"),
    }
    return labels.get(step, step)


templates = Jinja2Templates(env=_environment())


def is_fragment_request(request: Request) -> bool:
    """An HTMX request for part of a page (boosted navigation wants the whole page)."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-boosted") != "true"
        # the back button found no snapshot of a pushed URL: htmx wants the whole page
        and request.headers.get("hx-history-restore-request") != "true"
    )


def render(
    request: Request,
    page: str,
    context: dict[str, Any] | None = None,
    *,
    fragment: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``page``, or ``fragment`` when HTMX asks for part of it.

    Always sends ``Vary: HX-Request``, so caches keep the two apart.
    """
    name = fragment if fragment and is_fragment_request(request) else page
    owner = getattr(request.state, "owner", None)
    maintenance = getattr(getattr(request.app.state, "maintenance", None), "state", None)
    values = {
        "owner": owner,
        "maintenance": maintenance,
        **(_attention(request) if owner is not None else {}),
        **(context or {}),
    }
    if (
        maintenance is not None
        and name.rsplit("/", 1)[-1].startswith("_")
        and name != MAINTENANCE_BANNER
    ):
        # A fragment carries the maintenance banner along, swapped in out of band.
        values.update(fragment_name=name, maintenance_oob=True)
        name = "components/_with_maintenance.html"
    response = templates.TemplateResponse(
        request, name, values, status_code=status_code, headers=headers
    )
    response.headers["Vary"] = "HX-Request"
    return response


def _attention(request: Request) -> dict[str, Any]:
    """The banners every page shows: sources to reconnect, a failed nightly backup, a morning
    without the coach's decision."""
    from app.services.pages.attention import attention

    try:
        with request.app.state.sessions() as session:
            found = attention(session)
    except Exception:  # a page still renders when the database hiccups
        log.exception("could not check what needs the owner's attention")
        return {}
    sources = getattr(request.app.state, "sync_sources", {})
    return {
        "reconnect_sources": [sources[n].label if n in sources else n for n in found.reconnect],
        "backup_failed": found.backup_failed,
        "decision_failure": found.decision_failure,
    }
