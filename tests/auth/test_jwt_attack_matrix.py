"""The JWT attack matrix: every forged, stale or foreign token is a 401 with the challenge, on every route.

test_bearer_tokens.py checks each failure's message on one action; this matrix sends every attack the issue
lists (and a few neighbours) to both actions and to the Web API: a GET of msdyn_proactive_deliveries, a GET of
one delivery, $metadata, $batch and a configuration write. Each answer must be 401, carry WWW-Authenticate
and the Dataverse envelope with the code Dataverse gives for that failure, and nothing may be written.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ccaas_emulator.auth.tokens import MAX_TOKEN_LENGTH
from ccaas_emulator.clock import FixedClock, real_now
from ccaas_emulator.db.models import EngagementConfig, ProactiveDelivery
from ccaas_emulator.settings import Settings
from tests.support.apps import create_test_app
from tests.support.database import reset_database
from tests.support.demo import NOW, ORG_URL
from tests.support.samples import fixture_bytes
from tests.support.tokens import Tokens

FOREIGN_TENANT = "11111111-1111-1111-1111-111111111111"
INVALID, EXPIRED, TAMPERED = "0x8004A103", "0x8005F101", "0x8004A105"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(orjson.dumps(header))}.{b64(orjson.dumps(claims))}.{b64(signature)}"


def hs256_with_public_key(tokens: Tokens, claims: dict[str, Any]) -> str:
    """The classic key confusion: HMAC-SHA256 keyed with the RSA public key the JWKS publishes."""
    key = tokens.keys.signing_key
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    signing_input = f"{b64(orjson.dumps(header))}.{b64(orjson.dumps(claims))}"
    signature = hmac.new(key.public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def signed_by_a_stranger(tokens: Tokens, claims: dict[str, Any]) -> str:
    """RS256 and the published kid, but signed with a key the organization never published."""
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.api_jws.encode(
        orjson.dumps(claims), stranger, headers={"kid": tokens.keys.signing_key.kid}, algorithm="RS256"
    )


def tampered(genuine: str, **changes: Any) -> str:
    header, payload, signature = genuine.split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{header}.{b64(orjson.dumps(claims | changes))}.{signature}"


def oversized(tokens: Tokens, claims: dict[str, Any]) -> str:
    """Well-formed and validly signed, but longer than any token Entra issues."""
    return tokens.signed(claims | {"pad": "x" * MAX_TOKEN_LENGTH})


Maker = Callable[[Tokens, dict[str, Any], str], str | None]
"""(tokens, the claims of a genuine agent token, that token) -> the token to send (None: no header)."""

ATTACKS: dict[str, tuple[Maker, str]] = {
    # the list
    "alg none": (lambda t, c, g: unsigned({"alg": "none", "typ": "JWT"}, c), INVALID),
    "alg None with the kid": (lambda t, c, g: unsigned({"alg": "None", "kid": t.keys.signing_key.kid}, c), INVALID),
    "HS256 with the public key": (lambda t, c, g: hs256_with_public_key(t, c), INVALID),
    "expired": (lambda t, c, g: t.for_user("agent", expires_in=-600), EXPIRED),
    "expired long ago": (lambda t, c, g: t.for_user("agent", issued_at=t.now - timedelta(days=400)), EXPIRED),
    "not yet valid": (lambda t, c, g: t.signed(c | {"nbf": c["nbf"] + 3600}), INVALID),
    "foreign tenant": (lambda t, c, g: t.for_user("agent", tenant=FOREIGN_TENANT), INVALID),
    "foreign tenant v2": (lambda t, c, g: t.for_user("agent", tenant=FOREIGN_TENANT, version=2), INVALID),
    "tid of a foreign tenant": (lambda t, c, g: t.signed(c | {"tid": FOREIGN_TENANT}), INVALID),
    "wrong audience": (lambda t, c, g: t.for_user("agent", audience="https://fabrikam.crm.dynamics.com"), INVALID),
    "audience as a prefix": (lambda t, c, g: t.for_user("agent", audience=ORG_URL + ".evil.example"), INVALID),
    "tampered payload": (lambda t, c, g: tampered(g, oid="00000000-0000-0000-0000-000000000001"), TAMPERED),
    "tampered expiry": (lambda t, c, g: tampered(g, exp=c["exp"] + 10**8), TAMPERED),
    "signature stripped": (lambda t, c, g: g.rsplit(".", 1)[0] + ".", TAMPERED),
    "signed by another key under the published kid": (lambda t, c, g: signed_by_a_stranger(t, c), TAMPERED),
    "unknown kid": (lambda t, c, g: t.signed(c, kid="not-a-published-key"), INVALID),
    "no kid": (lambda t, c, g: unsigned({"alg": "RS256", "typ": "JWT"}, c, b"sig"), INVALID),
    "oversized token": (lambda t, c, g: oversized(t, c), INVALID),
    "oversized garbage": (lambda t, c, g: "x" * 200_000, INVALID),
    # neighbours
    "no token": (lambda t, c, g: None, INVALID),
    "empty bearer": (lambda t, c, g: "", INVALID),
    "garbage": (lambda t, c, g: "a.b.c", INVALID),
    "no oid": (lambda t, c, g: t.signed({k: v for k, v in c.items() if k != "oid"}), INVALID),
    "no exp": (lambda t, c, g: t.signed({k: v for k, v in c.items() if k != "exp"}), INVALID),
    "exp as a string": (lambda t, c, g: t.signed(c | {"exp": str(c["exp"])}), INVALID),
    "payload not an object": (
        lambda t, c, g: jwt.api_jws.encode(b"[1]", t.keys.signing_key.private_key, algorithm="RS256",
                                           headers={"kid": t.keys.signing_key.kid}),
        INVALID,
    ),
}  # fmt: skip

BATCH_BODY = (
    "--batch_AAA123\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    "GET msdyn_proactive_deliveries?$top=1 HTTP/1.1\r\nAccept: application/json\r\n\r\n\r\n--batch_AAA123--\r\n"
)
JSON = {"Content-Type": "application/json"}
DELIVERY = "00000000-0000-4000-8000-000000000001"
TARGETS: dict[str, tuple[str, str, dict[str, str], bytes | None]] = {
    "voice action": ("POST", "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery", JSON,
                     fixture_bytes("000_voice_sample.json")),
    "chained action": ("POST", "/api/data/v9.2/CCaaS_CreateProactiveDelivery", JSON,
                       fixture_bytes("001_voice_sample.json")),
    "GET deliveries": ("GET", "/api/data/v9.2/msdyn_proactive_deliveries?$select=msdyn_status&$top=5", {}, None),
    "GET one delivery": ("GET", f"/api/data/v9.2/msdyn_proactive_deliveries({DELIVERY})", {}, None),
    "$metadata": ("GET", "/api/data/v9.2/$metadata", {}, None),
    "$batch": ("POST", "/api/data/v9.2/$batch", {"Content-Type": "multipart/mixed; boundary=batch_AAA123"},
               BATCH_BODY.encode()),
    "configuration write": ("POST", "/api/data/v9.2/msdyn_proactive_engagement_configs", JSON,
                            orjson.dumps({"msdyn_name": "forged"})),
}  # fmt: skip


@pytest.fixture(scope="module")
def matrix(session_database_url: str, session_database: Any) -> Iterator[tuple[TestClient, Tokens, Settings]]:
    """One emulator per back end for the whole matrix: every request in it is refused, so none writes."""
    reset_database(session_database)
    settings = Settings(database_url=session_database_url, org_url=ORG_URL, demo_seed=True)
    app = create_test_app(settings, clock=FixedClock(NOW), database=session_database)
    with TestClient(app, base_url=ORG_URL, raise_server_exceptions=False) as client:
        yield client, Tokens(app.state.runtime.keys, settings, real_now()), settings


@pytest.fixture(scope="module")
def forged(matrix: Any) -> dict[str, str | None]:
    """Each attack's token, made once per back end (RSA signatures are slow), for every route to refuse."""
    _, tokens, _ = matrix
    genuine = tokens.for_user("agent")
    claims = orjson.loads(jwt.api_jws.decode(genuine, options={"verify_signature": False}))
    return {attack: make(tokens, claims, genuine) for attack, (make, _) in ATTACKS.items()}


