"""$batch: many requests in one multipart/mixed POST, change sets with Content-ID references (wire-facts E12).

Each part is an ordinary request to this same app, dispatched in-process, so it is routed, authorized
and answered exactly as if it had been sent alone; parts without an Authorization header use the
batch's own. Parts run in order. Without `Prefer: odata.continue-on-error` the batch stops at the
first failure and answers 400 with the responses so far (Dataverse does; research notes); a failed
change set is answered by its failing request alone.

A part may address the Web API only (/api/data/v9.x/..., relative or absolute on the batch's own origin),
judged on its path as the router will see it: percent-decoded once, dot segments and duplicate slashes
removed. A part naming $batch at any spelling is refused, and the $batch route itself refuses any request
a part dispatched (`part_running`), so a batch is one level deep whatever a URL check might miss.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import quote, unquote, urlsplit

import httpx
import orjson
from starlette.types import ASGIApp

from ccaas_emulator.wire.errors import BATCH_INVALID, DataverseError

MAX_REQUESTS = 1000
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_REFERENCE = re.compile(r"^\$(\d+)")
_VERSION = re.compile(r"v9\.\d+\Z")
# Characters a path keeps as they are when re-encoded; `%` is not one, so decoding gives back exactly what we checked.
_PATH_SAFE = "/!$&'()*+,;=:@-._~"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOP_HEADERS = frozenset({"host", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-for", "forwarded"})
# True while a batch part is being dispatched: the $batch route refuses such requests (no batch in a batch).
part_running: ContextVar[bool] = ContextVar("ccaas_batch_part_running", default=False)


@dataclass
class Part:
    """One request of a batch, as written in the multipart body."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    content_id: str | None = None


@dataclass
class ChangeSet:
    parts: list[Part] = field(default_factory=list)


@dataclass
class Answer:
    """One response, as it goes back into the multipart answer."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    content_id: str | None = None

    @property
    def failed(self) -> bool:
        return self.status >= 400


def boundary_of(content_type: str) -> str:
    media_type = content_type.split(";", 1)[0].strip().lower()
    match = _BOUNDARY.search(content_type)
    if media_type != "multipart/mixed" or match is None:
        raise BATCH_INVALID(detail="a $batch body must be multipart/mixed with a boundary")
    return match.group(1)


def parse_batch(body: bytes, boundary: str) -> list[Part | ChangeSet]:
    """The batch's items in order: single requests and change sets of requests."""
    items: list[Part | ChangeSet] = []
    count = 0
    for raw in _split(body, boundary):
        headers, content = _headers_and_rest(raw)
        content_type = _header(headers, "content-type") or ""
        if content_type.lower().startswith("multipart/mixed"):
            change_set = ChangeSet()
            for inner in _split(content, boundary_of(content_type)):
                inner_headers, inner_content = _headers_and_rest(inner)
                part = _request(inner_content, content_id=_header(inner_headers, "content-id"))
                if part.method == "GET":
                    raise BATCH_INVALID(detail="a change set cannot contain a GET request")
                if part.content_id is None:
                    raise BATCH_INVALID(detail="every request of a change set needs a Content-ID header")
                change_set.parts.append(part)
            count += len(change_set.parts)
            items.append(change_set)
        else:
            items.append(_request(content, content_id=_header(headers, "content-id")))
            count += 1
        if count > MAX_REQUESTS:
            raise BATCH_INVALID(detail=f"a batch holds at most {MAX_REQUESTS} requests")
    return items


