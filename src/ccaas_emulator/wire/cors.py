"""CORS for browser single-page apps, on the Web API only, for the origins of CCAAS_CORS_ORIGINS.

Dataverse enables CORS on its Web API so an SPA holding an MSAL token can call it ("Use OAuth with
Cross-Origin Resource Sharing to connect a Single-Page Application"); the exact headers it answers are not
documented. Ours: off until origins are listed; a listed origin's preflight is answered 200 with the methods
and the Dataverse request headers (wire-facts E2); its requests get Access-Control-Allow-Origin and the
response headers a client reads exposed. An unlisted origin gets nothing added: its preflight goes on to the
app like any OPTIONS (401 without a token) and the browser refuses it. Tokens travel in Authorization, never
in cookies, so Access-Control-Allow-Credentials is never sent. /emulator/v1 is never covered: a web page of
another origin must not reach the control API (control/guard.py refuses it).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORS_PATH_PREFIX = "/api/data/"
ANY_ORIGIN = "*"  # CCAAS_CORS_ORIGINS=* (settings.parse_origins)

ALLOWED_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
# wire-facts E2: what Dataverse reads from a request, beside the CORS-safelisted ones.
ALLOWED_HEADERS = (
    "Accept",
    "Authorization",
    "Content-Type",
    "OData-Version",
    "OData-MaxVersion",
    "Prefer",
    "If-Match",
    "If-None-Match",
    "CallerObjectId",
    "Consistency",
    "MSCRM.SolutionUniqueName",
    "MSCRM.SuppressDuplicateDetection",
    "MSCRM.BypassCustomPluginExecution",
    "MSCRM.SessionToken",
)
# wire-facts E3, E4, E11 and the 401 challenge: what a client reads off a response beside the safelisted ones.
EXPOSED_HEADERS = (
    "OData-Version",
    "OData-EntityId",
    "Location",
    "ETag",
    "Preference-Applied",
    "REQ_ID",
    "x-ms-service-request-id",
    "WWW-Authenticate",
    "Retry-After",
    "Allow",
    "x-ms-ratelimit-burst-remaining-xrm-requests",  # the service protection budget (protection/limits.py)
    "x-ms-ratelimit-time-remaining-xrm-requests",
)
PREFLIGHT_MAX_AGE_SECONDS = 600  # browsers cap it anyway (Chromium: 2 hours, Firefox: 24 hours)


class CorsMiddleware:
    """Answers listed origins' preflights under /api/data/ and marks their responses readable."""

    def __init__(self, app: ASGIApp, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.any_origin = ANY_ORIGIN in self.origins
        self.exposed = ", ".join(EXPOSED_HEADERS).encode()
        self.preflight_headers = [
            (b"access-control-allow-methods", ", ".join(ALLOWED_METHODS).encode()),
            (b"access-control-allow-headers", ", ".join(ALLOWED_HEADERS).encode()),
            (b"access-control-max-age", str(PREFLIGHT_MAX_AGE_SECONDS).encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.origins or scope["type"] != "http" or not scope["path"].startswith(CORS_PATH_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None or not (self.any_origin or origin.lower() in self.origins):
            await self.app(scope, receive, send)
            return
        allow_origin = (ANY_ORIGIN if self.any_origin else origin).encode("latin-1")
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(allow_origin, send)
            return

        async def send_readable(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", allow_origin),
                    (b"access-control-expose-headers", self.exposed),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        await self.app(scope, receive, send_readable)

    async def _preflight(self, allow_origin: bytes, send: Send) -> None:
        headers = [
            (b"access-control-allow-origin", allow_origin),
            *self.preflight_headers,
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
