"""The guideline library's documents as sections: the shipped Markdown files and the owner's own
Markdown, plain-text and PDF files, read into the same shape the index stores and the coach cites.

- **Shipped documents** (``app/coach/library/<lang>/<slug>.md``) have YAML front matter, one
  level-1 title and level-2 sections (``app/coach/library/README.md``): a chunk is one section.
- **The owner's Markdown** is split at its headings of levels 1–3; a level-1 heading that opens
  the file is the title. Front matter, when there is any, may give ``title``, ``lang``,
  ``topics`` and ``sources``.
- **Plain text** is split into runs of paragraphs of at most ``MAX_CHUNK_WORDS`` words, each
  named by its first line.
- **PDF** is read page by page (pypdf's text layer): a chunk is one page, named by its first
  line. A PDF that needs a
  password, is malformed, or has no text layer (a scan) is refused.

Any section longer than ``MAX_CHUNK_WORDS`` words is cut at paragraph boundaries into parts that
keep its heading, so a passage handed to the model stays short. A document's language is what
its front matter says, else detected from its letters (:func:`detect_language`), chunk by chunk
for the owner's documents (a PDF may mix languages) with the document's majority as the
fallback for chunks too short to tell.

Nothing here touches a database, the network or the clock; bad input raises
:class:`LibraryFileError` with a code the service turns into the owner's sentence.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal

import yaml

Language = Literal["en", "ko"]
Kind = Literal["markdown", "text", "pdf"]
LANGUAGES: tuple[Language, ...] = ("en", "ko")

MAX_FILE_BYTES = 20 * 1024 * 1024  # an owner's file; a book-length PDF is a few MB of text
MAX_TEXT_CHARS = 2_000_000  # text after extraction (about 1,000 PDF pages)
MAX_PDF_PAGES = 1_000
MAX_CHUNK_WORDS = 350  # English words, or Korean eojeol (a shipped section has at most 250)
MIN_LETTERS_TO_DETECT = 20  # fewer letters than this: a chunk takes its document's language
KOREAN_SHARE = 0.3  # Hangul syllables among all letters from which a text is Korean

EXTENSIONS: dict[str, Kind] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".pdf": "pdf",
}

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<meta>.*?)\n---[ \t]*(?:\n|\Z)(?P<body>.*)\Z", re.S)
_HEADING = re.compile(r"^(?P<marks>#{1,6})[ \t]+(?P<text>.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


class LibraryFileError(ValueError):
    """A file the library cannot take; nothing from it was kept. ``code`` names the problem for
    the owner's sentence, ``params`` fill it; the message is for logs."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class Section:
    """One chunk: its heading (a section title, ``Page 3``, or a text's first line), its text,
    the PDF page it came from, and its language."""

    heading: str
    text: str
    lang: Language
    page: int | None = None


@dataclass(frozen=True, slots=True)
class LibraryText:
    """A document read into sections. ``slug`` is the shipped document's id (None for the
    owner's); ``pages`` counts PDF pages, else sections (what ingestion speed is measured in)."""

    title: str
    lang: Language
    kind: Kind
    sections: tuple[Section, ...]
    slug: str | None = None
    topics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    pages: int = 0
    sha256: str = field(default="", repr=False)


# --- language --------------------------------------------------------------------------------


def hangul_share(text: str) -> tuple[float, int]:
    """(Hangul letters among Hangul and Latin letters, how many letters were counted)."""
    hangul = len(_HANGUL.findall(text))
    letters = hangul + len(_LATIN.findall(text))
    return (hangul / letters if letters else 0.0), letters


def detect_language(text: str, default: Language = "en") -> Language:
    """``ko`` when at least ``KOREAN_SHARE`` of the letters are Hangul, else ``en``; ``default``
    when there are too few letters to tell.

    A Hangul syllable carries as much as two or three Latin letters, and Korean coaching text
    keeps English acronyms (HRV, FTP, CTL), so Korean text runs well above the threshold (the
    shipped Korean documents: 0.8–0.95) and English text, with at most a Korean name in it,
    well below. Only Korean and English are told apart: the library serves those two."""
    share, letters = hangul_share(text)
    if letters < MIN_LETTERS_TO_DETECT:
        return default
    return "ko" if share >= KOREAN_SHARE else "en"


# --- shipped documents -----------------------------------------------------------------------


