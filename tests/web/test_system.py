"""Health, metrics, request ids, request size limits."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.jobs.registry import JobRegistry
from app.web.app import create_app
from tests.conftest import with_settings


def test_healthz_says_only_the_status_to_anyone(client, owner):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}  # no versions, no schema revision


def test_healthz_reports_database_and_scheduler(signed_in):
    response = signed_in.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["postgres"].startswith("17")
    assert body["database"]["timescaledb_edition"] in ("apache", "timescale")
    assert body["database"]["pgvector"]
    assert body["database"]["revision"] == body["database"]["head"]
    # Each managed extension's installed and default version (start-up updates those behind).
    extensions = body["database"]["extensions"]
    assert extensions["timescaledb"]["installed"] == body["database"]["timescaledb"]
    assert extensions["vector"]["installed"] == body["database"]["pgvector"]
    assert all(e["installed"] == e["default"] for e in extensions.values())
    assert body["database"]["extensions_current"] is True
    assert body["scheduler"]["running"] is True


def test_healthz_is_503_when_the_database_is_down(settings, tmp_path):
    down = with_settings(
        settings, **{"database_url": f"postgresql+psycopg://nobody@/nowhere?host={tmp_path}"}
    )
    probed = with_settings(down, metrics_token="probe-token")
    with TestClient(create_app(probed, jobs=JobRegistry())) as client:
        anonymous = client.get("/healthz")
        response = client.get("/healthz", headers={"Authorization": "Bearer probe-token"})
    assert anonymous.status_code == 503 and anonymous.json() == {"status": "unavailable"}
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False, "error": "OperationalError"}


def test_metrics_are_public_without_a_token(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'domestique_http_requests_total{method="GET",route="/healthz",status="200"}' in (
        response.text
    )
    assert "domestique_http_request_duration_seconds_bucket" in response.text


def test_metrics_token_protects_the_endpoint(settings, sessions):
    application = create_app(
        with_settings(settings, **{"metrics_token": "scrape-me-please"}), jobs=JobRegistry()
    )
    application.state.sessions = sessions
    with TestClient(application) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401
        right = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
        assert right.status_code == 200
        assert client.get("/healthz").json() == {"status": "ok"}
        wrong = client.get("/healthz", headers={"Authorization": "Bearer guess"})
        assert wrong.json() == {"status": "ok"}
        full = client.get("/healthz", headers={"Authorization": "Bearer scrape-me-please"})
        assert full.json()["database"]["ok"] is True and "version" in full.json()


def test_request_id_is_returned_and_kept_when_sane(client):
    assert len(client.get("/healthz").headers["x-request-id"]) == 16
    kept = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert replaced.headers["x-request-id"] != "bad id\nwith newline"


def test_unknown_paths_are_404_for_the_owner(signed_in):
    assert signed_in.get("/no-such-page").status_code == 404
