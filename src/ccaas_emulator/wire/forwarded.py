"""X-Forwarded-Proto and X-Forwarded-Host, honoured from trusted proxies only (CCAAS_TRUSTED_PROXIES).

Behind a proxy that terminates TLS, the client called https://<public host>, but the request reaches the
emulator as http://127.0.0.1:8000: every absolute link (@odata.context, @odata.nextLink, OData-EntityId,
Location, a batch's parts) must say what the client called. This middleware is the one place that decides a
request's origin: when the connection comes from a trusted address it rewrites the scope's scheme and Host to the
forwarded ones, so `request.url`, and wire/context.request_origin which every link is built from, see the
client's origin. From any other address the headers are ignored: a client cannot make the emulator write links
to a host of its choosing.

Each header may be a list when several proxies appended to it; the last value is the one the connection's own
(trusted) proxy wrote, so it is the one taken. A value that is not a scheme (http, https) or not a host[:port] is
ignored, as if absent.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from ccaas_emulator.wire.context import HOST_HEADER

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_SCHEMES = frozenset({"http", "https"})


class ForwardedHeaders:
    """Applies X-Forwarded-Proto/-Host to the scope for connections from `trusted` networks."""

    def __init__(self, app: ASGIApp, trusted: Iterable[Network] = ()) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.trusted and self._is_trusted(scope.get("client")):
            scope = self._forwarded(scope)
        await self.app(scope, receive, send)

    def _is_trusted(self, client: tuple[str, int] | None) -> bool:
        if not client:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False  # a unix socket peer or a test client's name: not an address we were told to trust
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.trusted)

    @staticmethod
    def _forwarded(scope: Scope) -> Scope:
        proto = host = None
        for name, value in scope["headers"]:
            if name == b"x-forwarded-proto":
                proto = _last(value).lower()
            elif name == b"x-forwarded-host":
                host = _last(value)
        if proto is None and host is None:
            return scope
        changed = dict(scope)
        if proto in _SCHEMES:
            changed["scheme"] = proto
        if host is not None and HOST_HEADER.match(host):
            headers = [(name, value) for name, value in scope["headers"] if name != b"host"]
            headers.append((b"host", host.encode("latin-1")))
            changed["headers"] = headers
        return changed


def _last(value: bytes) -> str:
    """The last item of a comma-separated header value: the one the nearest proxy wrote."""
    return value.decode("latin-1").rsplit(",", 1)[-1].strip()
