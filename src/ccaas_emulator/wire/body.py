"""Reading an action's JSON body: content type, size limit and JSON syntax, in that order."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from ccaas_emulator.wire.errors import MALFORMED_JSON, REQUEST_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE


def check_json_content_type(request: Request) -> None:
    """Dataverse takes application/json bodies only (charset and odata parameters allowed)."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UNSUPPORTED_MEDIA_TYPE(content_type=content_type or "(none)")


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise REQUEST_TOO_LARGE(limit=limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise REQUEST_TOO_LARGE(limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """Parse with the stdlib's error wording (it names the problem, line and column)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as fast_error:
        raise MALFORMED_JSON(detail=_explain(raw, fast_error)) from None


def _explain(raw: bytes, fast_error: orjson.JSONDecodeError) -> str:
    """Say what is wrong, in words a person can act on (orjson's own messages are terse)."""
    import json  # error path only

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"The body is not valid UTF-8 (byte {exc.start})."
    if not text.strip():
        return "The request body is empty; a JSON object of the action's parameters was expected."
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return _describe(exc)
    except RecursionError:
        return "The JSON is nested too deeply."
    # The stdlib accepts what JSON forbids (NaN, Infinity) or orjson's depth limit was hit.
    return f"{fast_error.msg} at position {fast_error.pos}."


def _describe(exc: Any) -> str:
    """'Expecting ',' delimiter: line 16 column 5' -> a sentence in the OData reader's style."""
    if exc.msg == "Expecting ',' delimiter":
        what = "A comma character ',' was expected between two properties or array elements"
    elif exc.msg == "Expecting property name enclosed in double quotes":
        what = "A property name enclosed in double quotes was expected"
    elif exc.msg == "Expecting value":
        what = "A value was expected"
    else:
        what = exc.msg
    return f"{what} at line {exc.lineno}, column {exc.colno} (position {exc.pos})."
