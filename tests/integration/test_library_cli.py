"""``domestique library search/add/list/remove`` against the real database (a new one: the
commands migrate it and load the shipped library first)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings


@pytest.fixture
def cli_env(monkeypatch, pg_cluster, tmp_path):
    url = pg_cluster.create_database("domestique_library_cli")
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", url)
    monkeypatch.setenv("DOMESTIQUE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DOMESTIQUE_DEFAULT_LOCALE", "ko")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_search_add_list_and_remove(cli_env, tmp_path):
    runner = CliRunner()
    found = runner.invoke(cli, ["library", "search", "테이퍼링은 언제 시작하나요?", "--json"])
    assert found.exit_code == 0, found.output
    answer = json.loads(found.stdout)
    assert answer["lang"] == "ko" and len(answer["passages"]) == 5
    first = answer["passages"][0]
    assert first["slug"] == "tapering" and first["lang"] == "ko" and first["section"]

    text_out = runner.invoke(cli, ["library", "search", "marathon taper", "-k", "2"])
    assert text_out.exit_code == 0, text_out.output
    assert text_out.stdout.startswith("1. ") and "[en]" in text_out.stdout
    assert "2. " in text_out.stdout and "3. " not in text_out.stdout

    notes = tmp_path / "notes.md"
    notes.write_text(
        "# Sauna notes\n\n## Sauna after rides\n\nFifteen minutes of sauna after rides.\n"
    )
    added = runner.invoke(cli, ["library", "add", str(notes)])
    assert added.exit_code == 0, added.output
    assert "added document" in added.stdout and "(markdown, en, 1 passages)" in added.stdout
    document_id = int(added.stdout.split("added document ", 1)[1].split(":", 1)[0])

    listed = json.loads(runner.invoke(cli, ["library", "list", "--json"]).stdout)
    assert listed[0]["id"] == document_id and listed[0]["origin"] == "owner"
    assert sum(d["origin"] == "shipped" for d in listed) == 56

    sauna = json.loads(runner.invoke(cli, ["library", "search", "sauna", "--json"]).stdout)
    assert sauna["passages"][0]["document_id"] == document_id

    removed = runner.invoke(cli, ["library", "remove", str(document_id)])
    assert removed.exit_code == 0 and "removed document" in removed.stdout
    again = runner.invoke(cli, ["library", "remove", str(document_id)])
    assert again.exit_code == 1 and "이미 자료실에 없습니다" in again.output
    shipped = runner.invoke(cli, ["library", "remove", str(listed[1]["id"])])
    assert shipped.exit_code == 1 and "삭제할 수 없습니다" in shipped.output


def test_a_bad_file_is_one_sentence_in_the_owner_language(cli_env, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 au lait".encode("latin-1"))
    result = CliRunner().invoke(cli, ["library", "add", str(bad)])
    assert result.exit_code == 1
    assert "latin1.txt" in result.output and "UTF-8 텍스트가 아닙니다" in result.output
    listed = json.loads(CliRunner().invoke(cli, ["library", "list", "--json"]).stdout)
    assert all(d["origin"] == "shipped" for d in listed)
