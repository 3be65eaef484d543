"""Behind a reverse proxy: forwarded headers believed only from DOMESTIQUE_TRUSTED_PROXIES, the
login throttle keyed by the real client and by user name, links built with the proxy's scheme."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.jobs.registry import JobRegistry
from app.web.app import create_app
from tests.conftest import OWNER_PASSWORD, with_settings

PROXY = ("172.18.0.5", 40000)


@pytest.fixture
def through(settings, sessions):
    """A client connecting from ``peer`` to an app trusting ``trusted``."""

    def make(trusted: str, peer=PROXY) -> TestClient:
        application = create_app(
            with_settings(settings, trusted_proxies=trusted), jobs=JobRegistry()
        )
        application.state.sessions = sessions
        return TestClient(
            application, base_url="http://testserver", follow_redirects=False, client=peer
        )

    return make


def _login(client: TestClient, password: str, forwarded_for: str | None = None, **headers):
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    return client.post("/login", data={"username": "jiwoo", "password": password}, headers=headers)


def test_an_attacker_behind_the_proxy_does_not_lock_the_owner_out(through, owner, settings):
    with through("172.18.0.0/16") as client:
        for _ in range(settings.login_attempts_per_minute):
            assert _login(client, "guess", "203.0.113.7").status_code == 401
        assert _login(client, "guess", "203.0.113.7").status_code == 429
        # The owner comes through the same proxy from home: not locked out.
        assert _login(client, OWNER_PASSWORD, "192.168.1.20").status_code == 303


def test_guessing_one_name_from_many_addresses_is_still_throttled(through, owner, settings):
    allowed = settings.login_attempts_per_minute * 4
    with through("172.18.0.0/16") as client:
        codes = [_login(client, "guess", f"203.0.113.{n}").status_code for n in range(allowed)]
        assert codes == [401] * allowed
        assert _login(client, OWNER_PASSWORD, "198.51.100.1").status_code == 429


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(through, owner, settings):
    """A client that is not a proxy cannot escape the throttle by inventing addresses."""
    with through("172.18.0.0/16", peer=("192.168.1.50", 50000)) as client:
        for n in range(settings.login_attempts_per_minute):
            assert _login(client, "guess", f"10.9.8.{n}").status_code == 401
        assert _login(client, OWNER_PASSWORD, "10.9.8.200").status_code == 429


def test_with_no_trusted_proxy_the_proxy_is_one_client(through, owner, settings):
    with through("") as client:
        for n in range(settings.login_attempts_per_minute):
            assert _login(client, "guess", f"203.0.113.{n}").status_code == 401
        assert _login(client, OWNER_PASSWORD, "192.168.1.20").status_code == 429


def test_links_use_the_scheme_the_proxy_forwards(through, owner):
    with through("172.18.0.5") as client:
        assert _login(client, OWNER_PASSWORD, "192.168.1.20").status_code == 303
        response = client.post(
            "/settings",
            data={"display_name": "Jiwoo", "locale": "en", "timezone": "Asia/Seoul"},
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.168.1.20"},
        )
        assert response.status_code == 303
        assert response.headers["location"].startswith("https://testserver/settings")
    with through("172.18.0.6") as untrusted:  # the same header from a peer not trusted
        assert _login(untrusted, OWNER_PASSWORD).status_code == 303
        response = untrusted.post(
            "/settings",
            data={"display_name": "Jiwoo", "locale": "en", "timezone": "Asia/Seoul"},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert response.headers["location"].startswith("http://testserver/settings")


def test_a_bad_proxy_address_is_a_clear_error(settings):
    with pytest.raises(ValidationError, match=r"DOMESTIQUE_TRUSTED_PROXIES.*not an IP address"):
        with_settings(settings, trusted_proxies="proxy.local")
