"""Sessions: sign-out ends copies of the cookie, a sliding and an absolute lifetime; the
security headers on every response."""

from __future__ import annotations

import json
import time
from base64 import b64encode

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner

from app.web.app import SESSION_COOKIE
from app.web.headers import SECURITY_HEADERS
from tests.conftest import OWNER_PASSWORD


def _cookie(app, payload: dict, *, signed_at: float | None = None) -> str:
    signer = TimestampSigner(app.state.session_signing.key)
    if signed_at is not None:
        signer.get_timestamp = lambda: int(signed_at)  # a cookie signed back then
    return signer.sign(b64encode(json.dumps(payload).encode())).decode()


def _fresh(app) -> TestClient:
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


def test_logout_ends_a_copied_cookie(signed_in, app):
    copied = signed_in.cookies[SESSION_COOKIE]
    assert signed_in.post("/logout").status_code == 303
    thief = _fresh(app)
    thief.cookies.set(SESSION_COOKIE, copied)
    response = thief.get("/settings")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    # signing in again works
    again = signed_in.post("/login", data={"username": "jiwoo", "password": OWNER_PASSWORD})
    assert again.status_code == 303 and signed_in.get("/settings").status_code == 200


def test_a_login_older_than_the_absolute_lifetime_has_ended(app, owner):
    now = time.time()
    client = _fresh(app)
    payload = {"owner_id": owner.id, "epoch": owner.session_epoch}
    client.cookies.set(SESSION_COOKIE, _cookie(app, {**payload, "since": int(now - 89 * 86400)}))
    assert client.get("/settings").status_code == 200  # 89 days: still within 90
    client.cookies.set(SESSION_COOKIE, _cookie(app, {**payload, "since": int(now - 91 * 86400)}))
    assert client.get("/settings").status_code == 303  # 91 days: sign in again
    client.cookies.set(SESSION_COOKIE, _cookie(app, payload))  # from before `since` existed
    assert client.get("/settings").status_code == 303


def test_a_login_in_use_slides_and_an_unused_one_expires(app, owner):
    now = time.time()
    payload = {"owner_id": owner.id, "epoch": owner.session_epoch, "since": int(now - 20 * 86400)}
    client = _fresh(app)
    client.cookies.set(SESSION_COOKIE, _cookie(app, payload, signed_at=now - 2 * 86400))
    response = client.get("/settings")
    assert response.status_code == 200
    renewed = response.headers.get("set-cookie", "")
    assert renewed.startswith(f"{SESSION_COOKIE}=") and "Max-Age=2592000" in renewed

    today = _fresh(app)  # signed an hour ago: nothing to renew
    today.cookies.set(SESSION_COOKIE, _cookie(app, payload, signed_at=now - 3600))
    response = today.get("/settings")
    assert response.status_code == 200 and "set-cookie" not in response.headers

    unused = _fresh(app)
    unused.cookies.set(SESSION_COOKIE, _cookie(app, payload, signed_at=now - 31 * 86400))
    assert unused.get("/settings").status_code == 303


@pytest.mark.parametrize("path", ["/login", "/healthz", "/static/css/app.css", "/setup"])
def test_every_response_carries_the_security_headers(client, owner, path):
    response = client.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_pages_have_no_inline_script_or_style(signed_in):
    from lxml import html

    for path in ("/", "/activities", "/wellness", "/insights", "/settings", "/import"):
        tree = html.fromstring(signed_in.get(path).text)
        assert not tree.xpath("//*[@style]"), path
        assert not tree.xpath("//style"), path
        inline = tree.xpath("//script[not(@src) and not(@type='application/json')]")
        assert not inline, path
        handlers = [a for el in tree.iter() for a in el.attrib if a.startswith(("on", "hx-on"))]
        assert not handlers, path
