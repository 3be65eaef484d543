"""Log redaction with the token shapes Garmin, Strava and Oura really send: JSON, query strings,
headers and exception text; each token registered where it is decrypted or received."""

from __future__ import annotations

import base64
import io
import json
import logging

import pytest
from cryptography.fernet import Fernet
from garminconnect.exceptions import GarminConnectAuthenticationError

from app.logs import configure_logging
from app.security import redaction
from app.security.keys import SecretBox
from app.security.redaction import redact, register_secrets_in
from app.sources import SourceAuthError

# garminconnect 0.3's dumps(): DI OAuth2 tokens (JWTs) and the client id.
GARMIN_DI = {
    "di_token": "eyJhbGciOiJSUzI1NiJ9.eyJzY29wZSI6WyJDT05ORUNUX1JFQUQiXX0.Zm9vYmFyLWRpLWFjY2Vzcw",
    "di_refresh_token": "eyJyZWZyZXNoIjoiZGkifQ.eyJqdGkiOiIzZjJhIn0.cmVmcmVzaC1zaWduYXR1cmU",
    "di_client_id": "GARMIN_CONNECT_MOBILE_ANDROID_DI",
}
# garth's dumps(): base64 of [OAuth1Token, OAuth2Token].
GARTH_OAUTH1 = {
    "oauth_token": "a1b2c3d4-0f1e-4a5b-9c8d-7e6f5a4b3c2d",
    "oauth_token_secret": "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe",
    "mfa_token": None,
    "mfa_expiration_timestamp": None,
    "domain": "garmin.com",
}
GARTH_OAUTH2 = {
    "scope": "COMMUNITY_COURSE_READ GARMINPAY_WRITE CONNECT_READ",
    "jti": "1f8c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b",
    "token_type": "Bearer",
    "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzY29wZSI6WyJDT05ORUNUIl19.c2ln",
    "refresh_token": "eyJyZWZyZXNoVG9rZW5WYWx1ZSI6IjdiYjEifQ==.Z2FydGgtcmVmcmVzaA",
    "expires_in": 93431,
    "expires_at": 1722163457,
    "refresh_token_expires_in": 2591999,
    "refresh_token_expires_at": 1724661625,
}
GARTH_DUMP = base64.b64encode(json.dumps([GARTH_OAUTH1, GARTH_OAUTH2]).encode()).decode()
# Strava's POST /oauth/token answer (40 hex digits each).
STRAVA = {
    "token_type": "Bearer",
    "expires_at": 1568775134,
    "expires_in": 21600,
    "refresh_token": "e5n567567b4a2f89cd37b1a2d8e0f3c4b5a69788",
    "access_token": "a4b945687g3ae1c2d0f9e8b7a6c5d4e3f2a1b098",
    "athlete": {"id": 134815, "firstname": "Jiwoo", "lastname": "Kim"},
}
# Oura's token answer.
OURA = {
    "token_type": "bearer",
    "access_token": "HQZ2ZJ6RCPCN5BRWOXGIGHFYTRUG5IN5",
    "expires_in": 86400,
    "refresh_token": "4C7ZKXJMYFQ3LPEFJ2TY3NQWJ6W7VRHB",
    "scope": "daily heartrate personal workout",
}
APP_CREDENTIALS = {
    "client_id": "134815",
    "client_secret": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
}

TOKENS = [
    GARMIN_DI["di_token"],
    GARMIN_DI["di_refresh_token"],
    GARTH_OAUTH1["oauth_token"],
    GARTH_OAUTH1["oauth_token_secret"],
    GARTH_OAUTH2["access_token"],
    GARTH_OAUTH2["refresh_token"],
    STRAVA["access_token"],
    STRAVA["refresh_token"],
    OURA["access_token"],
    OURA["refresh_token"],
    APP_CREDENTIALS["client_secret"],
]


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch):
    """Each test starts with nothing registered (the registry is process-wide)."""
    monkeypatch.setattr(redaction, "_secrets", set())
    monkeypatch.setattr(redaction, "_pattern", None)


def _carriers(token: str) -> list[str]:
    """A token the way it turns up in logs: in a URL, a header, an error, a repr."""
    return [
        f"GET https://connectapi.garmin.com/x?foo=1&t={token} failed",
        f"401 Client Error: Unauthorized for url: https://www.strava.com/api/v3/athlete?{token}",
        f"headers={{'Authorization': 'Bearer {token}'}}",
        f"tokens rotated to {token}.",
    ]


