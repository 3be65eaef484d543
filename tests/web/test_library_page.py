"""Settings → Coach → Library through HTTP: the documents listed, an owner's file added (and a
refused one with its sentence, nothing stored), removed (a shipped one cannot be), the upload's
size allowed after login only, and the library re-embedded in the background with progress
when the embedding model changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.models import LibraryChunk, LibraryDocument, LlmCall
from app.services.coach import library
from tests.support.coach_llm import KEY, MODEL, TestClock, llm_settings
from tests.support.fake_llm import EMBEDDINGS, FakeLlm

ORIGIN = {"Origin": "http://testserver"}
EN = {"Accept-Language": "en"}
KO = {"Accept-Language": "ko-KR,ko;q=0.9"}
NOTES = b"# Club notes\n\n## Tuesday hills\n\nSix hill repeats of ninety seconds, jog down.\n"


@pytest.fixture
def fake() -> Iterator[FakeLlm]:
    server = FakeLlm(api_key=KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def shipped(sessions):
    library.sync_shipped(sessions)


def owner_documents(sessions) -> list[LibraryDocument]:
    with sessions() as session:
        return list(
            session.scalars(select(LibraryDocument).where(LibraryDocument.origin == "owner"))
        )


def test_the_library_page_is_behind_the_login(client, owner):
    assert client.get("/settings/coach/library").status_code == 303
    for path in ("/settings/coach/library/reembed", "/settings/coach/library/1/delete"):
        response = client.post(path, headers=ORIGIN)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")


def test_the_page_follows_a_re_embedding_in_progress(app, signed_in, shipped, fake):
    app.state.settings = llm_settings(
        app.state.settings,
        llm_base_url=fake.base_url,
        llm_model=MODEL,
        llm_embedding_model="test-embed",
    )
    app.state.work_runner.last_reembed = {"status": "running", "done": 64, "total": 464}
    page = signed_in.get("/settings/coach/library", headers=EN).text
    assert "Embedding the library: 64 of 464 passages…" in page
    assert 'hx-trigger="every 2s"' in page  # the progress polls until it is done
    assert 'data-testid="reembed"' not in page  # no second run while one is going
    korean = signed_in.get("/settings/coach/library", headers=KO).text
    assert "구절 464개 중 64개 완료" in korean


def test_add_list_and_remove_an_owners_document(signed_in, sessions, shipped):
    page = signed_in.get("/settings/coach/library", headers=EN).text
    assert 'data-testid="shipped-documents"' in page and "None yet." in page
    assert 'href="/settings/coach/library"' in signed_in.get("/settings/coach", headers=EN).text

    added = signed_in.post(
        "/settings/coach/library",
        files={"file": ("club.md", NOTES + b"x" * (100 * 1024), "text/markdown")},
        headers=ORIGIN,
    )
    assert added.status_code == 303, added.text
    [document] = owner_documents(sessions)
    page = signed_in.get(added.headers["location"], headers=EN).text
    assert 'data-testid="added"' in page
    assert f'data-testid="document" data-id="{document.id}"' in page

    shipped_one = next(d for d in library.list_documents(sessions()) if d.origin == "shipped")
    kept = signed_in.post(f"/settings/coach/library/{shipped_one.id}/delete", headers=ORIGIN | EN)
    assert kept.status_code == 409 and "cannot be removed" in kept.text

    removed = signed_in.post(f"/settings/coach/library/{document.id}/delete", headers=ORIGIN)
    assert removed.status_code == 303
    assert owner_documents(sessions) == []


@pytest.mark.parametrize(("headers", "words"), [(EN, "is not UTF-8 text"), (KO, "UTF-8")])
def test_a_refused_file_says_why_and_stores_nothing(signed_in, sessions, shipped, headers, words):
    response = signed_in.post(
        "/settings/coach/library",
        files={"file": ("notes.txt", "한국어".encode("euc-kr") * 50, "text/plain")},
        headers=ORIGIN | headers,
    )
    assert response.status_code == 422
    assert 'data-testid="library-error"' in response.text and words in response.text
    assert owner_documents(sessions) == []
    missing = signed_in.post(
        "/settings/coach/library", files={"file": ("", b"", "text/plain")}, headers=ORIGIN | EN
    )
    assert missing.status_code == 422 and "Choose a Markdown, text or PDF file" in missing.text


def test_changing_the_embedding_model_re_embeds_the_library_with_progress(
    app, signed_in, sessions, shipped, fake
):
    app.state.llm_clock = TestClock(datetime.now(UTC)).clock
    form = {"base_url": fake.base_url, "model": MODEL, "api_key": KEY}
    signed_in.post("/settings/coach", data=form, headers=ORIGIN)
    assert fake.calls(EMBEDDINGS) == []  # no embedding model: nothing to embed
    page = signed_in.get("/settings/coach/library", headers=EN).text
    assert 'data-testid="lexical-only"' in page

    saved = signed_in.post(
        "/settings/coach", data=form | {"embedding_model": "test-embed"}, headers=ORIGIN
    )
    assert saved.status_code == 303
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(LibraryChunk))
        embedded = session.scalar(
            select(func.count())
            .select_from(LibraryChunk)
            .where(LibraryChunk.embedding_model == "test-embed")
        )
        purposes = set(session.scalars(select(LlmCall.purpose)))
    assert embedded == total > 0
    assert purposes == {"library_index"}
    assert app.state.work_runner.last_reembed == {"status": "done", "done": total, "total": total}
    page = signed_in.get("/settings/coach/library", headers=EN).text
    assert f"{total:,} of {total:,} passages have a vector from test-embed" in page
    assert 'data-testid="reembed"' not in page

    # Saving again with the same model embeds nothing more.
    before = len(fake.calls(EMBEDDINGS))
    signed_in.post("/settings/coach", data=form | {"embedding_model": "test-embed"}, headers=ORIGIN)
    assert len(fake.calls(EMBEDDINGS)) == before


def test_a_failed_re_embedding_says_so_and_can_be_retried(app, signed_in, sessions, shipped, fake):
    app.state.llm_clock = TestClock(datetime.now(UTC)).clock
    fake.fail(500, times=2, path=EMBEDDINGS)  # the request and its one retry
    form = {
        "base_url": fake.base_url,
        "model": MODEL,
        "api_key": KEY,
        "embedding_model": "test-embed",
    }
    signed_in.post("/settings/coach", data=form, headers=ORIGIN)
    page = signed_in.get("/settings/coach/library", headers=EN).text
    assert 'data-testid="reembed-failed"' in page and 'data-testid="reembed"' in page

    response = signed_in.post("/settings/coach/library/reembed", headers=ORIGIN)
    assert response.status_code == 303
    page = signed_in.get("/settings/coach/library", headers=EN).text
    assert 'data-testid="reembed-failed"' not in page and 'data-testid="reembed"' not in page
