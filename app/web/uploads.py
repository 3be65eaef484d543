"""Streaming multipart uploads straight into the raw store's ``.incoming`` folder.

Starlette's form parser spools each file to the system temp dir (a small tmpfs in many
containers) and the app would copy it again; here every part is hashed and written once, under
``data/``, while it arrives, and nothing is held in memory beyond one network chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.config import Settings
from app.services.raw_store import IncomingFile

# A part's headers (name, file name, type) fit in far less; more is not an upload.
MAX_PART_HEADER_BYTES = 16 * 1024


class UploadError(ValueError):
    """The request is not a usable multipart upload."""


@dataclass
class _State:
    header_field: bytes = b""
    header_bytes: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    current: IncomingFile | None = None
    files: list[IncomingFile] = field(default_factory=list)


async def receive_files(
    request: Request, settings: Settings, *, field_name: str = "files"
) -> list[IncomingFile]:
    """Every non-empty file part named ``field_name``, written under ``data/raw/.incoming``.

    Raises ``UploadError`` for a request that is not multipart, and ``raw_store.TooLarge``
    (after discarding what was written) for a file over ``DOMESTIQUE_MAX_UPLOAD_MB``.
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise UploadError("expected multipart/form-data")
    state = _State()
    limit = settings.max_upload_mb * 1024 * 1024

    def count_header(size: int) -> None:
        state.header_bytes += size
        if state.header_bytes > MAX_PART_HEADER_BYTES:
            raise UploadError("a part's headers are too large")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        count_header(end - start)
        state.header_field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        count_header(end - start)
        name = state.header_field.lower()
        state.headers[name] = state.headers.get(name, b"") + data[start:end]

    def on_header_end() -> None:
        state.header_field = b""

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(state.headers.get(b"content-disposition", b""))
        state.headers = {}
        state.header_bytes = 0
        filename = disposition.get(b"filename")
        if disposition.get(b"name") == field_name.encode() and filename:
            name = filename.decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]
            state.current = IncomingFile(settings, name[:255], limit)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state.current is not None:
            state.current.write(data[start:end])

    def on_part_end() -> None:
        if state.current is not None:
            if state.current.size:
                state.files.append(state.current)
            else:
                state.current.discard()
        state.current = None

    parser = MultipartParser(
        options[b"boundary"],
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except BaseException as error:
        for incoming in [*state.files, *([state.current] if state.current else [])]:
            incoming.discard()
        if isinstance(error, MultipartParseError):
            raise UploadError(f"not a usable multipart body: {error}") from error
        raise
    return state.files
