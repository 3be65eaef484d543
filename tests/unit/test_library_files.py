"""The coach's guideline library: every document has the shape the chunker and the citations rely
on, the English and Korean twins stay in step, and the evaluation set points at real sections.

The rules are the ones ``app/coach/library/README.md`` states; this test is their enforcement.
"""

from __future__ import annotations

import datetime
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "app" / "coach" / "library"
EVAL_SET = ROOT / "tests" / "fixtures" / "library" / "eval.json"
LANGUAGES = ("en", "ko")

FRONT_MATTER_KEYS = {"id", "title", "lang", "topics", "updated", "sources"}
DOCUMENTS_MIN, DOCUMENTS_MAX = 24, 30
SECTIONS_MIN, SECTIONS_MAX = 3, 6
# Words per section; Korean is counted in space-separated eojeol, about two thirds of the
# English count for the same content (see the library README).
SECTION_WORDS = {"en": (80, 250), "ko": (50, 200)}
EVAL_MIN = 48

FRONT_MATTER = re.compile(r"\A---\n(?P<meta>.*?)\n---\n(?P<body>.*)\Z", re.DOTALL)
HEADING = re.compile(r"^(?P<marks>#{1,6}) (?P<text>.+?)\s*$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CHECKABLE = re.compile(r"\(\d{4}\)|\bdoi:10\.\S+|\bPMID \d+|https?://\S+")


@dataclass(frozen=True)
class Section:
    heading: str
    text: str

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class Document:
    path: Path
    meta: dict
    title: str
    preamble: str
    sections: tuple[Section, ...]
    deeper_headings: tuple[str, ...]


class ShapeError(ValueError):
    """A library file that does not follow the documented shape."""


def parse(path: Path) -> Document:
    """Split a library file into front matter, its level-1 title and its level-2 sections."""
    match = FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    if match is None:
        raise ShapeError(f"{path.name}: no front matter between two '---' lines at the top")
    meta = yaml.safe_load(match["meta"])
    if not isinstance(meta, dict):
        raise ShapeError(f"{path.name}: the front matter is not a mapping")
    titles: list[str] = []
    deeper: list[str] = []
    preamble: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    for line in match["body"].splitlines():
        heading = HEADING.match(line)
        if heading and len(heading["marks"]) == 1:
            titles.append(heading["text"])
        elif heading and len(heading["marks"]) == 2:
            sections.append((heading["text"], []))
        elif heading:
            deeper.append(heading["text"])
        elif sections:
            sections[-1][1].append(line)
        elif titles:
            preamble.append(line)
        elif line.strip():
            raise ShapeError(f"{path.name}: text before the level-1 title: {line!r}")
    if len(titles) != 1:
        raise ShapeError(f"{path.name}: expected one level-1 title, found {titles!r}")
    return Document(
        path=path,
        meta=meta,
        title=titles[0],
        preamble="\n".join(preamble).strip(),
        sections=tuple(Section(h, "\n".join(lines).strip()) for h, lines in sections),
        deeper_headings=tuple(deeper),
    )


def library_paths(lang: str) -> list[Path]:
    return sorted((LIBRARY / lang).glob("*.md"))


ALL_PATHS = [path for lang in LANGUAGES for path in library_paths(lang)]
SLUGS = sorted(path.stem for path in library_paths("en"))


@pytest.fixture(scope="module")
def documents() -> dict[tuple[str, str], Document]:
    return {(path.parent.name, path.stem): parse(path) for path in ALL_PATHS}


@pytest.fixture(scope="module")
def eval_questions() -> list[dict]:
    data = json.loads(EVAL_SET.read_text(encoding="utf-8"))
    return data["questions"]


# --- the parser itself -----------------------------------------------------------------------


def test_parse_reads_front_matter_title_and_sections(tmp_path):
    path = tmp_path / "sample.md"
    path.write_text(
        "---\nid: sample\ntitle: Sample\n---\n\n# Sample\n\n## One\n\nfirst text\n\n"
        "## Two\n\nsecond text here\n### Deeper\nmore\n",
        encoding="utf-8",
    )
    document = parse(path)
    assert document.meta == {"id": "sample", "title": "Sample"}
    assert document.title == "Sample"
    assert [s.heading for s in document.sections] == ["One", "Two"]
    assert document.sections[0].words == 2
    assert document.sections[1].text == "second text here\nmore"
    assert document.deeper_headings == ("Deeper",)


@pytest.mark.parametrize(
    "text",
    [
        "# No front matter\n\n## Section\n\ntext\n",
        "---\nid: x\n---\n\n## Section without a title\n\ntext\n",
        "---\nid: x\n---\n\n# One\n\n# Two\n",
        "---\n- a list\n---\n\n# Title\n",
    ],
)
def test_parse_refuses_a_malformed_file(tmp_path, text):
    path = tmp_path / "bad.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ShapeError):
        parse(path)


# --- the documents ---------------------------------------------------------------------------


def test_both_languages_hold_the_same_documents():
    english = {path.stem for path in library_paths("en")}
    korean = {path.stem for path in library_paths("ko")}
    assert english == korean, f"missing twins: {sorted(english ^ korean)}"
    assert DOCUMENTS_MIN <= len(english) <= DOCUMENTS_MAX


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_document_shape(path):
    document = parse(path)
    meta = document.meta
    lang = path.parent.name
    assert set(meta) == FRONT_MATTER_KEYS
    assert meta["id"] == path.stem and SLUG.match(path.stem)
    assert meta["lang"] == lang
    assert meta["title"] == document.title
    assert isinstance(meta["updated"], datetime.date)
    topics = meta["topics"]
    assert isinstance(topics, list) and topics
    assert all(isinstance(t, str) and SLUG.match(t) for t in topics)
    assert document.preamble == "", "text between the title and the first section"
    assert document.deeper_headings == (), "only level-2 sections"
    headings = [section.heading for section in document.sections]
    assert SECTIONS_MIN <= len(headings) <= SECTIONS_MAX
    assert len(set(headings)) == len(headings), "section headings repeat"
    low, high = SECTION_WORDS[lang]
    for section in document.sections:
        assert low <= section.words <= high, f"{section.heading!r}: {section.words} words"


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_document_cites_checkable_sources(path):
    sources = parse(path).meta["sources"]
    assert isinstance(sources, list) and len(sources) >= 1
    for source in sources:
        assert isinstance(source, str) and source.strip() == source and len(source) > 20
        assert CHECKABLE.search(source), f"no year, DOI, PMID or URL: {source!r}"
    assert len(set(sources)) == len(sources)


@pytest.mark.parametrize("slug", SLUGS)
def test_korean_twin_matches_the_english_document(documents, slug):
    english, korean = documents["en", slug], documents["ko", slug]
    assert len(korean.sections) == len(english.sections)
    assert korean.meta["sources"] == english.meta["sources"]
    assert korean.meta["topics"] == english.meta["topics"]
    assert korean.meta["updated"] == english.meta["updated"]
    assert re.search(r"[가-힣]", korean.title), "the Korean title is not in Korean"


def test_readme_lists_every_document():
    readme = (LIBRARY / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([a-z0-9-]+)` \|", readme, re.MULTILINE))
    assert listed == set(SLUGS)


# --- the evaluation set ----------------------------------------------------------------------


def test_eval_set_size_and_languages(eval_questions):
    assert len(eval_questions) >= EVAL_MIN
    languages = Counter(q["lang"] for q in eval_questions)
    assert set(languages) == set(LANGUAGES)
    assert languages["en"] == languages["ko"]
    ids = [q["id"] for q in eval_questions]
    assert len(set(ids)) == len(ids)


def test_eval_entries_name_an_existing_section(documents, eval_questions):
    for q in eval_questions:
        assert set(q) == {"id", "lang", "question", "doc", "section"}, q["id"]
        document = documents.get((q["lang"], q["doc"]))
        assert document is not None, f"{q['id']}: no {q['lang']} document {q['doc']!r}"
        headings = [section.heading for section in document.sections]
        assert q["section"] in headings, f"{q['id']}: no section {q['section']!r}"


def test_eval_questions_are_the_owners_words(eval_questions):
    for q in eval_questions:
        question = q["question"].strip()
        assert question, q["id"]
        assert q["section"].lower() not in question.lower(), f"{q['id']} copies its heading"
        if q["lang"] == "ko":
            assert re.search(r"[가-힣]", question), f"{q['id']} is not Korean"
        else:
            assert not re.search(r"[가-힣]", question), f"{q['id']} is not English"


def test_eval_set_covers_every_document_in_both_languages(eval_questions):
    covered = Counter((q["lang"], q["doc"]) for q in eval_questions)
    for lang in LANGUAGES:
        missing = [slug for slug in SLUGS if covered[lang, slug] == 0]
        assert missing == [], f"{lang} questions missing for {missing}"
    # Balanced: no document takes more than a small share of the questions.
    assert max(covered.values()) <= 3
