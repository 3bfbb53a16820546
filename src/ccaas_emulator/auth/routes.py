"""The emulator's Entra-shaped authority on its own origin: OpenID discovery, the key set, the token endpoints and
MSAL's user-realm discovery, for the configured tenant (and the `organizations`/`common` aliases Entra serves).

Documents name this server's own origin (the request's scheme and host), so MSAL, which insists on an https
authority, finds the token endpoint on the HTTPS listener it called. Bodies are form-encoded only, as Entra's.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ccaas_emulator.auth.authority import (
    MALFORMED_REQUEST,
    POST_ONLY,
    TENANT_NOT_FOUND,
    Authority,
    EntraError,
    issue,
)
from ccaas_emulator.auth.tokens import issuer_v1, issuer_v2
from ccaas_emulator.deps import RuntimeDep, SettingsDep, SigningKeysDep
from ccaas_emulator.wire.body import read_limited_body
from ccaas_emulator.wire.context import request_origin
from ccaas_emulator.wire.errors import DataverseError

router = APIRouter(tags=["Identity"])
MAX_FORM_BYTES = 64 * 1024
_NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


def entra_error_response(error: EntraError, *, now: datetime) -> JSONResponse:
    """Entra's OAuth error body: error, an AADSTS description with trace and correlation ids, the codes, the time."""
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    timestamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": error.error,
        "error_description": f"AADSTS{error.code}: {error.description} Trace ID: {trace_id} Correlation ID: "
        f"{correlation_id} Timestamp: {timestamp}",
        "error_codes": [error.code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={error.code}",
    }
    return JSONResponse(body, status_code=error.status, headers=_NO_STORE | {"x-ms-request-id": trace_id})


def _authority(runtime: Any) -> Authority:
    settings = runtime.settings
    return Authority(
        settings.org_url,
        settings.tenant,
        runtime.keys,
        settings.token_lifetime_seconds,
        audiences=runtime.audiences,
        wall_clock=runtime.wall_clock,
    )


def _check_tenant(authority: Authority, tenant: str) -> None:
    if not authority.accepts_tenant(tenant):
        raise TENANT_NOT_FOUND(tenant=tenant[:100])


@router.get("/{tenant}/discovery/v2.0/keys", summary="JSON Web Key Set of the emulator's signing keys")
@router.get("/{tenant}/discovery/keys", include_in_schema=False)
async def jwks(tenant: str, settings: SettingsDep, keys: SigningKeysDep, runtime: RuntimeDep) -> JSONResponse:
    try:
        _check_tenant(_authority(runtime), tenant)
    except EntraError as error:
        return entra_error_response(error, now=runtime.wall_clock.now())
    return JSONResponse(keys.jwks())


def _discovery(origin: str, segment: str, tenant: str, version: Literal[1, 2]) -> dict[str, Any]:
    """The OpenID configuration Entra publishes, with this server's origin for every endpoint."""
    base = f"{origin}/{segment}"
    # For the multi-tenant aliases Entra publishes the issuer as a template, as here.
    issuer_tenant = tenant if segment.lower() == tenant else "{tenantid}"
    if version == 2:
        endpoints = {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "issuer": issuer_v2(issuer_tenant),
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "kerberos_endpoint": f"{base}/kerberos",
        }
    else:
        endpoints = {
            "token_endpoint": f"{base}/oauth2/token",
            "jwks_uri": f"{base}/discovery/keys",
            "issuer": issuer_v1(issuer_tenant),
            "authorization_endpoint": f"{base}/oauth2/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/devicecode",
            "end_session_endpoint": f"{base}/oauth2/logout",
            "kerberos_endpoint": f"{base}/kerberos",
        }
    return endpoints | {
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"]
        if version == 2
        else ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "request_uri_parameter_supported": False,
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "claims_supported": [
            "sub",
            "iss",
            "cloud_instance_name",
            "cloud_instance_host_name",
            "cloud_graph_host_name",
            "msgraph_host",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "at_hash",
            "c_hash",
            "email",
        ],
        "tenant_region_scope": None,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }


