"""The emulator's RSA signing keys: created on first start, kept in the database, published as JWKS."""

from __future__ import annotations

import base64
import functools
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from sqlalchemy import select

from ccaas_emulator.clock import Clock
from ccaas_emulator.db.models import SigningKey
from ccaas_emulator.db.transaction import Database


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@functools.lru_cache(maxsize=8)
def _load_private_pem(private_pem: str) -> PrivateKeyTypes:
    """Parsed once per process: the parse checks the RSA key (~35 ms), and every app start loads the keys."""
    return serialization.load_pem_private_key(private_pem.encode(), password=None)


@dataclass(frozen=True)
class LoadedKey:
    """One key pair, ready to sign and to verify (loaded key objects, their PEMs, the JWK)."""

    kid: str
    private_pem: str
    public_pem: str
    jwk: dict[str, Any]
    # Loaded once: parsing a private PEM checks the key and costs tens of milliseconds per token.
    private_key: rsa.RSAPrivateKey = field(repr=False, compare=False)
    public_key: rsa.RSAPublicKey = field(repr=False, compare=False)

    @classmethod
    def from_private_pem(cls, kid: str, private_pem: str) -> LoadedKey:
        private = _load_private_pem(private_pem)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError(f"signing key {kid} is not an RSA key")
        public = private.public_key()
        numbers = public.public_numbers()
        public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        jwk = {
            "kty": "RSA",
            "use": "sig",
            "kid": kid,
            "x5t": kid,
            "n": _int_b64url(numbers.n),
            "e": _int_b64url(numbers.e),
            "alg": "RS256",
        }
        return cls(
            kid=kid, private_pem=private_pem, public_pem=public_pem, jwk=jwk, private_key=private, public_key=public
        )


def _generate() -> tuple[str, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    kid = _b64url(hashlib.sha1(der).digest())  # noqa: S324  Entra's kid/x5t are SHA-1 thumbprints too
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return kid, pem


# A token naming a kid this process does not know reloads the keys from the database at most this often, so a
# flood of forged kids costs one query per interval, not one per request.
RELOAD_INTERVAL = timedelta(seconds=1)


def _stored_keys(database: Database, clock: Clock) -> list[LoadedKey]:
    """The keys in the database, oldest first; the first one is generated and stored if there is none."""
    with database.read() as session:
        rows = session.scalars(select(SigningKey).order_by(SigningKey.created_on, SigningKey.kid)).all()
        stored = [(row.kid, row.private_key_pem) for row in rows]
    if not stored:
        kid, pem = _generate()
        with database.transaction() as session:
            # Two processes starting together may both get here; both keys are then trusted, and
            # ordering by (created_on, kid) below makes every process sign with the same one.
            session.add(SigningKey(kid=kid, private_key_pem=pem, created_on=clock.now()))
        with database.read() as session:
            rows = session.scalars(select(SigningKey).order_by(SigningKey.created_on, SigningKey.kid)).all()
            stored = [(row.kid, row.private_key_pem) for row in rows]
    return [LoadedKey.from_private_pem(kid, pem) for kid, pem in stored]


class SigningKeys:
    """The keys the emulator trusts; the oldest one signs, so every process signs with the same key.

    Loaded from a database, the set follows it: a kid the set does not know (the database was recreated, or
    another process such as `ccaas-emulator token` stored a new key) reloads it, at most once per RELOAD_INTERVAL.
    """

    def __init__(self, keys: list[LoadedKey], *, database: Database | None = None, clock: Clock | None = None) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        self._database = database
        self._clock = clock
        self._set(keys)
        self._reload_lock = threading.Lock()
        self._last_reload: datetime | None = None
        self.generation = 0  # bumped by every reload, so caches of verified signatures know to forget

    def _set(self, keys: list[LoadedKey]) -> None:
        # One assignment: a reader on another thread sees the old set or the new, never half of each.
        self._state = (keys, {key.kid: key for key in keys})

    @classmethod
    def load_or_create(cls, database: Database, clock: Clock) -> SigningKeys:
        """Load the stored keys, generating and storing the first one if there is none."""
        return cls(_stored_keys(database, clock), database=database, clock=clock)

    @property
    def signing_key(self) -> LoadedKey:
        return self._state[0][0]

    def find(self, kid: str, *, now: datetime | None = None) -> LoadedKey | None:
        """The key named kid; with `now`, an unknown kid reloads the set first unless it was reloaded lately."""
        key = self._state[1].get(kid)
        if key is None and now is not None and self._may_reload(now):
            self.reload()
            key = self._state[1].get(kid)
        return key

    def _may_reload(self, now: datetime) -> bool:
        if self._database is None:
            return False
        with self._reload_lock:
            last = self._last_reload
            # A clock that went backwards does not block reloads until it catches up.
            if last is not None and last <= now < last + RELOAD_INTERVAL:
                return False
            self._last_reload = now
            return True

    def reload(self) -> None:
        """Read the key set again: new keys are trusted, keys gone from the database are not any more."""
        if self._database is None or self._clock is None:
            return
        self._set(_stored_keys(self._database, self._clock))
        self.generation += 1

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set, shaped like Entra's /discovery/v2.0/keys."""
        return {"keys": [key.jwk for key in self._state[0]]}
