"""Generated tokens against the verifier: whatever the header, claims and signature hold, the answer is a
Dataverse 401 error (or a verified token), never another exception that the app would turn into a 500.

The verifier is called directly (no HTTP, no database), so thousands of tokens cost a few seconds; the
HTTP path around it is covered by test_jwt_attack_matrix.py.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccaas_emulator.auth.keys import LoadedKey, SigningKeys, _generate
from ccaas_emulator.auth.tokens import TokenVerifier, issuer_v1, issuer_v2
from ccaas_emulator.wire.errors import DataverseError

LONG = os.environ.get("CCAAS_FUZZ") == "long"
TENANT = "72f988bf-0000-4000-8000-00000000ccaa"
ORG = "https://contoso.crm.dynamics.com"
NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
KEYS = SigningKeys([LoadedKey.from_private_pem(*_generate())])
COMMON = settings(
    max_examples=20000 if LONG else 500,
    deadline=None,
    derandomize=not LONG,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
genuine_claims = {
    "aud": ORG, "iss": issuer_v1(TENANT), "tid": TENANT, "iat": int(NOW.timestamp()), "nbf": int(NOW.timestamp()),
    "exp": int(NOW.timestamp()) + 3600, "oid": "0a9e17d4-0000-4000-8000-0000000a9e17",
}  # fmt: skip
claim_sets = st.one_of(
    st.dictionaries(st.sampled_from([*genuine_claims, "x"]), json_values, max_size=8),
    st.builds(lambda name, value: genuine_claims | {name: value}, st.sampled_from(list(genuine_claims)), json_values),
    json_values,
)
headers = st.one_of(
    st.fixed_dictionaries({"alg": st.sampled_from(["RS256", "none", "HS256", "ES256"]) | json_values},
                          optional={"kid": st.just(KEYS.signing_key.kid) | json_values, "typ": json_values}),
    json_values,
)  # fmt: skip


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits: the stdlib writes them
        return json.dumps(value).encode()


def encode(value: Any) -> str:
    return b64(dumps(value))


PRIVATE = serialization.load_pem_private_key(KEYS.signing_key.private_pem.encode(), password=None)


def rs256(payload: bytes) -> str:
    """A genuine RS256 token (signed here with the key loaded once: parsing a private PEM costs ~50 ms)."""
    signing_input = f"{encode({'alg': 'RS256', 'typ': 'JWT', 'kid': KEYS.signing_key.kid})}.{b64(payload)}"
    return f"{signing_input}.{b64(PRIVATE.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))}"


@st.composite
def tokens(draw: Any) -> str:
    kind = draw(st.sampled_from(["crafted", "signed", "segments"]))
    if kind == "signed":  # a genuine signature over generated claims
        claims = draw(claim_sets)
        return rs256(dumps(claims))
    if kind == "crafted":  # any header, any claims, any signature bytes
        return f"{encode(draw(headers))}.{encode(draw(claim_sets))}.{b64(draw(st.binary(max_size=300)))}"
    alphabet = st.sampled_from("ABCxyz019-_=.+/ \t%é")  # base64url, its neighbours and separators
    return draw(st.text(alphabet, min_size=1, max_size=120))


@pytest.fixture(scope="module")
def verifier() -> TokenVerifier:
    return TokenVerifier(KEYS, org_url=ORG, tenant=TENANT, skew_seconds=300)


@COMMON
@given(token=tokens())
def test_any_token_is_verified_or_refused_with_a_401(verifier, fuzz_tally, token):
    try:
        verified = verifier.verify(token, now=NOW)
    except DataverseError as error:
        fuzz_tally.token(verified=False)
        assert error.status == 401, (token, error.message)
        assert error.code in {"0x8004A103", "0x8005F101", "0x8004A105"}
    else:  # only a genuine signature over claims that pass every check (tid may be absent: iss names the tenant)
        fuzz_tally.token(verified=True)
        assert verified.claims["iss"].lower() in {issuer_v1(TENANT), issuer_v2(TENANT)}
        assert verified.claims.get("tid") is None or str(verified.claims["tid"]).lower() == TENANT


def test_the_generator_can_make_a_token_that_verifies(verifier):
    token = rs256(orjson.dumps(genuine_claims))

    assert str(verifier.verify(token, now=NOW).object_id) == genuine_claims["oid"]