@router.get("/{tenant}/v2.0/.well-known/openid-configuration", summary="OpenID Connect discovery (v2.0)")
async def discovery_v2(tenant: str, request: Request, runtime: RuntimeDep) -> JSONResponse:
    return _discovery_response(tenant, request, runtime, 2)


@router.get("/{tenant}/.well-known/openid-configuration", summary="OpenID Connect discovery (v1)")
async def discovery_v1(tenant: str, request: Request, runtime: RuntimeDep) -> JSONResponse:
    return _discovery_response(tenant, request, runtime, 1)


def _discovery_response(tenant: str, request: Request, runtime: Any, version: Literal[1, 2]) -> JSONResponse:
    authority = _authority(runtime)
    try:
        _check_tenant(authority, tenant)
    except EntraError as error:
        return entra_error_response(error, now=runtime.wall_clock.now())
    origin = request_origin(request, runtime.settings.org_url)
    return JSONResponse(_discovery(origin, tenant, authority.tenant, version))


@router.get("/common/userrealm/{user}", summary="User realm discovery (MSAL asks it before a password grant)")
async def user_realm(user: str, runtime: RuntimeDep) -> JSONResponse:
    """Every account of this authority is a managed (cloud) one: MSAL then posts the password grant itself."""
    name = unquote(user)[:256]
    domain = name.rpartition("@")[2] if "@" in name else "emulator.local"
    return JSONResponse(
        {
            "ver": "1.0",
            "account_type": "Managed",
            "domain_name": domain,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        },
        headers=_NO_STORE,
    )


@router.post("/{tenant}/oauth2/v2.0/token", summary="Token endpoint (v2.0: scope=<org>/.default)")
async def token_v2(tenant: str, request: Request, runtime: RuntimeDep) -> JSONResponse:
    return await _token(tenant, request, runtime, 2)


@router.post("/{tenant}/oauth2/token", summary="Token endpoint (v1: resource=<org>)")
async def token_v1(tenant: str, request: Request, runtime: RuntimeDep) -> JSONResponse:
    return await _token(tenant, request, runtime, 1)


@router.api_route("/{tenant}/oauth2/v2.0/token", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
@router.api_route("/{tenant}/oauth2/token", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def token_wrong_method(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Entra answers any other method on its token endpoint with AADSTS900561, not a 405."""
    return entra_error_response(POST_ONLY(method=request.method), now=runtime.wall_clock.now())


async def _token(tenant: str, request: Request, runtime: Any, version: Literal[1, 2]) -> JSONResponse:
    authority = _authority(runtime)
    now = runtime.wall_clock.now()
    try:
        _check_tenant(authority, tenant)
        form = await _form(request)
        basic = _basic_credentials(request)

        def unit_of_work() -> dict[str, Any]:
            # A read transaction: issuing a token writes nothing. scrypt runs here, off the event loop.
            with runtime.database.read() as session:
                return issue(session, form, version=version, authority=authority, now=now, basic=basic)

        answer = await run_in_threadpool(unit_of_work)
    except EntraError as error:
        return entra_error_response(error, now=now)
    return JSONResponse(answer, headers=_NO_STORE)


async def _form(request: Request) -> dict[str, str]:
    """The form-encoded body, bounded; any other body is treated as carrying no parameters, as Entra does."""
    try:
        raw = await read_limited_body(request, MAX_FORM_BYTES)
    except DataverseError:
        raise MALFORMED_REQUEST() from None
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=64)
    except (UnicodeDecodeError, ValueError):
        raise MALFORMED_REQUEST() from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:  # a repeated parameter is ambiguous
            raise MALFORMED_REQUEST()
        form[name] = value
    return form


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """client_secret_basic: `Authorization: Basic base64(client_id:secret)`, each part form-encoded (RFC 6749 2.3.1)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise MALFORMED_REQUEST() from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise MALFORMED_REQUEST()
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))
