"""Reading library files into sections: the shipped documents along their level-2 headings, the
owner's Markdown, text and PDF files, language detection, and the clear refusal of bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.coach import library_files as lf
from app.coach.library_files import LibraryFileError, detect_language, read_owner_file
from tests.support.pdfs import text_pdf

LIBRARY = Path(lf.__file__).resolve().parent / "library"


def test_a_shipped_document_is_one_chunk_per_level_two_section():
    data = (LIBRARY / "en" / "tapering.md").read_bytes()
    document = lf.read_shipped(data, slug="tapering", lang="en")
    headings = [line[3:].strip() for line in data.decode().splitlines() if line.startswith("## ")]
    assert [s.heading for s in document.sections] == headings
    assert document.title == "Tapering before a race"
    assert "taper" in document.topics and document.sources
    assert all(s.lang == "en" and s.text and not s.text.startswith("#") for s in document.sections)


def test_every_shipped_document_reads_in_both_languages():
    for lang in ("en", "ko"):
        for path in sorted((LIBRARY / lang).glob("*.md")):
            document = lf.read_shipped(path.read_bytes(), slug=path.stem, lang=lang)
            assert document.sections, path
            assert {detect_language(s.text) for s in document.sections} == {lang}, path


def test_owner_markdown_is_split_at_headings_with_its_title():
    data = (
        b"# My marathon notes\n\nIntro line about the block.\n\n## Long runs\n\nBuild to 32 km.\n\n"
        b"### Fuelling on long runs\n\nTake 60 g of carbohydrate an hour.\n\n"
        b"```sh\n# not a heading\n```\n\n## Taper\n\nTwo weeks, volume down 40 percent.\n"
    )
    document = read_owner_file("notes.md", data)
    assert document.title == "My marathon notes"
    assert [s.heading for s in document.sections] == [
        "My marathon notes",
        "Long runs",
        "Long runs › Fuelling on long runs",
        "Taper",
    ]
    assert "# not a heading" in document.sections[2].text
    assert document.kind == "markdown" and document.lang == "en"


def test_owner_text_in_korean_is_tagged_korean():
    data = "회복 주간 메모\n\n3주 훈련 뒤에는 한 주 동안 훈련량을 30퍼센트 줄이고 강도는 유지한다."
    data = data.encode()
    document = read_owner_file("메모.txt", data)
    assert document.lang == "ko" and {s.lang for s in document.sections} == {"ko"}
    assert document.title == "회복 주간 메모"


def test_a_pdf_is_one_chunk_per_page_each_with_its_language():
    data = text_pdf(
        [
            "Tapering for a marathon\nCut volume by forty percent over the last two weeks.",
            "Recovery weeks come every third or fourth week and keep some intensity.",
        ],
        title="Coach handout",
    )
    document = read_owner_file("handout.pdf", data)
    assert document.title == "Coach handout" and document.pages == 2
    assert [s.page for s in document.sections] == [1, 2]
    assert document.sections[0].heading == "Tapering for a marathon"
    assert "forty percent" in document.sections[0].text


def test_a_long_section_is_cut_at_paragraphs_keeping_its_heading():
    paragraph = " ".join(["word"] * 200)
    data = f"## Big\n\n{paragraph}\n\n{paragraph}\n\n{paragraph}\n".encode()
    sections = read_owner_file("big.md", data).sections
    big = [s for s in sections if s.heading == "Big"]
    assert len(big) == 3
    assert all(len(s.text.split()) <= lf.MAX_CHUNK_WORDS for s in big)


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("notes.docx", b"PK\x03\x04", "unsupported"),
        ("empty.md", b"  \n\n", "empty"),
        ("latin1.txt", "caf\xe9 au lait".encode("latin-1"), "not_utf8"),
        ("nul.txt", b"abc\x00def", "binary"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "pdf_malformed"),
        ("locked.pdf", text_pdf(["secret plan"], password="pw"), "pdf_encrypted"),
        ("scan.pdf", text_pdf([""]), "pdf_no_text"),
    ],
)
def test_bad_files_are_refused_with_a_code(name, data, code):
    with pytest.raises(LibraryFileError) as error:
        read_owner_file(name, data)
    assert error.value.code == code


def test_a_file_over_the_size_limit_is_refused(monkeypatch):
    monkeypatch.setattr(lf, "MAX_FILE_BYTES", 100)
    with pytest.raises(LibraryFileError) as error:
        read_owner_file("big.txt", b"x" * 101)
    assert error.value.code == "too_big"


def test_language_detection_by_hangul_share():
    assert detect_language("HRV가 평소보다 낮으면 오늘은 쉬운 훈련으로 바꾸세요.") == "ko"
    assert (
        detect_language("When HRV is below your normal range, make today easy (쉬운 날).") == "en"
    )
    assert detect_language("HRV") == "en"  # too few letters: the default
    assert detect_language("HRV", default="ko") == "ko"
