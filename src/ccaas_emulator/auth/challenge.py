"""The 401 challenge that tells a client where to get a token (wire-facts F)."""

from __future__ import annotations

import dataclasses
import uuid

from starlette.requests import Request

from ccaas_emulator.auth.tokens import Principal, TokenVerifier, VerifiedToken
from ccaas_emulator.clock import Clock
from ccaas_emulator.settings import Settings
from ccaas_emulator.wire.errors import INVALID_IMPERSONATION_HEADER, TOKEN_MISSING, DataverseError

IMPERSONATION_HEADERS = ("CallerObjectId", "MSCRMCallerID")
"""wire-facts E2: impersonate by Entra object id, or by systemuserid."""


def challenge_header(settings: Settings) -> str:
    """Microsoft's AuthorityResolver needs both keys, comma-separated, or it fails."""
    return (
        f"Bearer authorization_uri={settings.authority_origin}/{settings.tenant}/oauth2/authorize, "
        f"resource_id={settings.org_url}/"
    )


class Authenticator:
    """Turns the Authorization header into a verified token, or a 401 carrying WWW-Authenticate."""

    def __init__(self, verifier: TokenVerifier, settings: Settings, clock: Clock) -> None:
        self._verifier = verifier
        self._challenge = challenge_header(settings)
        self._clock = clock

    def authenticate(self, request: Request) -> VerifiedToken:
        """The verified token, with the user the request asks to run as (checked later, against the database)."""
        try:
            token = self._verifier.verify(self._bearer_token(request), now=self._clock.now())
        except DataverseError as error:
            if error.status == 401:
                error.headers["WWW-Authenticate"] = self._challenge
            raise
        by_object_id, by_user_id = (_guid_header(request, name) for name in IMPERSONATION_HEADERS)
        if by_object_id is None and by_user_id is None:
            return token
        principal = Principal(token.object_id, act_as_object_id=by_object_id, act_as_user_id=by_user_id)
        return dataclasses.replace(token, principal=principal)

    @staticmethod
    def _bearer_token(request: Request) -> str:
        header = request.headers.get("authorization")
        if not header:
            raise TOKEN_MISSING(detail="The request has no Authorization header with a Bearer token.")
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TOKEN_MISSING(detail="The Authorization header does not carry a Bearer token.")
        return token.strip()


def _guid_header(request: Request, name: str) -> uuid.UUID | None:
    """An impersonation header's GUID; absent or empty is None, anything else that is not a GUID a 400."""
    value = request.headers.get(name, "").strip()
    if not value:
        return None
    try:
        if len(value) > 38:
            raise ValueError(value)
        return uuid.UUID(value)
    except ValueError:
        raise INVALID_IMPERSONATION_HEADER(header=name) from None
