"""Pure ASGI middleware applying the service protection limits and the injected faults to /api/data/.

ServiceProtectionMiddleware sits outside FaultInjectionMiddleware: an injected fault's request is counted and
executing like any other (a delayed one holds a concurrency slot, which is how a test fills them), and a request the
limits refuse never takes a fault.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ccaas_emulator.protection.faults import FaultBoard
from ccaas_emulator.protection.limits import Exceeded, Limits, Refusal, Remaining, ServiceProtection, Ticket
from ccaas_emulator.wire.errors import (
    CONCURRENCY_LIMIT_EXCEEDED,
    EXECUTION_TIME_EXCEEDED,
    INJECTED_SERVER_ERROR,
    INJECTED_UNAVAILABLE,
    REQUEST_LIMIT_EXCEEDED,
    DataverseError,
)
from ccaas_emulator.wire.responses import error_response

API_PREFIX = "/api/data/"
BURST_REMAINING = b"x-ms-ratelimit-burst-remaining-xrm-requests"
TIME_REMAINING = b"x-ms-ratelimit-time-remaining-xrm-requests"
FAULT_HEADER = "x-ccaas-fault"

CallerOf = Callable[[Scope], str | None]
"""The request's authenticated caller (the token's oid), or None when it has no valid token."""


def ratelimit_headers(remaining: Remaining) -> list[tuple[bytes, bytes]]:
    """Both headers as a real org writes them (wire-facts E4): `7999` and `1,200.00` (seconds)."""
    return [
        (BURST_REMAINING, str(remaining.requests).encode()),
        (TIME_REMAINING, f"{remaining.seconds:,.2f}".encode()),
    ]


def limit_error(refusal: Refusal, protection: ServiceProtection) -> DataverseError:
    """The 429 of the limit that refused, its message naming the configured numbers, with Retry-After."""
    limits = protection.limits
    if refusal.limit is Exceeded.CONCURRENCY:
        error = CONCURRENCY_LIMIT_EXCEEDED(limit=limits.concurrent)
    elif refusal.limit is Exceeded.EXECUTION_TIME:
        error = EXECUTION_TIME_EXCEEDED(limit=limits.execution_ms, window=limits.window_seconds)
    else:
        error = REQUEST_LIMIT_EXCEEDED(limit=limits.requests, window=limits.window_seconds)
    error.headers["Retry-After"] = str(refusal.retry_after)
    return error


class ServiceProtectionMiddleware:
    """Admits or refuses each authenticated /api/data/ request and stamps the x-ms-ratelimit-* headers.

    A request without a valid token is neither counted nor refused here: the route answers its 401 (which carries
    no x-ms-ratelimit-* headers, there being no user whose budget they could report).
    """

    def __init__(self, app: ASGIApp, protection: ServiceProtection, caller_of: CallerOf) -> None:
        self.app = app
        self.protection = protection
        self.caller_of = caller_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        user = self.caller_of(scope)
        if user is None:
            await self.app(scope, receive, send)
            return
        protection = self.protection
        admitted = protection.admit(user)
        if isinstance(admitted, Refusal):
            response = error_response(limit_error(admitted, protection))
            response.raw_headers.extend(ratelimit_headers(protection.remaining_for(user)))
            await response(scope, receive, send)
            return
        ticket: Ticket = admitted

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                protection.charge(ticket)  # execution time: arrival to answer, so the answer reports it
                message["headers"] = [*message.get("headers", []), *ratelimit_headers(protection.remaining(ticket))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            protection.release(ticket)


class FaultInjectionMiddleware:
    """Fails, delays, or delays then fails the next requests an armed fault matches (POST /emulator/v1/faults)."""

    def __init__(self, app: ASGIApp, board: FaultBoard, limits: Limits) -> None:
        self.app = app
        self.board = board
        self.limits = limits  # for the 429's message, which names the configured limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.board or scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        fault = self.board.take(scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        if fault.status is None:
            await self.app(scope, receive, send)
            return
        error = self._error(fault.status, fault.retry_after)
        error.headers[FAULT_HEADER] = str(fault.id)
        await error_response(error)(scope, receive, send)

    def _error(self, status: int, retry_after: int | None) -> DataverseError:
        if status == 429:
            # The request limit's 429, the one clients meet most, with the numbers this emulator is configured with.
            error = REQUEST_LIMIT_EXCEEDED(limit=self.limits.requests, window=self.limits.window_seconds)
            error.headers["Retry-After"] = str(retry_after if retry_after is not None else 1)
            return error
        return INJECTED_SERVER_ERROR() if status == 500 else INJECTED_UNAVAILABLE()
