"""The emulator's Entra-shaped authority: who may get a token for this organization, and the token they get.

The token endpoints (auth/routes.py) hand their form here. Grants: client_credentials (application users),
password (users with a password; MSAL's username/password flow) and refresh_token (what the password grant returns).
Every refusal is an `EntraError` in Microsoft identity platform's words: the AADSTS codes and messages Entra
documents for each case (learn.microsoft.com/entra/identity-platform/reference-error-codes).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy.orm import Session

from ccaas_emulator.auth import directory
from ccaas_emulator.auth.keys import SigningKeys
from ccaas_emulator.auth.origins import KnownAudiences, normalize_audience
from ccaas_emulator.auth.passwords import MAX_SECRET_LENGTH
from ccaas_emulator.auth.tokens import (
    DEFAULT_PUBLIC_CLIENT_ID,
    issuer_v2,
    mint_app_token,
    mint_token,
    read_own_token,
    sign_claims,
)
from ccaas_emulator.clock import Clock
from ccaas_emulator.db.models import SystemUser

MAX_PARAMETER_LENGTH = 4096
"""Longer form values are refused before any look-up (a refresh token is ~1 KB)."""
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
USER_SCOPE_NAMES = frozenset({"user_impersonation", ".default"})
REFRESH_TOKEN_LIFETIME = 90 * 86_400  # Entra's refresh tokens last 90 days (sliding)


@dataclass(frozen=True)
class EntraErrorKind:
    """One AADSTS error: the OAuth error code, the HTTP status Entra answers with, the number and the message."""

    status: int
    error: str
    code: int
    template: str

    def __call__(self, **fields: Any) -> EntraError:
        return EntraError(self.status, self.error, self.code, self.template.format(**fields))


class EntraError(Exception):
    """A refusal rendered as Entra's OAuth error body (auth/routes.py: entra_error_response)."""

    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description


