"""*Ask the coach*, the pure part: the answer's schema, the prompt built from the question, the
athlete's snapshot and the retrieved library passages, and the citation check.

The model sees each passage under its id (the library chunk's id) and answers
``{"answer": "...", "citations": [id, ...]}``. Only ids among the passages it was given may
stand: :func:`check_citations` splits the cited ids into those kept and those dropped (a model
that invents or remembers an id cites nothing real; the service logs what it dropped).

No database, network or clock here (``tests/unit/test_layers.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PROMPT_VERSION = "ask-1"
PURPOSE = "ask"
MAX_QUESTION_CHARS = 2000
MAX_HISTORY_TURNS = 6
"""The earlier questions and answers of a conversation the prompt carries (the latest ones)."""
MAX_HISTORY_CHARS = 1500
"""Each earlier answer is cut to this many characters in the prompt."""
MAX_PASSAGE_CHARS = 2400

type Language = Literal["en", "ko"]

LANGUAGE_NAMES = {"en": "English", "ko": "Korean (한국어)"}


class CoachAnswer(BaseModel):
    """What the model must return (a strict JSON Schema: both fields required, nothing else)."""

    model_config = ConfigDict(extra="forbid")

    answer: str = Field(description="The answer to the athlete, in the language asked for.")
    citations: list[int] = Field(
        description="The ids of the library passages the answer rests on (only ids given)."
    )


@dataclass(frozen=True, slots=True)
class Source:
    """One retrieved library passage as the prompt shows it."""

    id: int
    title: str
    section: str
    lang: str
    text: str


@dataclass(frozen=True, slots=True)
class Turn:
    """An earlier question or answer of the conversation."""

    role: Literal["owner", "coach"]
    content: str


SYSTEM = """You are Domestique's endurance coach, talking with one athlete.
Ground every answer in two things only: the athlete's data (the JSON snapshot below, computed \
by Domestique — never invent numbers, sessions or dates that are not in it) and the guideline \
library passages below (each has an id).
Rules:
- Answer in {language}, plainly and briefly (at most about 200 words), supportive and direct, \
data first, never guilt.
- Put in "citations" the ids of the passages your answer rests on, and only ids listed below. \
If no passage supports the answer, say so and leave "citations" empty.
- If the snapshot lacks what the question needs, say what is missing instead of guessing.
- You do not diagnose injuries or illness; for pain, fever or chest symptoms, advise seeing a \
doctor.
Return JSON only: {{"answer": string, "citations": [integer, ...]}}."""


def _passages_block(sources: Sequence[Source]) -> str:
    if not sources:
        return "Library passages: none matched this question."
    parts = ["Library passages:"]
    for source in sources:
        body = source.text.strip()
        if len(body) > MAX_PASSAGE_CHARS:
            body = body[:MAX_PASSAGE_CHARS].rstrip() + " …"
        parts.append(f"[id {source.id}] {source.title} — {source.section} ({source.lang})\n{body}")
    return "\n\n".join(parts)


def build_messages(
    question: str,
    *,
    language: Language,
    snapshot_text: str,
    sources: Sequence[Source],
    history: Sequence[Turn] = (),
) -> list[dict[str, str]]:
    """The chat messages of one question: the rules, the snapshot and the passages as the
    system message, the conversation's latest turns, then the question."""
    system = "\n\n".join(
        [
            SYSTEM.format(language=LANGUAGE_NAMES[language]),
            f"Athlete snapshot (JSON):\n{snapshot_text}",
            _passages_block(sources),
        ]
    )
    messages = [{"role": "system", "content": system}]
    for turn in list(history)[-MAX_HISTORY_TURNS:]:
        content = turn.content
        if turn.role == "coach" and len(content) > MAX_HISTORY_CHARS:
            content = content[:MAX_HISTORY_CHARS].rstrip() + " …"
        messages.append(
            {"role": "user" if turn.role == "owner" else "assistant", "content": content}
        )
    messages.append({"role": "user", "content": question.strip()})
    return messages


@dataclass(frozen=True, slots=True)
class CheckedCitations:
    kept: tuple[int, ...]
    dropped: tuple[int, ...]


def check_citations(cited: Sequence[int], retrieved: Sequence[int]) -> CheckedCitations:
    """The cited ids that were among the retrieved passages (in the order cited, once each),
    and those that were not."""
    allowed = set(retrieved)
    kept: list[int] = []
    dropped: list[int] = []
    for chunk in cited:
        target = kept if chunk in allowed else dropped
        if chunk not in target:
            target.append(chunk)
    return CheckedCitations(tuple(kept), tuple(dropped))


def citation_records(kept: Sequence[int], sources: Mapping[int, Source]) -> list[dict[str, object]]:
    """What a kept citation stores: enough to show and link it after the library changes."""
    return [
        {
            "chunk_id": chunk,
            "title": sources[chunk].title,
            "section": sources[chunk].section,
            "lang": sources[chunk].lang,
        }
        for chunk in kept
    ]


def title_of(question: str, limit: int = 80) -> str:
    """A conversation's title: its first question on one line, cut at ``limit``."""
    line = " ".join(question.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
