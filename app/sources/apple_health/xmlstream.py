"""Safe, streaming XML for Apple Health files: a byte filter in front of an lxml parser target.

Why a filter: since HealthKit Export Version 12 (iOS 16) Apple ships ``export.xml`` with a broken
internal DTD (the ``VisionPrescription`` attribute list is never closed and a stray ``>`` precedes
``]>``), so every conforming parser stops around line 155; and some exports carry C0 control
characters (``\\x0b``, ``\\x1f``) in source names and metadata values, which XML 1.0 forbids.

:class:`Sanitizer` fixes both on the fly, chunk by chunk, in constant memory:

- the whole ``<!DOCTYPE … [ … ]>`` declaration is dropped (replaced by as many newlines as it
  spanned, so parser line numbers still match the file); a DOCTYPE declaring an ``<!ENTITY`` is
  refused outright (``SourceDataError(code="xml_entities")``) — Apple never declares entities;
- C0 control characters other than tab, line feed and carriage return are deleted, and so are
  character references to them (``&#11;``), which the parser would also refuse.

Because no DOCTYPE ever reaches the parser, no entity can be defined: a reference such as
``&xxe;`` is an undefined entity, i.e. a well-formedness error. Nothing is ever fetched (the
parser runs with ``no_network``, ``load_dtd=False``, ``resolve_entities=False``), and the parser
target's ``doctype`` callback raises in case a declaration slipped past the filter anyway: with a
target, lxml would otherwise expand internal entities even with ``resolve_entities=False``.

Comments and processing instructions before the root element are skipped properly, so text
inside them cannot fool the filter into thinking the root element has started. Bytes are
deleted, not decoded: UTF-8 multi-byte sequences never contain bytes below 0x80.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from app.sources import SourceDataError

CHUNK_SIZE = 1 << 20

# C0 controls XML 1.0 forbids (everything below 0x20 except \t \n \r).
_CONTROL_BYTES = bytes(c for c in range(32) if c not in (9, 10, 13))
# Character references to those controls, decimal or hexadecimal (&#11; &#x0B; &#x1f;).
_CONTROL_REF = re.compile(
    rb"&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]));"
)
_DOCTYPE = b"<!DOCTYPE"
_ENTITY = b"<!ENTITY"
_DOCTYPE_TOKEN = re.compile(rb"[\"'\[>]")  # what matters inside <!DOCTYPE … before '[' or '>'

# Filter states.
_PROLOG, _PI, _COMMENT, _DOCTYPE_DECL, _SUBSET, _SUBSET_END, _BODY = range(7)


class Sanitizer:
    """Feed raw bytes in, get bytes a strict XML parser accepts. See the module docstring."""

    def __init__(self) -> None:
        self._state = _PROLOG
        self._pending = b""  # an incomplete construct held back at a chunk boundary
        self._quote = 0  # inside <!DOCTYPE …>: the open quote byte, or 0
        self._dropped_tail = (
            b""  # last bytes of the dropped DOCTYPE, to find <!ENTITY across chunks
        )
        self.saw_doctype = False

    def feed(self, data: bytes, *, final: bool = False) -> bytes:
        data = self._pending + data.translate(None, _CONTROL_BYTES)
        self._pending = b""
        if self._state == _BODY:
            return self._body(data, final)
        out = bytearray()
        pos = 0
        end = len(data)
        while pos < end:
            state = self._state
            if state == _PROLOG:
                lt = data.find(b"<", pos)
                if lt < 0:
                    out += data[pos:]
                    break
                out += data[pos:lt]
                if end - lt < len(_DOCTYPE) and not final:
                    self._pending = data[lt:]
                    break
                if data.startswith(b"<?", lt):
                    self._state = _PI
                    out += b"<?"
                    pos = lt + 2
                elif data.startswith(b"<!--", lt):
                    self._state = _COMMENT
                    out += b"<!--"
                    pos = lt + 4
                elif data.startswith(_DOCTYPE, lt):
                    self._state = _DOCTYPE_DECL
                    self.saw_doctype = True
                    self._quote = 0
                    self._dropped_tail = b""
                    pos = lt + len(_DOCTYPE)
                else:  # the root element starts (or garbage the parser will refuse)
                    self._state = _BODY
                    out += self._body(data[lt:], final)
                    break
            elif state in (_PI, _COMMENT):
                token = b"?>" if state == _PI else b"-->"
                close = data.find(token, pos)
                if close < 0:
                    cut = end if final else max(pos, end - len(token) + 1)
                    out += data[pos:cut]
                    self._pending = data[cut:]
                    break
                out += data[pos : close + len(token)]
                pos = close + len(token)
                self._state = _PROLOG
            elif state == _DOCTYPE_DECL:  # name and external id, up to '[' or '>'
                stop = pos
                while True:
                    if self._quote:
                        close = data.find(bytes((self._quote,)), stop)
                        if close < 0:
                            stop = end
                            break
                        self._quote = 0
                        stop = close + 1
                        continue
                    match = _DOCTYPE_TOKEN.search(data, stop)
                    if match is None:
                        stop = end
                        break
                    char = data[match.start()]
                    stop = match.end()
                    if char in b"\"'":
                        self._quote = char
                        continue
                    self._state = _SUBSET if char == ord("[") else _PROLOG
                    break
                out += self._drop(data[pos:stop])
                pos = stop
            elif state == _SUBSET:  # the internal subset, up to ']'
                close = data.find(b"]", pos)
                stop = end if close < 0 else close + 1
                out += self._drop(data[pos:stop])
                pos = stop
                if close >= 0:
                    self._state = _SUBSET_END
            else:  # _SUBSET_END: after ']', only white space may come before '>'
                while pos < end and data[pos] in b" \t\r\n":
                    if data[pos] == 10:
                        out += b"\n"
                    pos += 1
                if pos < end:
                    if data[pos] == ord(">"):
                        pos += 1
                        self._state = _PROLOG
                    else:  # that ']' was inside the subset; keep skipping it
                        self._state = _SUBSET
        if final and self._state in (_DOCTYPE_DECL, _SUBSET, _SUBSET_END):
            # The file ended inside the DOCTYPE: nothing of the document is left to parse.
            self._state = _PROLOG
        return bytes(out)

    def _drop(self, segment: bytes) -> bytes:
        """Drop part of the DOCTYPE; refuse entity declarations; keep the line count."""
        window = self._dropped_tail + segment
        if _ENTITY in window:
            raise SourceDataError(
                "The file declares XML entities, which an Apple Health export never does",
                code="xml_entities",
            )
        self._dropped_tail = window[-(len(_ENTITY) - 1) :]
        return b"\n" * segment.count(b"\n")

    def _body(self, data: bytes, final: bool) -> bytes:
        if not final:
            # Hold back a character reference cut by the chunk boundary ("&#1" + "1;").
            amp = data.rfind(b"&", max(0, len(data) - 12))
            if amp >= 0 and b";" not in data[amp:]:
                self._pending = data[amp:]
                data = data[:amp]
        if b"&#" in data:
            data = _CONTROL_REF.sub(b"", data)
        return data


class SafeTarget:
    """Base of the lxml parser targets used with :func:`parse_stream`.

    Subclasses add ``start``/``end``/``data`` and set ``root`` on their first element.
    """

    root: str | None = None  # the root element's tag once it started

    def doctype(self, *_args: object) -> None:
        # The sanitizer drops every DOCTYPE; one reaching the parser means it was fooled, and
        # lxml would expand internal entities for a target: stop before any is used.
        raise SourceDataError("A DOCTYPE reached the XML parser", code="xml_entities")

    def close(self) -> None:
        return None


def parse_stream(
    source: BinaryIO,
    target: SafeTarget,
    *,
    not_xml_code: str,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[None]:
    """Parse ``source`` through the sanitizer into ``target``; yield after every chunk.

    ``target`` is an lxml parser target (see ``lxml.etree.XMLParser(target=…)``) that sets
    ``root`` on its first element. Errors become ``SourceDataError``:
    ``not_xml_code`` when nothing parsed before the error (not XML, empty, another format),
    ``xml_malformed`` with the ``line`` otherwise (truncated, broken markup, undefined entity).
    Exceptions raised by the target propagate unchanged.
    """
    parser = etree.XMLParser(
        target=target,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    sanitizer = Sanitizer()
    try:
        while True:
            block = source.read(chunk_size)
            if not block:
                break
            clean = sanitizer.feed(block)
            if clean:
                parser.feed(clean)
            yield
        clean = sanitizer.feed(b"", final=True)
        if clean:
            parser.feed(clean)
        parser.close()
    except etree.ParseError as exc:
        if target.root is None:
            raise SourceDataError(
                f"Not the expected XML document: {exc}", code=not_xml_code
            ) from None
        line = exc.lineno if exc.lineno else (exc.position[0] if exc.position else 0)
        raise SourceDataError(f"Malformed XML: {exc}", code="xml_malformed", line=line) from None