def read_shipped(data: bytes, *, slug: str, lang: Language) -> LibraryText:
    """A shipped library file (front matter, one level-1 title, level-2 sections)."""
    text = _decode(data)
    meta, body = _front_matter(text)
    if meta is None:
        raise LibraryFileError("shape", f"{slug}: no front matter")
    title: str | None = None
    sections: list[tuple[str, list[str]]] = []
    for line, heading, level in _lines_outside_code(body):
        if heading is not None and level == 1:
            title = heading
        elif heading is not None and level == 2:
            sections.append((heading, []))
        elif sections:
            sections[-1][1].append(line)
    if title is None or not sections:
        raise LibraryFileError("shape", f"{slug}: no level-1 title or no level-2 section")
    chunks = [
        Section(heading, part, lang)
        for heading, lines in sections
        for part in _parts("\n".join(lines))
    ]
    return LibraryText(
        title=str(meta.get("title") or title),
        lang=lang,
        kind="markdown",
        sections=tuple(chunks),
        slug=slug,
        topics=tuple(str(t) for t in meta.get("topics") or ()),
        sources=tuple(str(s) for s in meta.get("sources") or ()),
        pages=len(sections),
        sha256=hashlib.sha256(data).hexdigest(),
    )


# --- the owner's documents -------------------------------------------------------------------


