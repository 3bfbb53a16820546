"""X-Forwarded-Proto and X-Forwarded-Host, honoured from trusted proxies only (CCAAS_TRUSTED_PROXIES).

Behind a proxy that terminates TLS, the client called https://<public host>, but the request reaches the
emulator as http://127.0.0.1:8000: every absolute link (@odata.context, @odata.nextLink, OData-EntityId,
Location, a batch's parts) must say what the client called. This middleware is the one place that decides a
request's origin: when the connection comes from a trusted address it leaves the forwarded origin in the scope
(wire/context.FORWARDED_ORIGIN), which wire/context.request_origin, the source of every link, prefers. The Host
header itself is left as it came: the control API's DNS-rebinding check judges the name the connection really
used, so a page on a rebinding name cannot pass it by sending X-Forwarded-Host from this machine's browser. From
any other address the headers are ignored: a client cannot make the emulator write links to a host of its choosing.

Each header may be a list when several proxies appended to it; the last value is the one the connection's own
(trusted) proxy wrote, so it is the one taken. A value that is not a scheme (http, https) or not a host[:port] is
ignored, as if absent.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from ccaas_emulator.wire.context import FORWARDED_ORIGIN, HOST_HEADER

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_SCHEMES = frozenset({"http", "https"})
MAX_REMEMBERED_PEERS = 1024


class ForwardedHeaders:
    """Records the X-Forwarded-Proto/-Host origin in the scope for connections from `trusted` networks."""

    def __init__(self, app: ASGIApp, trusted: Iterable[Network] = ()) -> None:
        self.app = app
        self.trusted = tuple(trusted)
        # Peer host -> trusted, judged once per host (parsing an address is ~10 us, and a client keeps its address);
        # bounded: past MAX_REMEMBERED_PEERS hosts it starts again.
        self._peers: dict[str, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.trusted:
            client = scope.get("client")
            if client:
                trusted = self._peers.get(client[0])
                if trusted is None:
                    if len(self._peers) >= MAX_REMEMBERED_PEERS:
                        self._peers.clear()
                    trusted = self._peers[client[0]] = self._is_trusted(client[0])
                if trusted:
                    scope = self._forwarded(scope)
        await self.app(scope, receive, send)

    def _is_trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False  # a unix socket peer or a test client's name: not an address we were told to trust
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.trusted)

    @staticmethod
    def _forwarded(scope: Scope) -> Scope:
        proto = forwarded_host = host = None
        for name, value in scope["headers"]:
            if name == b"x-forwarded-proto":
                proto = _last(value).lower()
            elif name == b"x-forwarded-host":
                forwarded_host = _last(value)
            elif name == b"host":
                host = value.decode("latin-1")
        if proto not in _SCHEMES:
            proto = None
        if forwarded_host is not None and HOST_HEADER.match(forwarded_host):
            host = forwarded_host
        if (proto is None and host != forwarded_host) or host is None or not HOST_HEADER.match(host):
            return scope  # nothing usable was forwarded
        return {**scope, FORWARDED_ORIGIN: f"{proto or scope['scheme']}://{host}"}


def _last(value: bytes) -> str:
    """The last item of a comma-separated header value: the one the nearest proxy wrote."""
    return value.decode("latin-1").rsplit(",", 1)[-1].strip()