def rows(database: Any) -> tuple[int, int]:
    with database.transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(ProactiveDelivery)),
            session.scalar(select(func.count()).select_from(EngagementConfig)),
        )


def send(client: TestClient, target: str, token: str | None) -> Any:
    method, url, headers, body = TARGETS[target]
    if token is not None:
        headers = headers | {"Authorization": f"Bearer {token}"}
    return client.request(method, url, headers=headers, content=body)


@pytest.mark.parametrize("attack", ATTACKS)
def test_every_attack_is_401_with_the_challenge_on_every_route(matrix, forged, session_database, attack):
    client, _, settings = matrix
    code = ATTACKS[attack][1]
    before = rows(session_database)

    for target in TARGETS:  # one test per attack: the routes share it (pytest items are not free)
        response = send(client, target, forged[attack])

        where = f"{attack} on {target}"
        assert response.status_code == 401, f"{where}: {response.status_code} {response.text[:300]}"
        assert response.headers["www-authenticate"] == (
            f"Bearer authorization_uri=https://127.0.0.1:8443/{settings.tenant}/oauth2/authorize, "
            f"resource_id={ORG_URL}/"
        ), where
        assert response.headers["content-type"].startswith("application/json"), where
        assert response.json() == {"error": {"code": code, "message": response.json()["error"]["message"]}}, where
        message = response.json()["error"]["message"]
        assert message.startswith(("The user is not authenticated", "The requested", "The authentication")), where
    assert rows(session_database) == before


@pytest.mark.parametrize("target", TARGETS)
def test_the_same_requests_with_a_genuine_token_get_past_authentication(matrix, target):
    """The matrix's control: what is refused above is the token, not the request."""
    client, tokens, _ = matrix
    response = send(client, target, tokens.for_user("admin" if target == "configuration write" else "agent"))

    assert response.status_code in (200, 201, 204, 404), f"{target}: {response.status_code} {response.text[:300]}"


def test_a_token_refused_once_is_refused_again_and_a_good_one_is_not_poisoned(matrix):
    """The verifier caches signatures it checked: a forged token must never land in that cache."""
    client, tokens, _ = matrix
    genuine = tokens.for_user("agent")
    forged = tampered(genuine, oid=str(uuid.uuid4()))
    for _ in range(3):
        assert send(client, "GET deliveries", forged).status_code == 401
    assert send(client, "GET deliveries", genuine).status_code == 200
    assert send(client, "GET deliveries", forged).status_code == 401
