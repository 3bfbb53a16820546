"""POST /emulator/v1/engagements/{configId}/files: "Run from file", a CSV contact list added to an engagement.

The HTTP edge only: which bodies are a file (text/csv, or multipart/form-data with a `file` field), the size
limit, and the answer. Reading the rows and writing them is intake's (intake/upload.py). The body is streamed:
nothing reads it whole, and a multipart body is parsed as it arrives by python-multipart's push parser.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from ccaas_emulator.control.guard import StreamedRoute
from ccaas_emulator.deps import ClockDep, DatabaseDep, SettingsDep
from ccaas_emulator.intake import upload
from ccaas_emulator.wire.errors import (
    INVALID_ARGUMENT,
    NOT_A_CSV_FILE,
    UPLOAD_STALLED,
    UPLOAD_TOO_LARGE,
    UPLOAD_UNSUPPORTED_MEDIA_TYPE,
)
from ccaas_emulator.wire.openapi import ERROR_SCHEMA
from ccaas_emulator.wire.responses import ODATA_JSON, ODataJSONResponse

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

# Who may call it is checked as for every control route (control/guard.py), but the body is left to this route.
router = APIRouter(prefix="/emulator/v1", tags=["Emulator control"], route_class=StreamedRoute)

TEXT_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii"})
MULTIPART_ALLOWANCE = 64 * 1024
"""Bytes a multipart body may carry beyond the file: boundaries and part headers."""
FILE_FIELD = "file"
# What browsers and curl send as the type of a .csv part (Windows registers .csv as Excel's), besides none.
CSV_PART_TYPES = frozenset(
    {
        "text/csv",
        "application/csv",
        "text/comma-separated-values",
        "application/vnd.ms-excel",
        "text/plain",
        "application/octet-stream",
    }
)

_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "properties": {FILE_FIELD: {"type": "string", "format": "binary"}},
                }
            },
        },
    },
    "responses": {
        "200": {
            "description": "The file was read to its end: its good rows are pending deliveries, committed.",
            "content": {
                ODATA_JSON: {
                    "schema": {
                        "type": "object",
                        "required": ["accepted", "rejected", "rejectedCount"],
                        "properties": {
                            "accepted": {"type": "integer"},
                            "rejected": {
                                "type": "array",
                                "maxItems": 1000,
                                "items": {
                                    "type": "object",
                                    "required": ["line", "reason"],
                                    "properties": {"line": {"type": "integer"}, "reason": {"type": "string"}},
                                },
                            },
                            "rejectedCount": {"type": "integer"},
                        },
                    }
                }
            },
        },
        **{
            status: {"description": description, "content": {ODATA_JSON: {"schema": ERROR_SCHEMA}}}
            for status, description in {
                "400": "Not a CSV file, required columns missing, or a malformed form; nothing was stored.",
                "404": "The engagement does not exist or is inactive; nothing was stored.",
                "413": "The file is larger than CCAAS_UPLOAD_MAX_BYTES; nothing was stored.",
                "408": "The client sent nothing for CCAAS_UPLOAD_IDLE_SECONDS; nothing was stored.",
                "415": "The body is neither text/csv nor multipart/form-data; nothing was stored.",
            }.items()
        },
    },
}


@router.post(
    "/engagements/{config_id}/files",
    summary="Run from file: add a CSV contact list's rows to an engagement as pending deliveries",
    openapi_extra=_OPENAPI,
    response_class=ODataJSONResponse,
)
async def upload_file(
    config_id: uuid.UUID, request: Request, settings: SettingsDep, database: DatabaseDep, clock: ClockDep
) -> ODataJSONResponse:
    limit = settings.upload_max_bytes
    chunks = _file_chunks(request, limit, settings.upload_idle_seconds)
    result = await upload.upload(chunks, config_id=config_id, database=database, clock=clock)
    return ODataJSONResponse(result.to_json())


def _file_chunks(request: Request, limit: int, idle_seconds: float) -> AsyncIterator[bytes]:
    """The file's bytes as they arrive, by the body's media type; 415 or 413 before anything is read."""
    content_type = request.headers.get("content-type", "")
    media_type, options = parse_options_header(content_type)
    media = media_type.decode("latin-1").lower()
    if media == "text/csv":
        charset = options.get(b"charset", b"utf-8").decode("latin-1").strip('"').lower()
        if charset not in TEXT_CHARSETS:
            raise UPLOAD_UNSUPPORTED_MEDIA_TYPE(content_type=content_type)
        _refuse_declared_size(request, limit)
        return _body(request, limit, idle_seconds)
    if media == "multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise INVALID_ARGUMENT(message="The multipart/form-data Content-Type has no boundary parameter.")
        _refuse_declared_size(request, limit + MULTIPART_ALLOWANCE)
        form = _Form(limit)
        try:
            parser = MultipartParser(boundary, form.callbacks(), max_size=limit + MULTIPART_ALLOWANCE)
        except FormParserError as exc:  # a boundary longer than 256 bytes
            raise INVALID_ARGUMENT(message=f"The multipart/form-data Content-Type is not valid: {exc}.") from None
        return _multipart_file(request, form, parser, limit, idle_seconds)
    raise UPLOAD_UNSUPPORTED_MEDIA_TYPE(content_type=content_type or "(none)")


def _refuse_declared_size(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise UPLOAD_TOO_LARGE(limit=limit)


async def _arriving(request: Request, idle_seconds: float) -> AsyncIterator[bytes]:
    """The body's chunks; 408 when the client sends nothing for `idle_seconds` (the upload holds a transaction,
    on SQLite the write lock: a stalled client must not hold them for ever)."""
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), idle_seconds)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise UPLOAD_STALLED(seconds=idle_seconds) from None
        except ClientDisconnect:  # nobody reads the answer; a refusal rolls back without logging a 500
            raise INVALID_ARGUMENT(message="The client closed the connection before the file ended.") from None
        yield chunk


async def _body(request: Request, limit: int, idle_seconds: float) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in _arriving(request, idle_seconds):
        size += len(chunk)
        if size > limit:
            raise UPLOAD_TOO_LARGE(limit=limit)
        yield chunk


class _Form:
    """The state of a multipart body as python-multipart's callbacks report it: the `file` field's data."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.file_size = 0
        self.data: list[bytes] = []
        self.files = 0
        self.ended = False
        self._headers: dict[str, str] = {}
        self._field = b""
        self._value = b""
        self._in_file = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_end": self._end,
        }

    def take(self) -> list[bytes]:
        data, self.data = self.data, []
        return data

    def _part_begin(self) -> None:
        self._headers, self._in_file = {}, False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value.decode("latin-1")
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, disposition = parse_options_header(self._headers.get("content-disposition", ""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if name != FILE_FIELD:
            raise INVALID_ARGUMENT(
                message=f"The form has a field '{name}'; a file upload takes only the CSV file, in the field "
                f"'{FILE_FIELD}'. Nothing was stored."
            )
        self.files += 1
        if self.files > 1:
            raise INVALID_ARGUMENT(message=f"The form has more than one '{FILE_FIELD}' field. Nothing was stored.")
        filename = disposition.get(b"filename", b"").decode("utf-8", "replace")
        if filename and not filename.lower().endswith(".csv"):
            raise NOT_A_CSV_FILE(detail=f"its name '{filename}' does not end with .csv (CSV files only).")
        part_type = parse_options_header(self._headers.get("content-type", ""))[0].decode("latin-1").lower()
        if part_type and part_type not in CSV_PART_TYPES:
            raise NOT_A_CSV_FILE(detail=f"its content type is '{part_type}'.")
        self._in_file = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            return
        self.file_size += end - start
        if self.file_size > self.limit:
            raise UPLOAD_TOO_LARGE(limit=self.limit)
        self.data.append(data[start:end])

    def _end(self) -> None:
        self.ended = True


async def _multipart_file(
    request: Request, form: _Form, parser: MultipartParser, limit: int, idle_seconds: float
) -> AsyncIterator[bytes]:
    """The `file` field's bytes of a multipart/form-data body, as they arrive."""
    size = 0
    async for chunk in _arriving(request, idle_seconds):
        size += len(chunk)
        if size > limit + MULTIPART_ALLOWANCE:
            raise UPLOAD_TOO_LARGE(limit=limit)
        try:
            parser.write(chunk)
        except FormParserError as exc:
            raise INVALID_ARGUMENT(message=f"The multipart/form-data body cannot be read: {exc}.") from None
        for piece in form.take():
            yield piece
    if not form.ended:
        raise INVALID_ARGUMENT(message="The multipart/form-data body ended before its closing boundary.")
    if not form.files:
        raise INVALID_ARGUMENT(message=f"The form has no '{FILE_FIELD}' field with the CSV file.")
