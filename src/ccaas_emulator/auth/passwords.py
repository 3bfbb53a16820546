"""Hashing users' passwords and applications' client secrets: salted scrypt from the standard library.

scrypt is memory-hard (RFC 7914) and OWASP's recommended choice after Argon2id; Python's hashlib has had it since 3.6
(on OpenSSL), so it costs no dependency, and a stored hash names its own parameters, so they can be raised later
without breaking stored hashes. n=2**14, r=8, p=1 takes ~30-60 ms per check: slow for a guesser, fine for a token
request. Only the hash is stored; a secret is printed once, when `app add` makes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_N, _R, _P = 2**14, 8, 1
_SALT_BYTES, _KEY_BYTES = 16, 32
_SCHEME = "scrypt"
MAX_SECRET_LENGTH = 256
"""Longer passwords and secrets are refused before hashing, so nobody makes the server hash megabytes."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=_KEY_BYTES)


def hash_secret(secret: str) -> str:
    """`scrypt$n$r$p$salt$key`, base64: what emulator_credential stores."""
    salt = secrets.token_bytes(_SALT_BYTES)
    return "$".join((_SCHEME, str(_N), str(_R), str(_P), _b64(salt), _b64(_derive(secret, salt, _N, _R, _P))))


def verify_secret(secret: str, stored: str) -> bool:
    """True when `secret` is the one `stored` was made from (constant-time comparison)."""
    if len(secret) > MAX_SECRET_LENGTH:
        return False
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != _SCHEME:
            return False
        expected = base64.b64decode(key)
        derived = _derive(secret, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(derived, expected)


def new_client_secret() -> str:
    """A client secret shaped like Entra's: 40 characters of letters, digits and `~._-`."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-"
    return "".join(secrets.choice(alphabet) for _ in range(40))
