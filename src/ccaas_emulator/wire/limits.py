"""The Web API's URL limit: a GET URL of more than 32 KB is refused (wire-facts E9)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from ccaas_emulator.wire.errors import URI_TOO_LONG
from ccaas_emulator.wire.responses import error_response

MAX_URL_BYTES = 32 * 1024


class UrlLengthLimit:
    """Answers 414 in the error envelope before routing, parsing or authenticating an over-long URL."""

    def __init__(self, app: ASGIApp, limit: int = MAX_URL_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
            if length > self.limit:
                await error_response(URI_TOO_LONG(length=length, limit=self.limit))(scope, receive, send)
                return
        await self.app(scope, receive, send)


class HeadAsGet:
    """HEAD under /api/data/ is answered as the GET it mirrors (Dataverse allows OPTIONS, GET, HEAD, POST).

    Routes are declared for GET only; the app sees a GET, and the server, which knows the request was a HEAD,
    sends the headers (Content-Length included) without the body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD" and scope["path"].startswith("/api/data/"):
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)


# The request head (wire/protocol.py). Ours: Dataverse's front end takes 32 KB URLs (E9) and Entra tokens of users in
# many groups run to several KB, so the fields may total 64 KiB (http.sys's default MaxRequestBytes is 16 KB, raised
# where URLs this long pass); 100 fields is Kestrel's default MaxRequestHeaderCount.
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADER_COUNT = 100
