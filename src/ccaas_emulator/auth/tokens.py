"""Minting and verifying Entra-style access tokens (wire-facts F).

Verification is done step by step rather than in one jwt.decode call, so that every failure maps to
the Dataverse error a real org gives, and so that expiry is judged by the emulator's clock. PyJWT's JWS
layer parses the token and checks the signature; the claims are ours to judge.
"""

from __future__ import annotations

import json
import math
import secrets
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

import jwt
import orjson
from jwt.utils import base64url_decode

from ccaas_emulator.auth.keys import SigningKeys
from ccaas_emulator.auth.origins import KnownAudiences
from ccaas_emulator.wire.errors import TOKEN_EXPIRED, TOKEN_INVALID, TOKEN_TAMPERED

ACCEPTED_ALGORITHM = "RS256"
MAX_TOKEN_LENGTH = 16 * 1024
# A JWS codec that knows RS256 alone: no other algorithm can sign or verify, whatever a header says.
_JWS = jwt.PyJWS(algorithms=[ACCEPTED_ALGORITHM])


def issuer_v1(tenant: str) -> str:
    return f"https://sts.windows.net/{tenant}/"


def issuer_v2(tenant: str) -> str:
    return f"https://login.microsoftonline.com/{tenant}/v2.0"


@dataclass(frozen=True)
class Principal:
    """Who a request runs as: the token's user, or the user it impersonates (CallerObjectId / MSCRMCallerID)."""

    object_id: uuid.UUID
    act_as_object_id: uuid.UUID | None = None
    act_as_user_id: uuid.UUID | None = None

    @property
    def impersonates(self) -> bool:
        return self.act_as_object_id is not None or self.act_as_user_id is not None


@dataclass(frozen=True)
class VerifiedToken:
    """What the emulator needs from a token that passed every check, with the impersonation the request asks for."""

    object_id: uuid.UUID
    tenant_id: str
    claims: dict[str, Any]
    principal: Principal


DEFAULT_PUBLIC_CLIENT_ID = "51f81489-12ee-4a9e-aaae-a2591f45987d"
"""The client id Microsoft's Dataverse samples use for a public client: `appid` of tokens minted without one."""


def mint_token(
    keys: SigningKeys,
    *,
    object_id: uuid.UUID,
    user_name: str,
    tenant: str,
    audience: str,
    issued_at: datetime,
    expires_in: int,
    version: int = 1,
    client_id: str = DEFAULT_PUBLIC_CLIENT_ID,
    confidential_client: bool = False,
) -> str:
    """A signed delegated (user) access token shaped like the ones Entra issues for Dataverse (v1 unless asked)."""
    now = int(issued_at.timestamp())
    claims: dict[str, Any] = {
        "aud": audience,
        "iss": issuer_v1(tenant) if version == 1 else issuer_v2(tenant),
        "iat": now,
        "nbf": now,
        "exp": now + expires_in,
        "acr": "1",
        "amr": ["pwd"],
        "idtyp": "user",
        "tid": tenant,
        "oid": str(object_id),
        "sub": str(uuid.uuid5(object_id, "sub")),
        "scp": "user_impersonation",
        "uti": _token_identifier(),
        "ver": "1.0" if version == 1 else "2.0",
        "name": user_name,
    }
    if version == 1:
        claims["appid"], claims["appidacr"] = client_id, "1" if confidential_client else "0"
        claims["upn"] = claims["unique_name"] = user_name
    else:
        claims["azp"], claims["azpacr"] = client_id, "1" if confidential_client else "0"
        claims["preferred_username"] = user_name
    return sign_claims(keys, claims)


def mint_app_token(
    keys: SigningKeys,
    *,
    object_id: uuid.UUID,
    client_id: uuid.UUID,
    app_name: str,
    tenant: str,
    audience: str,
    issued_at: datetime,
    expires_in: int,
) -> str:
    """A signed app-only (client credentials) v1 access token, as Entra issues one for Dataverse.

    Dataverse declares no app roles, so its app-only tokens carry no `roles`: `idtyp` "app", `sub` equal to `oid`
    (the service principal), `appid`/`appidacr` "1" (a client secret) and the app's display name. What the
    application may do is its application user's security roles, in Dataverse.
    """
    now = int(issued_at.timestamp())
    claims: dict[str, Any] = {
        "aud": audience,
        "iss": issuer_v1(tenant),
        "iat": now,
        "nbf": now,
        "exp": now + expires_in,
        "app_displayname": app_name,
        "appid": str(client_id),
        "appidacr": "1",
        "idp": issuer_v1(tenant),
        "idtyp": "app",
        "oid": str(object_id),
        "sub": str(object_id),
        "tid": tenant,
        "uti": _token_identifier(),
        "ver": "1.0",
    }
    return sign_claims(keys, claims)