@pytest.mark.parametrize(
    ("document", "tokens"),
    [
        (json.dumps(GARMIN_DI), [GARMIN_DI["di_token"], GARMIN_DI["di_refresh_token"]]),
        (GARTH_DUMP, TOKENS[2:6]),
        (json.dumps(STRAVA), [STRAVA["access_token"], STRAVA["refresh_token"]]),
        (json.dumps(OURA), [OURA["access_token"], OURA["refresh_token"]]),
    ],
    ids=["garmin", "garth", "strava", "oura"],
)
def test_each_token_of_a_decrypted_document_is_redacted(document, tokens):
    box = SecretBox(Fernet.generate_key().decode())
    stored = box.encrypt(document)
    redaction._secrets.clear()
    redaction._pattern = None
    box.decrypt(stored)
    for token in tokens:
        for text in _carriers(token):
            assert token not in redact(text), text
    # Each token is registered, not the JSON document (it never reaches a log as such) ...
    assert set(tokens) <= redaction._secrets
    assert not any(secret.lstrip().startswith("{") for secret in redaction._secrets)
    # ... and what is not a secret stays readable.
    assert redact("GARMIN_CONNECT_MOBILE_ANDROID_DI") == "GARMIN_CONNECT_MOBILE_ANDROID_DI"
    plain = "expires 21600 s, athlete 134815 Jiwoo"
    assert redact(plain) == plain


def test_app_credentials_register_the_secret_not_the_id():
    register_secrets_in(json.dumps(APP_CREDENTIALS))
    assert redaction._secrets == {APP_CREDENTIALS["client_secret"]}


def test_secret_names_are_redacted_unregistered_in_json_query_strings_and_headers():
    texts = [
        json.dumps({**STRAVA, "client_secret": APP_CREDENTIALS["client_secret"]}),
        json.dumps([GARTH_OAUTH1, GARTH_OAUTH2]),
        json.dumps(OURA, indent=2),
        str(GARTH_OAUTH2),  # a Python repr
        f"client_id=134815&client_secret={APP_CREDENTIALS['client_secret']}"
        f"&grant_type=refresh_token&refresh_token={STRAVA['refresh_token']}",
        f"https://api.ouraring.com/v2/usercollection/sleep?access_token={OURA['access_token']}",
        'Authorization: OAuth oauth_consumer_key="fc3e99d2", '
        f'oauth_token="{GARTH_OAUTH1["oauth_token"]}", oauth_signature="ZmFrZXNpZ25hdHVyZQ%3D%3D"',
        f"authorization: Bearer {GARMIN_DI['di_token']}",
        f"oauth_token_secret={GARTH_OAUTH1['oauth_token_secret']} "
        f"di_token: {GARMIN_DI['di_token']}",
        f"X-Api-Key: {APP_CREDENTIALS['client_secret']}",
        f"password={'correct horse battery'.replace(' ', '-')}",
    ]
    for text in texts:
        redacted = redact(text)
        for token in [*TOKENS, "ZmFrZXNpZ25hdHVyZQ%3D%3D", "correct-horse-battery"]:
            assert token not in redacted, (text, redacted)
    # The names, ids and ordinary values stay.
    query = redact(texts[4])
    assert query.startswith("client_id=134815&client_secret=***&grant_type=refresh_token&")
    assert '"expires_in": 21600' in redact(texts[0]) and '"Jiwoo"' in redact(texts[0])
    assert redact("prompt_tokens=1200 next page token refresh failed") == (
        "prompt_tokens=1200 next page token refresh failed"
    )


def test_adapter_errors_are_redacted_before_they_travel():
    from app.sources.garmin.client import _translate

    leaked = (
        "401 Client Error for url: https://connectapi.garmin.com/oauth-service/oauth/exchange"
        f"?oauth_token={GARTH_OAUTH1['oauth_token']}"
        f"&refresh_token={GARTH_OAUTH2['refresh_token']}"
    )
    with pytest.raises(SourceAuthError) as caught, _translate("the token exchange"):
        raise GarminConnectAuthenticationError(leaked)
    assert GARTH_OAUTH1["oauth_token"] not in str(caught.value)
    assert GARTH_OAUTH2["refresh_token"] not in str(caught.value)
    assert "Garmin refused the token exchange" in str(caught.value)


def test_a_logged_exception_with_tokens_leaves_no_token():
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        register_secrets_in(json.dumps(STRAVA))
        log = logging.getLogger("app.sources.strava")
        try:
            raise RuntimeError(f"refresh failed: {json.dumps(OURA)} for {STRAVA['access_token']}")
        except RuntimeError:
            log.exception("sync failed")
        log.warning("answer %s", GARTH_OAUTH2)
    finally:
        logging.getLogger().handlers.clear()
    output = stream.getvalue()
    assert "sync failed" in output and "refresh failed" in output
    for token in (OURA["access_token"], OURA["refresh_token"], STRAVA["access_token"]):
        assert token not in output
    assert GARTH_OAUTH2["access_token"] not in output and "CONNECT_READ" in output
