"""Who may call /emulator/v1: this machine or the configured host, never a web page of another origin.

The control API can move the clock and empty the database, and by default it has no token, so every request
passes these checks before its body is read, in this order (issue 12):

1. `Host` names loopback (localhost, 127.0.0.0/8, [::1]) or the host of CCAAS_HOST / CCAAS_ORG_URL: a DNS
   rebinding page (attacker.example resolving to 127.0.0.1) sends its own name and is refused, 403.
2. No foreign `Origin` (only the request's own origin and the org URL's), and no `Sec-Fetch-Site` other than
   same-origin or none: a cross-site page is refused, 403.
3. CCAAS_CONTROL_TOKEN, when set, as a bearer token: 401.
4. A state-changing request carries `application/json`: the content types a cross-site form or a no-preflight
   fetch can send (form encodings, text/plain, none) are 415. DELETE, which no browser sends cross-site without
   a preflight we never answer, may come without a body or content type.
5. The body is read here, within CCAAS_MAX_BODY_BYTES (413 as soon as it is over, never read whole), and
   replayed to the route.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from ccaas_emulator.deps import runtime_of
from ccaas_emulator.settings import Settings, is_loopback_host
from ccaas_emulator.wire.body import check_json_content_type, read_limited_body
from ccaas_emulator.wire.errors import CONTROL_CROSS_SITE_REFUSED, CONTROL_HOST_REFUSED, CONTROL_UNAUTHORIZED

WILDCARD_ADDRESSES = frozenset({"", "0.0.0.0", "::", "[::]"})  # noqa: S104 (names them, binds nothing)
DEFAULT_PORTS = {"http": 80, "https": 443}
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
SAFE_FETCH_SITES = frozenset({"same-origin", "none"})

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class GuardedRoute(APIRoute):
    """An APIRoute whose handler checks the caller, then reads the body within the limit, before FastAPI runs."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            settings = runtime_of(request).settings
            check_caller(request, settings)
            body = await read_limited_body(request, self.body_limit(settings))
            return await handler(Request(request.scope, _replay(body, request)))

        return guarded

    def body_limit(self, settings: Settings) -> int:
        return settings.max_body_bytes


class StateRoute(GuardedRoute):
    """A GuardedRoute whose body may be as large as CCAAS_STATE_MAX_BYTES: PUT /emulator/v1/state takes a whole
    exported state, far more than an ordinary control body."""

    def body_limit(self, settings: Settings) -> int:
        return settings.state_max_bytes


class StreamedRoute(APIRoute):
    """An APIRoute that checks the caller (steps 1-3) and leaves the body, and its content type, to the route.

    For a file upload (control/files.py), which streams a body far larger than CCAAS_MAX_BODY_BYTES and takes
    text/csv or multipart/form-data. A cross-site form can post multipart/form-data without a preflight, but not
    without an Origin header (every browser sends one on a cross-origin POST) or Sec-Fetch-Site: step 2 refuses it.
    """

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            check_caller(request, runtime_of(request).settings, json_body=False)
            return await handler(request)

        return guarded


def check_caller(request: Request, settings: Settings, *, json_body: bool = True, token: bool = True) -> None:
    """Steps 1-4 of the module docstring (step 3 unless `token` is False, step 4 only for a JSON body); raises the
    catalogued error of the first that fails.

    `token=False` is for the dashboard's page and script files only (dashboard/routes.py): they hold no data, and a
    browser cannot send a bearer token when it opens a page, so the page asks for the token and sends it with its
    requests to /emulator/v1, which check all four steps."""
    host = _host_of(request.headers.get("host", ""))
    allowed = configured_hosts(settings)
    if host is None or not (is_loopback_host(host[0]) or host[0] in allowed):
        raise CONTROL_HOST_REFUSED(
            host=request.headers.get("host", "(none)"), allowed=", ".join(sorted(allowed)) or "none configured"
        )
    _check_same_origin(request, settings, host)
    if token:
        _check_token(request, settings)
    method = request.method
    if json_body and (method in BODY_METHODS or (method == "DELETE" and "content-type" in request.headers)):
        check_json_content_type(request)


def configured_hosts(settings: Settings) -> frozenset[str]:
    """The host names, besides loopback, the control API answers to: CCAAS_HOST unless a wildcard, and
    CCAAS_ORG_URL's host."""
    names = set()
    if settings.host.strip().lower() not in WILDCARD_ADDRESSES:
        names.add(_bare(settings.host))
    org_host = urlsplit(settings.org_url).hostname
    if org_host:
        names.add(_bare(org_host))
    return frozenset(names)


def _check_same_origin(request: Request, settings: Settings, host: tuple[str, int | None]) -> None:
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() not in SAFE_FETCH_SITES:
        raise CONTROL_CROSS_SITE_REFUSED(detail=f"Sec-Fetch-Site: {fetch_site}")
    origin = request.headers.get("origin")
    if origin is None:
        return  # curl, scripts and SDKs send none; browsers always send one on a cross-origin request
    scheme = request.url.scheme
    own = (scheme, host[0], host[1] or DEFAULT_PORTS.get(scheme))
    if _origin_of(origin) not in {own, _origin_of(settings.org_url)}:
        raise CONTROL_CROSS_SITE_REFUSED(detail=f"Origin: {origin}")


def _check_token(request: Request, settings: Settings) -> None:
    """When CCAAS_CONTROL_TOKEN is set, the control API needs it as a bearer token (compared in constant time)."""
    expected = settings.control_token
    if expected is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    secret = expected.get_secret_value().strip().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), secret):
        error = CONTROL_UNAUTHORIZED()
        error.headers["WWW-Authenticate"] = 'Bearer realm="ccaas-emulator control API"'
        raise error


def _host_of(header: str) -> tuple[str, int | None] | None:
    """`name[:port]` or `[v6][:port]` -> (lowercase name without brackets or trailing dot, port); None if malformed."""
    value = header.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket:
            return None
    else:
        name, _, port_part = value.partition(":")
        rest = value[len(name) :]
        if ":" in port_part:
            return None  # an IPv6 address must be bracketed
    if rest and not (rest.startswith(":") and rest[1:].isascii() and rest[1:].isdigit() and len(rest) <= 6):
        return None
    if not name:
        return None
    return _bare(name), int(rest[1:]) if rest else None


def _bare(name: str) -> str:
    return name.strip().lower().removeprefix("[").removesuffix("]").removesuffix(".")


def _origin_of(value: str) -> tuple[str, str, int | None] | None:
    """A serialized origin (`scheme://host[:port]`) as (scheme, host, port with the default filled in)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None  # `null` (sandboxed frames, file:) and anything unparsable is no allowed origin
    return scheme, _bare(parts.hostname), port or DEFAULT_PORTS[scheme]


def _replay(body: bytes, request: Request) -> Callable[[], Coroutine[Any, Any, Message]]:
    """A `receive` that hands the route the body already read, then waits on the connection as before."""
    pending = True

    async def receive() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await request.receive()

    return receive
