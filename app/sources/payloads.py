"""Checking a service's JSON where it enters: each adapter types the fields the sync engine and
its mapper rely on (a ``TypedDict`` in ``app/sources/<name>/schemas.py``) and checks a payload
against it once, here. The payload itself is passed on untouched (it is kept raw as the service
sent it); a payload that breaks the contract is a ``SourceDataError`` with the adapter's code."""

from __future__ import annotations

from typing import Any, cast

from pydantic import TypeAdapter, ValidationError

from app.sources import SourceDataError


def checked[T](schema: TypeAdapter[T], payload: Any, *, code: str, what: str) -> T:
    """``payload`` (unchanged) once it matches ``schema``; else ``SourceDataError(code)``."""
    try:
        schema.validate_python(payload)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SourceDataError(f"{what}: {where}: {first['msg']}", code=code) from error
    return cast(T, payload)
