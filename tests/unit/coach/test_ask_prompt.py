"""The pure part of Ask the coach: the prompt's shape and the citation check."""

from __future__ import annotations

from app.coach.ask import (
    MAX_HISTORY_TURNS,
    MAX_PASSAGE_CHARS,
    CoachAnswer,
    Source,
    Turn,
    build_messages,
    check_citations,
    citation_records,
    title_of,
)

SOURCES = [
    Source(11, "Tapering", "How long", "en", "Two weeks, volume down 41–60 %."),
    Source(42, "Tapering", "Keep intensity", "en", "Keep the intensity and the frequency."),
]


def test_only_cited_ids_among_the_passages_are_kept_once_each_in_order():
    checked = check_citations([42, 7, 11, 42, 7, 99], [11, 42])
    assert checked.kept == (42, 11)
    assert checked.dropped == (7, 99)
    assert check_citations([], [11]).kept == ()


def test_the_prompt_holds_the_rules_the_snapshot_the_passages_and_the_question():
    messages = build_messages(
        "  테이퍼링은 얼마나?  ",
        language="ko",
        snapshot_text='{"snapshot_version":1}',
        sources=SOURCES,
    )
    system = messages[0]["content"]
    assert messages[0]["role"] == "system"
    assert "Answer in Korean (한국어)" in system
    assert 'Athlete snapshot (JSON):\n{"snapshot_version":1}' in system
    assert "[id 11] Tapering — How long (en)\nTwo weeks" in system
    assert "[id 42] Tapering — Keep intensity (en)" in system
    assert messages[-1] == {"role": "user", "content": "테이퍼링은 얼마나?"}
    assert len(messages) == 2


def test_without_passages_the_prompt_says_so_and_long_passages_are_cut():
    long = Source(5, "Doc", "Section", "en", "word " * 2000)
    system = build_messages("q", language="en", snapshot_text="{}", sources=[])[0]["content"]
    assert "Library passages: none matched this question." in system
    system = build_messages("q", language="en", snapshot_text="{}", sources=[long])[0]["content"]
    assert len(system) < len("word " * 2000)
    assert system.endswith(" …") and MAX_PASSAGE_CHARS < 2000 * 5


def test_the_history_keeps_the_latest_turns_as_user_and_assistant():
    history = [Turn("owner" if i % 2 == 0 else "coach", f"turn {i}") for i in range(10)]
    messages = build_messages(
        "now?", language="en", snapshot_text="{}", sources=[], history=history
    )
    middle = messages[1:-1]
    assert len(middle) == MAX_HISTORY_TURNS
    assert middle[0] == {"role": "user", "content": "turn 4"}
    assert middle[-1] == {"role": "assistant", "content": "turn 9"}


def test_the_answer_schema_is_closed_and_requires_both_fields():
    schema = CoachAnswer.model_json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"answer", "citations"}


def test_citation_records_and_titles():
    assert citation_records([42], {s.id: s for s in SOURCES}) == [
        {"chunk_id": 42, "title": "Tapering", "section": "Keep intensity", "lang": "en"}
    ]
    assert title_of("  How   long\n should I taper? ") == "How long should I taper?"
    assert title_of("x" * 100) == "x" * 79 + "…"