def _token_identifier() -> str:
    """`uti`: Entra's per-token identifier, 22 base64url characters."""
    return secrets.token_urlsafe(16)


def sign_claims(keys: SigningKeys, claims: dict[str, Any]) -> str:
    """RS256 with the current signing key; kid and x5t name it, as in Entra's v1 tokens."""
    key = keys.signing_key
    return _JWS.encode(
        orjson.dumps(claims),
        key.private_key,
        headers={"kid": key.kid, "x5t": key.kid, "typ": "JWT"},
        algorithm=ACCEPTED_ALGORITHM,
    )


def read_own_token(keys: SigningKeys, token: str) -> dict[str, Any] | None:
    """The claims of a token this emulator signed (a refresh token it issued), or None; nothing else is judged."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        key = keys.find(str(_JWS.get_unverified_header(token).get("kid", "")))
        if key is None:
            return None
        claims = orjson.loads(_JWS.decode(token, key.public_key, algorithms=[ACCEPTED_ALGORITHM]))
    except (jwt.InvalidTokenError, orjson.JSONDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def _unverified_header(token: str) -> dict[str, Any]:
    """The token's header, read before anything is trusted; segments must be canonical base64url."""
    try:
        return _JWS.get_unverified_header(token)
    except jwt.DecodeError:
        raise TOKEN_INVALID(detail="The bearer token is not a well-formed JWT.") from None
    except jwt.InvalidTokenError:
        # A JSON-object header PyJWT will not verify (a kid that is not a string, an unknown crit entry). It is
        # judged below by its alg, crit and kid like any other, so the client hears the same reason as for its
        # neighbours; the signature check then refuses it whatever it holds.
        header: dict[str, Any] = json.loads(base64url_decode(token.split(".", 1)[0]))
        return header


_TIME_CLAIMS = {"nbf": "not-before", "iat": "issued-at"}


