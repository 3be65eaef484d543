"""``domestique coach ask`` against a new database (the command migrates it and loads the
shipped library) and the fake LLM server: the answer and its citations, as text and JSON; a
failure's sentence and exit status; no model configured."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from tests.support.coach_llm import KEY, MODEL
from tests.support.fake_llm import CHAT, FakeLlm

QUESTION = "마라톤 전에 테이퍼링은 얼마나 해야 하나요?"


@pytest.fixture
def fake() -> Iterator[FakeLlm]:
    server = FakeLlm(api_key=KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cli_env(monkeypatch, pg_cluster, tmp_path):
    url = pg_cluster.create_database("domestique_coach_ask_cli")
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", url)
    monkeypatch.setenv("DOMESTIQUE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DOMESTIQUE_DEFAULT_LOCALE", "ko")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_coach_ask_without_a_model_says_how_and_lists_passages(cli_env):
    result = CliRunner().invoke(cli, ["coach", "ask", QUESTION])
    assert result.exit_code == 1
    assert "설정 → 코치" in result.stderr
    assert result.stderr.count("] ") >= 5  # the library's passages, still found


def test_coach_ask_answers_with_its_citations(cli_env, fake):
    cli_env.setenv("DOMESTIQUE_LLM_BASE_URL", fake.base_url)
    cli_env.setenv("DOMESTIQUE_LLM_MODEL", MODEL)
    cli_env.setenv("DOMESTIQUE_LLM_API_KEY", KEY)
    get_settings.cache_clear()
    runner = CliRunner()
    searched = runner.invoke(cli, ["library", "search", QUESTION, "--json"])
    ids = [p["chunk_id"] for p in json.loads(searched.stdout)["passages"]]
    fake.answer({"answer": "보통 2주 정도입니다.", "citations": [ids[0], 123456789]})

    result = runner.invoke(cli, ["coach", "ask", QUESTION, "--json"])

    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["answer"] == "보통 2주 정도입니다." and out["language"] == "ko"
    assert [c["chunk_id"] for c in out["citations"]] == [ids[0]]
    assert out["dropped_citations"] == [123456789]
    assert out["failure"] is None and out["conversation_id"] >= 1

    fake.answer({"answer": "네, 강도는 유지하세요.", "citations": [ids[1]]})
    text = runner.invoke(
        cli,
        ["coach", "ask", QUESTION, "--conversation", str(out["conversation_id"])],
    )
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0] == "네, 강도는 유지하세요."
    assert lines[1].startswith("[1] ") and f"(#{ids[1]})" in lines[1]
    assert len(fake.calls(CHAT)[1].body["messages"]) == 4

    fake.fail(401, times=2)
    failed = runner.invoke(cli, ["coach", "ask", QUESTION])
    assert failed.exit_code == 1
    assert "API 키" in failed.stderr
