"""Request body limits: 64 KiB everywhere, the upload routes larger only after login."""

from __future__ import annotations

import socket
import threading
import urllib.request
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient

from app.jobs.registry import JobRegistry
from app.services.owner import account
from app.web.app import create_app
from tests.conftest import with_settings

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TEN_MB = 10 * 1024 * 1024


def _big_form() -> bytes:
    return b"username=jiwoo&password=" + b"a" * TEN_MB


@pytest.mark.parametrize("path", ["/login", "/setup"])
def test_a_10_mb_form_is_refused_before_setup(client, db_session, path):
    response = client.post(path, content=_big_form(), headers=FORM)
    assert response.status_code == 413
    assert "64 KiB" in response.text or "64KiB" in response.text
    assert client.get("/setup").status_code == 200  # the next request is answered normally
    assert not account.owner_exists(db_session)


@pytest.mark.parametrize("path", ["/login", "/setup", "/settings", "/language"])
def test_a_10_mb_form_is_refused_with_an_owner(client, owner, path):
    response = client.post(path, content=_big_form(), headers=FORM)
    assert response.status_code == 413
    assert client.get("/login").status_code == 200


def test_a_chunked_body_is_counted_while_it_streams(client, owner):
    sent = 0

    def chunks():  # no Content-Length
        nonlocal sent
        for _ in range(160):
            sent += 1
            yield b"a" * 1024

    response = client.post("/login", content=chunks(), headers=FORM)
    assert response.status_code == 413
    assert client.get("/login").status_code == 200


def test_a_small_form_still_works(signed_in):
    response = signed_in.post(
        "/settings", data={"display_name": "Jiwoo", "locale": "en", "timezone": "UTC"}
    )
    assert response.status_code == 303


def test_the_limit_is_configurable(settings, sessions, owner):
    application = create_app(with_settings(settings, max_body_kb=1), jobs=JobRegistry())
    application.state.sessions = sessions
    with TestClient(application, follow_redirects=False) as client:
        response = client.post("/login", content=b"password=" + b"a" * 2048, headers=FORM)
        assert response.status_code == 413 and "1 KiB" in response.text


def test_an_anonymous_upload_is_not_read(client, owner, settings):
    """Over the small limit, the upload routes send a stranger to the login page first."""
    for path in ("/import", "/settings/backups/upload", "/settings/coach/library"):
        response = client.post(
            path, files=[("files", ("big.fit", bytes(200 * 1024), "application/octet-stream"))]
        )
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
    incoming = settings.raw_dir / ".incoming"
    assert not incoming.exists() or not any(incoming.iterdir())


def test_an_anonymous_chunked_upload_gets_the_small_limit():
    """Even past the gate (a public path), an upload route's limit is the large one only for
    the signed-in owner: the limit is chosen when the body is first read."""
    from app.web.limits import BodySizeLimitMiddleware

    received: list[tuple[str, int]] = []

    async def reader(scope, receive, send):
        scope.setdefault("state", {})["owner"] = None
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                received.append(("gone", total))
                break
            total += len(message.get("body", b""))
            if not message.get("more_body"):
                received.append(("read", total))
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read"})

    limited = BodySizeLimitMiddleware(
        reader, max_body_bytes=64 * 1024, max_upload_bytes=10 * TEN_MB
    )
    plain = TestClient(limited)  # no lifespan: the reader speaks HTTP only

    def chunks():
        for _ in range(100):
            yield b"a" * 1024

    assert plain.post("/import", content=chunks()).status_code == 413
    assert received[0][0] == "gone" and received[0][1] <= 64 * 1024
    assert plain.post("/import", content=b"a" * 1000).status_code == 200
    assert received[1] == ("read", 1000)


def test_the_signed_in_owner_uploads_more_than_the_small_limit(signed_in, settings):
    response = signed_in.post(
        "/import",
        files=[("files", ("big.fit", bytes(300 * 1024), "application/octet-stream"))],
    )
    assert response.status_code != 413


@pytest.mark.parametrize(
    "padding",
    [
        "".join(f"X-Padding-{n}: {'p' * 400}\r\n" for n in range(100)),  # many (our cap)
        f"X-Padding: {'p' * (64 * 1024)}\r\n",  # one huge (python-multipart's own)
    ],
)
def test_a_multipart_part_with_huge_headers_is_refused(signed_in, settings, padding):
    boundary = "b0undary"
    body = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="files"; filename="a.fit"\r\n'
        f"{padding}\r\n"
        f"data\r\n--{boundary}--\r\n"
    ).encode()
    response = signed_in.post(
        "/import",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 400
    incoming = settings.raw_dir / ".incoming"
    assert not incoming.exists() or not any(incoming.iterdir())


@pytest.fixture
def live_url(settings) -> Iterator[str]:
    """The app under uvicorn on a loopback port (real HTTP: a body can be left unsent)."""
    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    application = create_app(settings, jobs=JobRegistry())
    server = uvicorn.Server(uvicorn.Config(application, log_config=None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listening.close()


def test_a_live_server_answers_413_before_the_body_arrives(live_url):
    host, port = live_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {TEN_MB}\r\n\r\n".encode()
            + b"password="  # and nothing more: the server must not wait for the rest
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    with urllib.request.urlopen(f"{live_url}/healthz", timeout=20) as response:  # noqa: S310
        assert response.status == 200