def _is_number(value: object) -> TypeGuard[int | float]:
    """A JSON number: int or float, not a bool (which Python counts as an int)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class TokenVerifier:
    """Checks signature, algorithm, audience, issuer/tenant and lifetime, with a clock-skew allowance.

    The audience must be the org URL or, with `audiences`, any origin a `serve` process recorded (auth/origins.py).
    """

    def __init__(
        self,
        keys: SigningKeys,
        *,
        org_url: str,
        tenant: str,
        skew_seconds: int,
        audiences: KnownAudiences | None = None,
        cache_size: int = 4096,
    ) -> None:
        self._keys = keys
        self._audiences = audiences or KnownAudiences(org_url)
        self._tenant = tenant.lower()
        self._issuers = {issuer_v1(self._tenant), issuer_v2(self._tenant)}
        self._skew = skew_seconds
        # Tokens that passed, keyed by the raw token (bounded; see _Verified): a client sends the same token
        # for an hour, and verifying it in full costs a signature check (~10x the rest) and the claims' checks.
        self._verified: OrderedDict[str, _Verified] = OrderedDict()
        self._cache_size = cache_size
        self._keys_generation = keys.generation

    def verify(self, token: str, *, now: datetime) -> VerifiedToken:
        if self._keys_generation != self._keys.generation:
            # The key set was reloaded: a token signed by a key that left it must not pass on its cached signature.
            self._verified = OrderedDict()
            self._keys_generation = self._keys.generation
        known = self._verified.get(token)
        if known is None:
            known = _Verified(self._check_signature(token, now))
            self._remember(token, known)
        elif known.token is not None:
            moment = now.timestamp()
            if known.not_before <= moment <= known.expires and self._audiences.accepts(known.audience, now=now):
                return known.token
        claims = known.claims  # a token not judged yet, or out of its lifetime now (judged again: refused)
        audience = self._check_claims(claims, now)
        object_id = uuid.UUID(str(claims["oid"]))
        verified = VerifiedToken(
            object_id=object_id, tenant_id=str(claims.get("tid", "")), claims=claims, principal=Principal(object_id)
        )
        not_before = claims.get("nbf")
        self._remember(
            token,
            _Verified(
                claims,
                verified,
                audience,
                not_before=not_before - self._skew if _is_number(not_before) else -math.inf,
                expires=claims["exp"] + self._skew,
            ),
        )
        return verified

    def _remember(self, token: str, verified: _Verified) -> None:
        self._verified[token] = verified
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)  # the oldest first

    def _check_signature(self, token: str, now: datetime) -> dict[str, Any]:
        if len(token) > MAX_TOKEN_LENGTH:
            raise TOKEN_INVALID(detail=f"The bearer token is longer than {MAX_TOKEN_LENGTH} characters.")
        header = _unverified_header(token)
        algorithm = header.get("alg")
        if algorithm != ACCEPTED_ALGORITHM:
            raise TOKEN_INVALID(
                detail=f"The token is signed with '{algorithm}'; only {ACCEPTED_ALGORITHM} tokens are accepted."
            )
        if "crit" in header:
            # RFC 7515 4.1.11: extensions listed in crit must be understood or the token refused. Entra lists none,
            # and the emulator understands none (not even RFC 7797's b64, which PyJWT alone would accept).
            raise TOKEN_INVALID(
                detail="The token's header lists critical extensions (crit) this organization does not understand."
            )
        # An unknown kid may be a key stored after this process loaded its set (the database was recreated, or
        # `ccaas-emulator token` made one): find reloads the set, rate-limited on `now`, before refusing.
        key = self._keys.find(str(header.get("kid", "")), now=now)
        if key is None:
            raise TOKEN_INVALID(
                detail="The token's signing key (kid) is not one this organization's authority publishes."
            )
        try:
            payload = _JWS.decode(token, key.public_key, algorithms=[ACCEPTED_ALGORITHM])
        except jwt.InvalidTokenError:
            raise TOKEN_TAMPERED(detail="The token's signature does not match its contents.") from None
        try:
            claims = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise TOKEN_INVALID(detail="The token's payload is not a JSON object.") from None
        if not isinstance(claims, dict):
            raise TOKEN_INVALID(detail="The token's payload is not a JSON object.")
        return claims

    def _check_claims(self, claims: dict[str, Any], now: datetime) -> str:
        """Raises what refuses the claims at `now`; returns the audience that was accepted."""
        moment = now.timestamp()
        expires = claims.get("exp")
        if not _is_number(expires):
            raise TOKEN_INVALID(detail="The token has no expiry (exp) claim.")
        for name in ("nbf", "iat"):  # optional, but a NumericDate when present (RFC 7519 2)
            if name in claims and not _is_number(claims[name]):
                raise TOKEN_INVALID(detail=f"The token's {_TIME_CLAIMS[name]} ({name}) claim is not a number.")
        if moment > expires + self._skew:
            raise TOKEN_EXPIRED(detail="IDX10223: Lifetime validation failed. The token is expired.")
        not_before = claims.get("nbf")
        if _is_number(not_before) and moment < not_before - self._skew:
            raise TOKEN_INVALID(detail="IDX10222: Lifetime validation failed. The token is not yet valid.")
        audiences = claims.get("aud")
        audiences = audiences if isinstance(audiences, list) else [audiences]
        accepted = next(
            (aud for aud in audiences if isinstance(aud, str) and self._audiences.accepts(aud, now=now)), None
        )
        if accepted is None:
            raise TOKEN_INVALID(detail="IDX10214: Audience validation failed. The token is not for this organization.")
        issuer = claims.get("iss")
        tenant = claims.get("tid")
        if not isinstance(issuer, str) or issuer.lower() not in self._issuers:
            raise TOKEN_INVALID(
                detail="IDX10205: Issuer validation failed. The token was not issued by this organization's tenant."
            )
        if tenant is not None and str(tenant).lower() != self._tenant:
            raise TOKEN_INVALID(detail="The token's tenant (tid) is not this organization's tenant.")
        object_id = claims.get("oid")
        try:
            uuid.UUID(str(object_id))
        except ValueError:
            raise TOKEN_INVALID(detail="The token has no valid object id (oid) claim.") from None
        return accepted


@dataclass(frozen=True)
class _Verified:
    """A token whose signature passed (`claims`), and once its claims passed too, the verdict (`token`).

    Only a genuine signature is remembered, so a forged token never is. A verdict is reused while what can change
    after a token passed still holds: the time (its lifetime, `nbf - skew` to `exp + skew`, the bounds
    _check_claims applies) and whether its audience is still one of ours; past it the claims are judged again,
    which refuses the token. Its signature, issuer, tenant and object id cannot change, and a reload of the
    signing keys empties the cache (TokenVerifier.verify). At most `cache_size` tokens, the oldest forgotten first.
    """

    claims: dict[str, Any]
    token: VerifiedToken | None = None
    audience: str = ""
    not_before: float = -math.inf
    expires: float = -math.inf
