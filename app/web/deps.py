"""FastAPI dependencies shared by routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from app.models.owner import Owner


def db_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def current_owner(request: Request) -> Owner:
    owner = getattr(request.state, "owner", None)
    if owner is None:  # the gate redirects first; this guards routes mounted outside it
        raise HTTPException(status_code=401)
    return owner


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to return to; anything else (another host, a scheme) becomes ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