def kind_of(file_name: str) -> Kind:
    """The kind of an owner's file by its extension; refuses the rest."""
    suffix = PurePath(file_name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise LibraryFileError(
            "unsupported", f"{file_name}: not a Markdown, text or PDF file", name=file_name
        )
    return EXTENSIONS[suffix]


def read_owner_file(file_name: str, data: bytes) -> LibraryText:
    """An owner's Markdown, text or PDF file as sections. Raises :class:`LibraryFileError`:
    ``unsupported``, ``too_big``, ``empty``, ``not_utf8``, ``binary``, ``pdf_encrypted``,
    ``pdf_malformed``, ``pdf_no_text``, ``too_many_pages``."""
    kind = kind_of(file_name)
    if len(data) > MAX_FILE_BYTES:
        raise LibraryFileError(
            "too_big",
            f"{file_name}: {len(data)} bytes",
            name=file_name,
            limit_mb=MAX_FILE_BYTES // (1024 * 1024),
        )
    if not data.strip():
        raise LibraryFileError("empty", f"{file_name}: empty", name=file_name)
    stem = PurePath(file_name).stem
    if kind == "pdf":
        title, raw_sections, pages = _read_pdf(file_name, data)
        meta: dict = {}
    else:
        text = _decode(data, file_name)
        meta, body = _front_matter(text)
        meta = meta or {}
        if kind == "markdown":
            title, raw_sections = _split_markdown(body)
        else:
            title, raw_sections = _split_text(body)
        pages = len(raw_sections)
    raw_sections = [(h, t, p) for h, t, p in raw_sections if t.strip() or h.strip()]
    if not any(t.strip() for _, t, _ in raw_sections):
        raise LibraryFileError("empty", f"{file_name}: no text", name=file_name)
    if sum(len(t) for _, t, _ in raw_sections) > MAX_TEXT_CHARS:
        raise LibraryFileError(
            "too_big",
            f"{file_name}: more than {MAX_TEXT_CHARS} characters of text",
            name=file_name,
            limit_mb=MAX_FILE_BYTES // (1024 * 1024),
        )
    declared = meta.get("lang")
    document_lang: Language = (
        declared
        if declared in LANGUAGES
        else detect_language(" ".join(f"{h}\n{t}" for h, t, _ in raw_sections))
    )
    title = str(meta.get("title") or title or stem).strip()[:200] or stem
    sections = tuple(
        Section(
            heading[:200],
            part,
            document_lang if declared in LANGUAGES else detect_language(part, document_lang),
            page,
        )
        for heading, text, page in raw_sections
        for part in _parts(text)
        if part.strip()
    )
    return LibraryText(
        title=title,
        lang=document_lang,
        kind=kind,
        sections=sections,
        topics=tuple(str(t) for t in meta.get("topics") or ()),
        sources=tuple(str(s) for s in meta.get("sources") or ()),
        pages=pages,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _decode(data: bytes, file_name: str = "") -> str:
    if b"\x00" in data:
        raise LibraryFileError("binary", f"{file_name}: NUL bytes", name=file_name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LibraryFileError(
            "not_utf8", f"{file_name}: not UTF-8 ({error.reason})", name=file_name
        ) from error
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def _front_matter(text: str) -> tuple[dict | None, str]:
    match = _FRONT_MATTER.match(text)
    if match is None:
        return None, text
    try:
        meta = yaml.safe_load(match["meta"])
    except yaml.YAMLError:
        return None, text  # not front matter after all: the whole file is the text
    return (meta if isinstance(meta, dict) else None), match["body"]


def _lines_outside_code(body: str) -> Iterable[tuple[str, str | None, int]]:
    """(line, heading text or None, heading level or 0); lines inside fenced code blocks are
    never headings (a ``# comment`` in a shell example)."""
    fenced = False
    for line in body.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            yield line, None, 0
            continue
        heading = None if fenced else _HEADING.match(line)
        if heading:
            yield line, heading["text"].strip(), len(heading["marks"])
        else:
            yield line, None, 0


def _split_markdown(body: str) -> tuple[str | None, list[tuple[str, str, int | None]]]:
    """Title and (heading, text, None) sections: a level-1 heading before any other heading is
    the title; every heading of levels 1–3 starts a section, a level-3 heading named after its
    level-2 parent ("Parent › Child"); deeper headings stay inside their section's text. Text
    before the first heading is a section named after the title."""
    title: str | None = None
    sections: list[tuple[str, list[str]]] = [("", [])]
    open_headings: dict[int, str] = {}
    for line, heading, level in _lines_outside_code(body):
        if heading is None or level > 3:
            sections[-1][1].append(line)
        elif (
            level == 1
            and title is None
            and len(sections) == 1
            and not "".join(sections[0][1]).strip()
        ):
            title = heading
        else:
            open_headings = {k: v for k, v in open_headings.items() if k < level}
            open_headings[level] = heading
            parent = open_headings.get(2) if level == 3 else None
            sections.append((f"{parent} › {heading}" if parent else heading, []))
    out = [(heading, "\n".join(lines).strip(), None) for heading, lines in sections]
    out[0] = (title or "", out[0][1], None)
    return title, out


def _split_text(body: str) -> tuple[str | None, list[tuple[str, str, int | None]]]:
    """Title (a short first line) and sections named by their first line."""
    paragraphs = [p.strip() for p in _PARAGRAPH_BREAK.split(body.strip()) if p.strip()]
    if not paragraphs:
        return None, []
    first_line = paragraphs[0].split("\n", 1)[0].strip()
    title = first_line if len(first_line) <= 120 else None
    return title, [(_first_line(part), part, None) for part in _group(paragraphs)]


def _first_line(text: str, limit: int = 80) -> str:
    line = text.strip().split("\n", 1)[0].strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _read_pdf(file_name: str, data: bytes) -> tuple[str | None, list, int]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PyPdfError

    params = {"name": file_name}
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            # A PDF with only an owner password (print or copy restrictions) opens with an empty
            # user password, as in every viewer; one that asks for a password is refused.
            try:
                opened = reader.decrypt("")
            except (NotImplementedError, PyPdfError) as error:  # an unknown security handler
                raise LibraryFileError("pdf_encrypted", str(error), **params) from error
            if not opened:
                raise LibraryFileError("pdf_encrypted", f"{file_name}: needs a password", **params)
        count = len(reader.pages)
        if count > MAX_PDF_PAGES:
            raise LibraryFileError(
                "too_many_pages", f"{file_name}: {count} pages", limit=MAX_PDF_PAGES, **params
            )
        texts = [_clean_pdf_text(page.extract_text() or "") for page in reader.pages]
        metadata = reader.metadata
        title = str(metadata.title).strip() if metadata and metadata.title else None
    except LibraryFileError:
        raise
    except FileNotDecryptedError as error:
        raise LibraryFileError("pdf_encrypted", str(error), **params) from error
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        # pypdf raises its own errors for most damage and plain ones for the rest
        raise LibraryFileError("pdf_malformed", f"{file_name}: {error}", **params) from error
    except RecursionError as error:
        raise LibraryFileError(
            "pdf_malformed", f"{file_name}: nested too deep", **params
        ) from error
    if not any(t.strip() for t in texts):
        raise LibraryFileError("pdf_no_text", f"{file_name}: no text layer", **params)
    return title, [(_first_line(text), text, number) for number, text in enumerate(texts, 1)], count


def _clean_pdf_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\x00", ""))
    return re.sub(r"[ \t]+\n", "\n", text).strip()


# --- long sections ---------------------------------------------------------------------------


def _words(text: str) -> int:
    return len(text.split())


def _group(paragraphs: list[str], limit: int = MAX_CHUNK_WORDS) -> list[str]:
    """Consecutive paragraphs joined into parts of at most ``limit`` words (a longer paragraph
    is cut at sentence ends, or at ``limit`` words when it has none)."""
    pieces: list[str] = []
    for paragraph in paragraphs:
        if _words(paragraph) <= limit:
            pieces.append(paragraph)
            continue
        sentences = re.split(r"(?<=[.!?。])\s+", paragraph)
        for sentence in sentences:
            words = sentence.split()
            pieces.extend(" ".join(words[i : i + limit]) for i in range(0, len(words), limit))
    parts: list[list[str]] = [[]]
    for piece in pieces:
        if parts[-1] and _words("\n".join([*parts[-1], piece])) > limit:
            parts.append([])
        parts[-1].append(piece)
    return ["\n\n".join(part) for part in parts if part]


def _parts(text: str) -> list[str]:
    text = text.strip()
    if _words(text) <= MAX_CHUNK_WORDS:
        return [text]
    return _group([p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()])
