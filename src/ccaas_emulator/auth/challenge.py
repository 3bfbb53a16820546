"""The 401 challenge that tells a client where to get a token (wire-facts F)."""

from __future__ import annotations

from starlette.requests import Request

from ccaas_emulator.auth.tokens import TokenVerifier, VerifiedToken
from ccaas_emulator.clock import Clock
from ccaas_emulator.settings import Settings
from ccaas_emulator.wire.errors import TOKEN_MISSING, DataverseError


def challenge_header(settings: Settings) -> str:
    """Microsoft's AuthorityResolver needs both keys, comma-separated, or it fails."""
    return (
        f"Bearer authorization_uri={settings.authority_host}/{settings.tenant}/oauth2/authorize, "
        f"resource_id={settings.org_url}/"
    )


class Authenticator:
    """Turns the Authorization header into a verified token, or a 401 carrying WWW-Authenticate."""

    def __init__(self, verifier: TokenVerifier, settings: Settings, clock: Clock) -> None:
        self._verifier = verifier
        self._challenge = challenge_header(settings)
        self._clock = clock

    def authenticate(self, request: Request) -> VerifiedToken:
        try:
            return self._verifier.verify(self._bearer_token(request), now=self._clock.now())
        except DataverseError as error:
            if error.status == 401:
                error.headers["WWW-Authenticate"] = self._challenge
            raise

    @staticmethod
    def _bearer_token(request: Request) -> str:
        header = request.headers.get("authorization")
        if not header:
            raise TOKEN_MISSING(detail="The request has no Authorization header with a Bearer token.")
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TOKEN_MISSING(detail="The Authorization header does not carry a Bearer token.")
        return token.strip()
