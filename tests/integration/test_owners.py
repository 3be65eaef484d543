from __future__ import annotations

import pytest

from app.models.owner import get_owner
from app.services.owner import account
from tests.conftest import OWNER_PASSWORD


def test_create_then_refuse_a_second_owner(sessions, owner):
    with sessions() as session:
        assert get_owner(session).username == "jiwoo"
    with sessions() as session, pytest.raises(account.OwnerExists):
        account.create_owner(session, account.NewOwner("B", "b", "x" * 12, None, "UTC"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("display_name", "  "),
        ("username", "two words"),
        ("password", "short"),
        ("locale", "fr"),
        ("timezone", "Nowhere/Land"),
    ],
)
def test_invalid_owner_input_is_refused(db_session, field, value):
    values = {
        "display_name": "A",
        "username": "a",
        "password": "x" * 12,
        "locale": "en",
        "timezone": "UTC",
        field: value,
    }
    with pytest.raises(account.OwnerError):
        account.create_owner(db_session, account.NewOwner(**values))
    assert not account.owner_exists(db_session)


def test_authenticate(db_session, owner):
    assert account.authenticate(db_session, "jiwoo", OWNER_PASSWORD).id == 1
    assert account.authenticate(db_session, " jiwoo ", OWNER_PASSWORD).id == 1
    assert account.authenticate(db_session, "jiwoo", "wrong") is None
    assert account.authenticate(db_session, "someone", OWNER_PASSWORD) is None


def test_preferences_and_sign_out_everywhere(db_session, owner):
    updated = account.update_preferences(db_session, locale="ko", timezone="Europe/Berlin")
    assert (updated.locale, updated.timezone) == ("ko", "Europe/Berlin")
    account.sign_out_everywhere(db_session)
    assert get_owner(db_session).session_epoch == 1
