"""The Host allowlist (DNS rebinding) — through HTTP with the Host a rebinding page would send."""

from __future__ import annotations

import socket

import pytest
from fastapi.testclient import TestClient

from app.jobs.registry import JobRegistry
from app.web.app import create_app
from app.web.hosts import allowed_hosts, host_of, is_allowed
from tests.conftest import with_settings


@pytest.fixture
def strict(settings, sessions):
    """An app with no extra allowed names (the tests' `testserver` removed)."""

    def make(**changes) -> TestClient:
        application = create_app(
            with_settings(settings, **{"allowed_hosts": "", **changes}), jobs=JobRegistry()
        )
        application.state.sessions = sessions
        return TestClient(application, base_url="http://localhost", follow_redirects=False)

    return make


@pytest.mark.parametrize("path", ["/setup", "/login", "/metrics", "/"])
def test_a_rebound_name_is_refused(strict, path):
    with strict() as client:
        response = client.get(path, headers={"Host": "evil.example:8000"})
        assert response.status_code == 400
        assert "DOMESTIQUE_ALLOWED_HOSTS" in response.text and "evil.example" in response.text
        korean = client.get(path, headers={"Host": "evil.example", "Accept-Language": "ko"})
        assert "주소" in korean.text


def test_a_rebound_post_to_setup_creates_nothing(strict, db_session, settings):
    from app.services.owner import account
    from tests.conftest import OWNER_PASSWORD, setup_code_of

    form = {
        "display_name": "Mallory",
        "username": "mallory",
        "password": OWNER_PASSWORD,
        "password_confirm": OWNER_PASSWORD,
        "setup_code": setup_code_of(settings),
    }
    with strict() as client:
        response = client.post("/setup", data=form, headers={"Host": "evil.example"})
        assert response.status_code == 400
    assert not account.owner_exists(db_session)


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:8000", "127.0.0.1:8000", "192.168.1.20", "[::1]:8000", "[fe80::1]"],
)
def test_local_names_and_every_ip_address_pass(strict, host):
    with strict() as client:
        assert client.get("/login", headers={"Host": host}).status_code == 303  # to /setup


def test_this_machines_name_passes(strict):
    with strict() as client:
        name = socket.gethostname()
        assert client.get("/login", headers={"Host": f"{name}:8000"}).status_code == 303


def test_the_public_url_and_the_setting_pass(strict):
    with strict(
        public_url="https://train.example.org", allowed_hosts="nas.local, *.home.arpa"
    ) as client:
        for host in ("train.example.org", "nas.local:8000", "nas.home.arpa", "home.arpa"):
            assert client.get("/login", headers={"Host": host}).status_code == 303, host
        assert client.get("/login", headers={"Host": "home.arpa.evil"}).status_code == 400
        assert client.get("/login", headers={"Host": "xnas.local"}).status_code == 400


def test_healthz_answers_any_name(strict):
    with strict() as client:
        assert client.get("/healthz", headers={"Host": "evil.example"}).status_code == 200


def test_a_missing_host_is_refused():
    assert not is_allowed("", ["*.localhost"])
    assert host_of("[::1]:8000") == "::1"
    assert host_of("Example.COM.:80") == "example.com"


def test_allowed_hosts_lists_the_sources(settings):
    names = allowed_hosts(
        with_settings(settings, public_url="http://nas.lan:8000/", allowed_hosts="a.b,c.d")
    )
    assert {"localhost", "nas.lan", "a.b", "c.d", socket.gethostname().lower()} <= set(names)