class BatchRunner:
    """Runs the parts of one batch against the app, in order."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        origin: str,
        version: str,
        authorization: str | None,
        other_origins: Iterable[str] = (),
    ) -> None:
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=origin)
        self._root = f"/api/data/{version}/"
        self._authorization = authorization
        self._origins = {_origin_key(url) for url in (origin, *other_origins)}

    async def __aenter__(self) -> BatchRunner:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.aclose()

    async def run(self, item: Part, references: dict[str, str] | None = None) -> Answer:
        try:
            url = self._target(item.url, references or {})
        except DataverseError as error:
            return _error_answer(error, item.content_id)
        # A part names no host and no proxy: it reaches the app from inside, on the batch's own (decided) origin.
        headers = [(name, value) for name, value in item.headers if name.lower() not in _HOP_HEADERS]
        if self._authorization and not any(name.lower() == "authorization" for name, _ in headers):
            headers.append(("Authorization", self._authorization))
        marker = part_running.set(True)
        try:
            response = await self._client.request(item.method, url, headers=headers, content=item.body or None)
        finally:
            part_running.reset(marker)
        kept = [
            (name, value)
            for name, value in response.headers.multi_items()
            # Hop-by-hop: a part's 5xx says `Connection: close`, but the batch's own connection stays open.
            if name.lower() not in ("connection", "content-length", "date", "server", "transfer-encoding")
        ]
        return Answer(response.status_code, kept, response.content, item.content_id)

    def _target(self, url: str, references: dict[str, str]) -> str:
        """The path and query to dispatch: within the Web API, normalised, never $batch."""
        written = url
        reference = _REFERENCE.match(url)
        if reference is not None:
            entity = references.get(reference.group(1))
            if entity is None:
                return self._root + "$" + reference.group(1)  # answers 404 for the unknown segment
            url = entity + url[reference.end() :]
        url = url.partition("#")[0]
        if url.lower().startswith(("http://", "https://")):
            split = urlsplit(url)
            if _origin_key(url) not in self._origins:
                raise _outside(written)
            path, query = split.path, split.query
        elif url.startswith("//"):  # a network-path reference names another host
            raise _outside(written)
        else:
            path, _, query = url.partition("?")
            path = path if path.startswith("/") else self._root + path
        checked = web_api_path(path)
        if checked is None:
            raise _outside(written)
        return checked + (f"?{query}" if query else "")


def web_api_path(path: str) -> str | None:
    """`path` as the router will see it, re-encoded for dispatch, if it lies in /api/data/v9.x/; else None.

    Decoded once (as every server decodes a path before routing), then dot segments and empty segments
    removed, so that `%24batch`, `./$batch`, `//$BATCH` and `x/../` all read as what they reach.
    """
    decoded = unquote(path)
    segments: list[str] = []
    for segment in decoded.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    if len(segments) < 3 or [s.lower() for s in segments[:2]] != ["api", "data"] or not _VERSION.match(segments[2]):
        return None
    if any(segment.lower() == "$batch" for segment in segments[3:]):
        raise BATCH_INVALID(detail="a batch cannot contain another batch")
    normalised = "/" + "/".join(segments) + ("/" if decoded.endswith("/") else "")
    return quote(normalised, safe=_PATH_SAFE)


def _origin_key(url: str) -> tuple[str, str, int]:
    """scheme, host and port of an absolute URL, compared without regard to case or a default port."""
    split = urlsplit(url)
    scheme = split.scheme.lower()
    try:
        port = split.port
    except ValueError:
        port = -1
    return scheme, (split.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme, -1)


def _outside(url: str) -> DataverseError:
    shown = url if len(url) <= 200 else url[:200] + "..."
    return BATCH_INVALID(
        detail=f"the request URL '{shown}' of a batch part is not within the service root /api/data/v9.x/"
    )


def render(items: list[Answer | list[Answer]], boundary: str) -> bytes:
    """The multipart answer: one part per request, a nested multipart per successful change set."""
    out: list[bytes] = []
    for item in items:
        out.append(f"--{boundary}\r\n".encode())
        if isinstance(item, list):
            inner = f"changesetresponse_{uuid.uuid4()}"
            out.append(f"Content-Type: multipart/mixed; boundary={inner}\r\n\r\n".encode())
            for answer in item:
                out.append(f"--{inner}\r\n".encode())
                out.append(_http_part(answer))
            out.append(f"--{inner}--\r\n".encode())
        else:
            out.append(_http_part(item))
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def _http_part(answer: Answer) -> bytes:
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if answer.content_id is not None:
        head.append(f"Content-ID: {answer.content_id}")
    lines = [f"HTTP/1.1 {answer.status} {HTTPStatus(answer.status).phrase}"]
    lines += [f"{name}: {value}" for name, value in answer.headers]
    return ("\r\n".join(head) + "\r\n\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode() + answer.body + b"\r\n"


def _error_answer(error: DataverseError, content_id: str | None) -> Answer:
    body = orjson.dumps({"error": {"code": error.code, "message": error.message}})
    headers = [("Content-Type", "application/json; odata.metadata=minimal"), ("OData-Version", "4.0")]
    return Answer(error.status, headers, body, content_id)


def _split(body: bytes, boundary: str) -> list[bytes]:
    """The parts between `--boundary` delimiters (RFC 2046: the CRLF before a delimiter belongs to it)."""
    delimiter = b"--" + boundary.encode()
    pieces = body.split(delimiter)
    if len(pieces) < 2:
        raise BATCH_INVALID(detail=f"no part starts with the boundary '{boundary}'")
    parts: list[bytes] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            return parts
        piece = piece.split(b"\n", 1)[1] if b"\n" in piece else b""  # the rest of the delimiter line
        parts.append(piece[:-2] if piece.endswith(b"\r\n") else piece.removesuffix(b"\n"))
    raise BATCH_INVALID(detail=f"the batch does not end with '--{boundary}--'")


def _headers_and_rest(raw: bytes) -> tuple[list[tuple[str, str]], bytes]:
    head, separator, rest = raw.partition(b"\r\n\r\n")
    if not separator:
        head, separator, rest = raw.partition(b"\n\n")
    if not separator:
        return _parse_headers(raw), b""
    return _parse_headers(head), rest


def _parse_headers(block: bytes) -> list[tuple[str, str]]:
    headers = []
    for line in block.decode("latin-1").splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise BATCH_INVALID(detail=f"'{line[:100]}' is not a header")
        headers.append((name.strip(), value.strip()))
    return headers


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def _request(content: bytes, *, content_id: str | None) -> Part:
    request_line, _, rest = content.lstrip(b"\r\n").partition(b"\n")
    words = request_line.decode("latin-1").strip().split()
    if len(words) != 3 or not words[2].startswith("HTTP/"):
        raise BATCH_INVALID(detail=f"'{request_line[:100].decode('latin-1')}' is not an HTTP request line")
    method, url, _ = words
    if method not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
        raise BATCH_INVALID(detail=f"the method '{method[:20]}' cannot be batched")
    headers, body = _headers_and_rest(b"\r\n" + rest if rest.startswith(b"\r\n") else rest)
    content_id = content_id or _header(headers, "content-id")
    return Part(method, url, headers, body.rstrip(b"\r\n"), content_id)
