"""Whose budget a request spends: the object id (oid) of its bearer token, remembered per token until it expires.

The route verifies every token in full anyway (and answers 401 for a bad one); the limits only need to know whose
window to count in. Remembering token -> oid keeps that to one dictionary look-up per request instead of a second
verification (~35 us on this project's machine, against ~2 us).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import Scope

from ccaas_emulator.clock import Clock

Verify = Callable[[Scope], tuple[str, float] | None]
"""The request's verified token as (oid, exp in epoch seconds), or None when it has no valid one."""

MAX_REMEMBERED = 4096


class TokenCallers:
    """`caller_of(scope)` for ServiceProtectionMiddleware: bounded (oldest forgotten first), real time."""

    def __init__(self, verify: Verify, clock: Clock, size: int = MAX_REMEMBERED) -> None:
        self._verify = verify
        self._clock = clock
        self._size = size
        self._known: dict[bytes, tuple[str, float]] = {}

    def __call__(self, scope: Scope) -> str | None:
        header = _authorization(scope)
        if header is None:
            return None  # no token at all: the route's 401
        known = self._known.get(header)
        if known is not None:
            if self._clock.now().timestamp() < known[1]:
                return known[0]
            del self._known[header]  # expired: verified again, which refuses it (or accepts it within the skew)
        verified = self._verify(scope)
        if verified is None:
            return None
        if len(self._known) >= self._size:
            del self._known[next(iter(self._known))]
        self._known[header] = verified
        return verified[0]


def _authorization(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bytes(value)
    return None