MISSING_PARAMETER = EntraErrorKind(
    400, "invalid_request", 900144, "The request body must contain the following parameter: '{name}'."
)
POST_ONLY = EntraErrorKind(
    400, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a {method} request."
)
MALFORMED_REQUEST = EntraErrorKind(400, "invalid_request", 9002313, "Invalid request. Request is malformed or invalid.")
TENANT_NOT_FOUND = EntraErrorKind(
    400,
    "invalid_tenant",
    90002,
    "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct "
    "cloud.",
)
UNSUPPORTED_GRANT = EntraErrorKind(
    400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '{grant}'."
)
UNKNOWN_CLIENT = EntraErrorKind(
    400,
    "unauthorized_client",
    700016,
    "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the "
    "application has not been installed by the administrator of the tenant or consented to by any user in the "
    "tenant. You may have sent your authentication request to the wrong tenant.",
)
MISSING_SECRET = EntraErrorKind(
    401,
    "invalid_client",
    7000218,
    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
)
WRONG_SECRET = EntraErrorKind(
    401,
    "invalid_client",
    7000215,
    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the "
    "client secret ID, for a secret added to app '{client_id}'.",
)
UNKNOWN_RESOURCE = EntraErrorKind(
    400,
    "invalid_resource",
    500011,
    "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the "
    "application has not been installed by the administrator of the tenant or consented to by any user in the "
    "tenant. You might have sent your authentication request to the wrong tenant.",
)
NO_RESOURCE = EntraErrorKind(400, "invalid_resource", 50001, "Resource identifier is not provided.")
CLIENT_CREDENTIALS_SCOPE = EntraErrorKind(
    400,
    "invalid_scope",
    1002012,
    "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with "
    "/.default suffixed to the resource identifier (application ID URI).",
)
INVALID_SCOPE = EntraErrorKind(
    400,
    "invalid_scope",
    70011,
    "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid.",
)
UNKNOWN_USER = EntraErrorKind(
    400,
    "invalid_grant",
    50034,
    "The user account {{EmailHidden}} does not exist in the {tenant} directory. To sign into this application, the "
    "account must be added to the directory.",
)
WRONG_PASSWORD = EntraErrorKind(
    400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password."
)
USER_DISABLED = EntraErrorKind(400, "invalid_grant", 50057, "The user account is disabled.")
BAD_REFRESH_TOKEN = EntraErrorKind(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")


@dataclass(frozen=True)
class Authority:
    """What the token endpoint needs from the process: the organization, the tenant, the keys and the lifetime."""

    org_url: str
    tenant: str
    keys: SigningKeys
    lifetime: int
    audiences: KnownAudiences
    """The resources a token may be issued for: the org URL and every origin a `serve` recorded (auth/origins.py)."""
    wall_clock: Clock

    def accepts_tenant(self, segment: str) -> bool:
        """The configured tenant, or the multi-tenant aliases Entra also serves (`organizations`, `common`)."""
        return segment.lower() in (self.tenant, "organizations", "common")

    def resource_of(self, value: str) -> str:
        """The organization URL a `resource=` or scope names (Dataverse is its own resource, on each of the origins
        this server answers on, as the verifier accepts them), or 500011."""
        if not self.audiences.accepts(value, now=self.wall_clock.now()):
            raise UNKNOWN_RESOURCE(resource=value, tenant=self.tenant)
        return normalize_audience(value)


def _parameter(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise MISSING_PARAMETER(name=name)
    return value


def _guid(value: str, authority: Authority) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise UNKNOWN_CLIENT(client_id=value, tenant=authority.tenant) from None


def _requested(
    form: Mapping[str, str], version: Literal[1, 2], authority: Authority
) -> tuple[str, str | None, set[str]]:
    """(resource, scope name or None for v1, OIDC scopes) the request asks for."""
    if version == 1:
        resource = form.get("resource", "").strip()
        if not resource:
            raise NO_RESOURCE()
        return authority.resource_of(resource), None, set(form.get("scope", "").split()) & OIDC_SCOPES
    scopes = _parameter(form, "scope").split()
    resource_scopes = [scope for scope in scopes if scope not in OIDC_SCOPES]
    if len(resource_scopes) != 1:
        raise INVALID_SCOPE(scope=" ".join(resource_scopes) or " ".join(scopes))
    resource, slash, name = resource_scopes[0].rpartition("/")
    if not slash or not resource:
        raise INVALID_SCOPE(scope=resource_scopes[0])
    return authority.resource_of(resource), name, set(scopes) & OIDC_SCOPES


def issue(
    session: Session,
    form: Mapping[str, str],
    *,
    version: Literal[1, 2],
    authority: Authority,
    now: datetime,
    basic: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The token endpoint's answer to a form, or the EntraError refusing it."""
    if any(len(value) > MAX_PARAMETER_LENGTH for value in form.values()):
        raise MALFORMED_REQUEST()
    grant = _parameter(form, "grant_type")
    if grant not in ("client_credentials", "password", "refresh_token"):
        raise UNSUPPORTED_GRANT(grant=grant[:100])
    client_id = basic[0] if basic else _parameter(form, "client_id")
    secret = basic[1] if basic else form.get("client_secret")
    if secret is not None and len(secret) > MAX_SECRET_LENGTH:
        raise WRONG_SECRET(client_id=client_id)
    if grant == "client_credentials":
        return _client_credentials(session, form, version, authority, now, client_id, secret)
    if grant == "password":
        return _password(session, form, version, authority, now, client_id, secret)
    return _refresh(session, form, version, authority, now, client_id, secret)


def _client_credentials(
    session: Session,
    form: Mapping[str, str],
    version: Literal[1, 2],
    authority: Authority,
    now: datetime,
    client_id: str,
    secret: str | None,
) -> dict[str, Any]:
    application_id = _guid(client_id, authority)
    if not secret:
        raise MISSING_SECRET()
    account = directory.check_application(session, application_id, secret)
    if account is None:
        raise UNKNOWN_CLIENT(client_id=client_id, tenant=authority.tenant)
    if not account.secret_matches:
        raise WRONG_SECRET(client_id=client_id)
    resource, scope_name, _ = _requested(form, version, authority)
    if version == 2 and scope_name != ".default":
        raise CLIENT_CREDENTIALS_SCOPE(scope=form.get("scope", "").strip())
    token = mint_app_token(
        authority.keys,
        object_id=account.user.object_id,
        client_id=application_id,
        app_name=account.user.full_name,
        tenant=authority.tenant,
        audience=resource,
        issued_at=now,
        expires_in=authority.lifetime,
    )
    return _answer(version, token, resource, scope_name, authority, now)


def _client(session: Session, client_id: str, secret: str | None, authority: Authority) -> bool:
    """A user's flow names a public client (Microsoft's sample id or any app registration), or a confidential one
    with its secret; True when confidential."""
    if client_id == DEFAULT_PUBLIC_CLIENT_ID and secret is None:
        return False
    application_id = _guid(client_id, authority)
    app = directory.find_application(session, application_id)
    if app is None:
        raise UNKNOWN_CLIENT(client_id=client_id, tenant=authority.tenant)
    if secret is None:
        return False
    checked = directory.check_application(session, application_id, secret)
    if checked is None or not checked.secret_matches:
        raise WRONG_SECRET(client_id=client_id)
    return True


def _password(
    session: Session,
    form: Mapping[str, str],
    version: Literal[1, 2],
    authority: Authority,
    now: datetime,
    client_id: str,
    secret: str | None,
) -> dict[str, Any]:
    user_name, password = _parameter(form, "username"), _parameter(form, "password")
    confidential = _client(session, client_id, secret, authority)
    resource, scope_name, oidc = _requested(form, version, authority)
    if scope_name is not None and scope_name not in USER_SCOPE_NAMES:
        raise INVALID_SCOPE(scope=f"{resource}/{scope_name}")
    account = directory.check_user(session, user_name, password)
    if account is None:
        raise UNKNOWN_USER(tenant=authority.tenant)
    if not account.secret_matches:
        raise WRONG_PASSWORD()
    if account.user.is_disabled:
        raise USER_DISABLED()
    return _user_answer(account.user, version, authority, now, client_id, confidential, resource, scope_name, oidc)


def _refresh(
    session: Session,
    form: Mapping[str, str],
    version: Literal[1, 2],
    authority: Authority,
    now: datetime,
    client_id: str,
    secret: str | None,
) -> dict[str, Any]:
    confidential = _client(session, client_id, secret, authority)
    claims = read_own_token(authority.keys, _parameter(form, "refresh_token"))
    if (
        claims is None
        or claims.get("token_use") != "refresh"
        or claims.get("aud") != client_id
        or claims.get("tid") != authority.tenant
        or not isinstance(claims.get("exp"), int)
        or claims["exp"] < now.timestamp()
    ):
        raise BAD_REFRESH_TOKEN()
    try:
        user = session.get(SystemUser, uuid.UUID(str(claims.get("sub_user"))))
    except ValueError:
        raise BAD_REFRESH_TOKEN() from None
    if user is None or user.application_id is not None:
        raise BAD_REFRESH_TOKEN()
    if user.is_disabled:
        raise USER_DISABLED()
    resource, scope_name, oidc = (
        _requested(form, version, authority)
        if form.get("scope" if version == 2 else "resource")
        else (
            authority.resource_of(authority.org_url),
            "user_impersonation" if version == 2 else None,
            set(OIDC_SCOPES),
        )
    )
    if scope_name is not None and scope_name not in USER_SCOPE_NAMES:
        raise INVALID_SCOPE(scope=f"{resource}/{scope_name}")
    return _user_answer(
        user, version, authority, now, client_id, confidential, resource, scope_name, oidc | {"offline_access"}
    )


def _user_answer(
    user: SystemUser,
    version: Literal[1, 2],
    authority: Authority,
    now: datetime,
    client_id: str,
    confidential: bool,
    resource: str,
    scope_name: str | None,
    oidc: set[str],
) -> dict[str, Any]:
    token = mint_token(
        authority.keys,
        object_id=user.object_id,
        user_name=user.user_name,
        tenant=authority.tenant,
        audience=resource,
        issued_at=now,
        expires_in=authority.lifetime,
        client_id=client_id,
        confidential_client=confidential,
    )
    answer = _answer(version, token, resource, "user_impersonation" if scope_name else None, authority, now)
    issued = int(now.timestamp())
    if version == 1 or "offline_access" in oidc:
        answer["refresh_token"] = sign_claims(
            authority.keys,
            {
                "token_use": "refresh",
                "aud": client_id,
                "tid": authority.tenant,
                "sub_user": str(user.id),
                "iat": issued,
                "exp": issued + REFRESH_TOKEN_LIFETIME,
                "jti": str(uuid.uuid4()),
            },
        )
    if "openid" in oidc:
        answer["id_token"] = sign_claims(
            authority.keys,
            {
                "aud": client_id,
                "iss": issuer_v2(authority.tenant),
                "iat": issued,
                "nbf": issued,
                "exp": issued + authority.lifetime,
                "name": user.full_name,
                "oid": str(user.object_id),
                "preferred_username": user.user_name,
                "sub": str(uuid.uuid5(user.object_id, "sub")),
                "tid": authority.tenant,
                "ver": "2.0",
            },
        )
        client_info = orjson.dumps({"uid": str(user.object_id), "utid": authority.tenant})
        answer["client_info"] = base64.urlsafe_b64encode(client_info).rstrip(b"=").decode("ascii")
    return answer


def _answer(
    version: Literal[1, 2], token: str, resource: str, scope_name: str | None, authority: Authority, now: datetime
) -> dict[str, Any]:
    """Entra's success body: v2 numbers and `scope`; v1 strings, `resource`, `expires_on`, `not_before`."""
    lifetime = authority.lifetime
    if version == 2:
        return {
            "token_type": "Bearer",
            "scope": f"{resource}/{scope_name}",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
        }
    issued = int(now.timestamp())
    return {
        "token_type": "Bearer",
        "expires_in": str(lifetime),
        "ext_expires_in": str(lifetime),
        "expires_on": str(issued + lifetime),
        "not_before": str(issued),
        "resource": resource,
        "access_token": token,
    }
