"""Bearer tokens for the tests: minted as the emulator's authority would, or crafted for attack tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
import orjson

from ccaas_emulator.auth.keys import SigningKeys
from ccaas_emulator.auth.tokens import mint_token
from ccaas_emulator.settings import Settings
from tests.support.demo import DEMO_USERS


@dataclass
class Tokens:
    """Mints tokens as the emulator's authority would, or crafted ones for attack tests."""

    keys: SigningKeys
    settings: Settings
    now: datetime

    def for_user(self, user: str = "agent", **overrides: Any) -> str:
        return mint_token(
            self.keys,
            object_id=overrides.pop("object_id", DEMO_USERS.get(user, uuid.uuid4())),
            user_name=user,
            tenant=overrides.pop("tenant", self.settings.tenant),
            audience=overrides.pop("audience", self.settings.org_url),
            issued_at=overrides.pop("issued_at", self.now),
            expires_in=overrides.pop("expires_in", 3600),
            version=overrides.pop("version", 1),
        )

    def claims(self, user: str = "agent") -> dict[str, Any]:
        payload = jwt.api_jws.decode(self.for_user(user), options={"verify_signature": False})
        return orjson.loads(payload)

    def signed(self, claims: dict[str, Any], **header: Any) -> str:
        key = self.keys.signing_key
        return jwt.api_jws.encode(
            orjson.dumps(claims),
            key.private_key,
            headers={"kid": key.kid, **header},
            algorithm=header.pop("alg", "RS256"),
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
