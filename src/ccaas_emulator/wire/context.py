"""@odata.context URLs and the other links a response carries, built the way Dataverse builds them (wire-facts E8)."""

from __future__ import annotations

import re

from starlette.requests import Request

NAMESPACE = "Microsoft.Dynamics.CRM"
HOST_HEADER = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?\Z")
"""A usable Host value: a name or IPv4 address, or a bracketed IPv6 address, with an optional port."""
FORWARDED_ORIGIN = "ccaas_emulator.forwarded_origin"
"""The scope key under which wire/forwarded.py leaves the origin a trusted proxy's client called."""


def request_origin(request: Request, fallback: str) -> str:
    """scheme://host of the URL the client called; `fallback` (the org URL) when the Host header is unusable.

    Links follow the host a request came in on, as Dataverse's do on each of its host names (<org>.crm…
    and <org>.api.crm…): a client that called 127.0.0.1 can follow a nextLink, whatever CCAAS_ORG_URL says.
    The scheme is the listener's (https on CCAAS_TLS_PORT); behind a trusted proxy, the origin wire/forwarded.py
    decided from X-Forwarded-Proto/-Host.
    """
    forwarded = request.scope.get(FORWARDED_ORIGIN)
    if forwarded:
        return str(forwarded)
    host = request.headers.get("host", "")
    if not HOST_HEADER.match(host):
        return fallback
    return f"{request.scope.get('scheme', 'http')}://{host}"  # request.url.scheme, without building the URL


def service_root(origin: str, version: str) -> str:
    """<origin>/api/data/v9.x/ with the version the request used."""
    return f"{origin}/api/data/{version}/"


def action_response_context(origin: str, version: str, action: str) -> str:
    """Context of an action returning its complex type: ...$metadata#Microsoft.Dynamics.CRM.<Action>Response."""
    return f"{service_root(origin, version)}$metadata#{NAMESPACE}.{action}Response"
