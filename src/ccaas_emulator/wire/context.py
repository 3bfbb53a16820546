"""@odata.context URLs, built the way Dataverse builds them (wire-facts E8)."""

from __future__ import annotations

NAMESPACE = "Microsoft.Dynamics.CRM"


def service_root(org_url: str, version: str) -> str:
    """<org>/api/data/v9.x/ with the version the request used."""
    return f"{org_url}/api/data/{version}/"


def action_response_context(org_url: str, version: str, action: str) -> str:
    """Context of an action returning its complex type: ...$metadata#Microsoft.Dynamics.CRM.<Action>Response."""
    return f"{service_root(org_url, version)}$metadata#{NAMESPACE}.{action}Response"
