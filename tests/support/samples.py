"""The reference samples (tests/fixtures/, copied verbatim from the documentation) and bodies built on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

FIXTURES = Path(__file__).parent.parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return orjson.loads(fixture_bytes(name))


def voice_body(**changes: Any) -> dict[str, Any]:
    """The documented voice sample (000_...), with fields replaced, or removed when given `...`."""
    body: dict[str, Any] = fixture_json("000_voice_sample.json")
    for key, value in changes.items():
        if value is ...:
            body.pop(key, None)
        else:
            body[key] = value
    return body
