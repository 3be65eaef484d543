"""``make i18n``: extract messages, update the ko/en catalogs, compile them, report gaps.

English is the source language: English catalog entries are filled with their own msgid. Korean
entries without a translation are listed, and the command fails until they are written.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from app.i18n import DOMAIN, LOCALE_DIR, SUPPORTED_LOCALES

ROOT = Path(__file__).resolve().parents[1]
METHOD_MAP = [("app/**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
CATALOG_DATE = datetime(2026, 1, 1, tzinfo=UTC)
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    # A fixed date keeps `make i18n` idempotent: catalogs change only when messages do.
    catalog = Catalog(project="domestique", charset="utf-8", creation_date=CATALOG_DATE)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), METHOD_MAP, OPTIONS, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        if filename.startswith(("tests", ".devroot")):
            continue
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def load(locale: str) -> Catalog:
    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale, project="domestique", charset="utf-8")
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def untranslated(catalog: Catalog) -> list[str]:
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def compiled(catalog: Catalog) -> bytes:
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def main() -> int:
    template = extract()
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as handle:
        write_po(handle, template, omit_header=True, sort_output=True, include_lineno=False)
    status = 0
    for locale in SUPPORTED_LOCALES:
        catalog = load(locale)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if locale == "en":
            for message in catalog:
                if message.pluralizable and not all(message.string):
                    message.string = tuple(message.id)
                elif message.id and not message.string:
                    message.string = message.id
        path = po_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, sort_output=True, include_lineno=False, width=100)
        path.with_suffix(".mo").write_bytes(compiled(catalog))
        missing = untranslated(catalog)
        print(f"{locale}: {len(catalog)} messages, {len(missing)} untranslated")
        for message_id in missing:
            print(f"  missing {locale}: {message_id}")
        status = status or (1 if missing else 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
