"""The single owner: first-run creation, authentication, preferences."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session, sessionmaker

from app.i18n import SUPPORTED_LOCALES, _
from app.models.owner import Owner, get_owner
from app.security import setup_code
from app.security.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from app.services.work import schedule


class OwnerError(ValueError):
    """Input the owner can correct; ``str(error)`` is a translated message."""


class OwnerExists(OwnerError):
    pass


@dataclass(frozen=True)
class NewOwner:
    display_name: str
    username: str
    password: str
    locale: str | None
    timezone: str


def _validate(new: NewOwner) -> None:
    if not new.display_name.strip():
        raise OwnerError(_("Please enter your name."))
    if not new.username.strip() or any(ch.isspace() for ch in new.username.strip()):
        raise OwnerError(_("Please choose a user name without spaces."))
    if len(new.password) < MIN_PASSWORD_LENGTH:
        raise OwnerError(_("The password needs at least %(n)s characters.", n=MIN_PASSWORD_LENGTH))
    if new.locale is not None and new.locale not in SUPPORTED_LOCALES:
        raise OwnerError(_("Unknown language."))
    _check_timezone(new.timezone)


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise OwnerError(_("Unknown time zone.")) from exc


def load_owner(sessions: sessionmaker[Session]) -> Owner | None:
    """The owner as a detached row (the owner gate reads it on every request), or ``None``."""
    with sessions() as session:
        owner = get_owner(session)
        if owner is not None:
            session.expunge(owner)
        return owner


def owner_exists(session: Session) -> bool:
    return get_owner(session) is not None


def pending_setup_code(session: Session, data_dir: Path) -> str | None:
    """The setup code while the owner does not exist (created on first use); once the owner
    exists, none (and a code left from before is removed)."""
    if owner_exists(session):
        setup_code.forget(data_dir)
        return None
    return setup_code.current(data_dir)


def setup_owner(
    session: Session,
    new: NewOwner,
    *,
    data_dir: Path,
    code: str,
    scheduler: schedule.Follower | None = None,
) -> Owner:
    """The first-run page's owner: only with the setup code of this install. The nightly jobs
    then follow the owner's time zone (``scheduler``: the app's)."""
    if not setup_code.matches(data_dir, code):
        raise OwnerError(
            _(
                "The setup code is not right. It is in the app's log (`docker compose logs app`) "
                "and shown by the command `domestique setup-code`."
            )
        )
    owner = create_owner(session, new, data_dir=data_dir)
    schedule.apply_owner_schedule(scheduler)
    return owner


def create_owner(session: Session, new: NewOwner, *, data_dir: Path | None = None) -> Owner:
    """Create the one owner; refuses when one exists. ``data_dir``: its setup code is removed."""
    _validate(new)
    with session.begin():
        if get_owner(session) is not None:
            raise OwnerExists(_("This Domestique already has its owner."))
        owner = Owner(
            id=1,
            display_name=new.display_name.strip(),
            username=new.username.strip(),
            password_hash=hash_password(new.password),
            locale=new.locale,
            timezone=new.timezone,
            session_epoch=0,
        )
        session.add(owner)
    if data_dir is not None:
        setup_code.forget(data_dir)
    return owner


def authenticate(session: Session, username: str, password: str) -> Owner | None:
    with session.begin():
        owner = get_owner(session)
        if owner is None or owner.username != username.strip():
            # Spend the same time as a real check, so timing does not reveal the user name.
            verify_password(_DUMMY_HASH, password)
            return None
        if not verify_password(owner.password_hash, password):
            return None
        if needs_rehash(owner.password_hash):
            owner.password_hash = hash_password(password)
        return owner


def update_preferences(
    session: Session,
    *,
    display_name: str | None = None,
    locale: str | None = None,
    timezone: str | None = None,
    scheduler: schedule.Follower | None = None,
) -> Owner:
    """The owner's name, language and time zone; the nightly jobs then follow the time zone
    (``scheduler``: the app's)."""
    with session.begin():
        owner = get_owner(session)
        if owner is None:
            raise OwnerError(_("There is no owner yet."))
        if display_name is not None:
            if not display_name.strip():
                raise OwnerError(_("Please enter your name."))
            owner.display_name = display_name.strip()
        if locale is not None:
            if locale not in SUPPORTED_LOCALES:
                raise OwnerError(_("Unknown language."))
            owner.locale = locale
        if timezone is not None:
            _check_timezone(timezone)
            owner.timezone = timezone
    schedule.apply_owner_schedule(scheduler)
    return owner


def _check_new_password(new: str, confirm: str) -> None:
    if new != confirm:
        raise OwnerError(_("The two passwords are not the same."))
    if len(new) < MIN_PASSWORD_LENGTH:
        raise OwnerError(_("The password needs at least %(n)s characters.", n=MIN_PASSWORD_LENGTH))


def change_password(session: Session, *, current: str, new: str, confirm: str) -> Owner:
    """A new password, given the current one; every session ends (the caller signs its own
    browser in again with the new epoch)."""
    with session.begin():
        owner = get_owner(session)
        if owner is None:
            raise OwnerError(_("There is no owner yet."))
        if not verify_password(owner.password_hash, current):
            raise OwnerError(_("The current password is not right."))
        _check_new_password(new, confirm)
        owner.password_hash = hash_password(new)
        owner.session_epoch += 1
    return owner


def reset_password(session: Session, new: str) -> Owner:
    """A forgotten password replaced from the command line (whoever runs it runs the server);
    every session ends."""
    with session.begin():
        owner = get_owner(session)
        if owner is None:
            raise OwnerError(_("There is no owner yet."))
        _check_new_password(new, new)
        owner.password_hash = hash_password(new)
        owner.session_epoch += 1
    return owner


def sign_out_everywhere(session: Session) -> None:
    with session.begin():
        owner = get_owner(session)
        if owner is not None:
            owner.session_epoch += 1


_DUMMY_HASH = hash_password("domestique-timing-equaliser")


@lru_cache
def common_timezones() -> tuple[str, ...]:
    """Time zones to offer in forms: Area/City names, sorted, then UTC."""
    from zoneinfo import available_timezones

    skipped = ("Etc/", "SystemV/", "US/", "posix/", "right/")
    names = sorted(n for n in available_timezones() if "/" in n and not n.startswith(skipped))
    return (*names, "UTC")
