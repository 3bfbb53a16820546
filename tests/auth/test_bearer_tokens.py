"""Entra-style bearer tokens: each failure is a 401 with WWW-Authenticate; roles decide 403 (wire-facts F)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import jwt
import orjson
import pytest

from tests.support.demo import ORG_URL
from tests.support.samples import fixture_bytes
from tests.support.tokens import bearer

URL = "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery"


def post(client, headers):
    return client.post(URL, content=fixture_bytes("000_voice_sample.json"), headers=headers)


def assert_unauthorized(response, code, fragment, settings):
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == (
        f"Bearer authorization_uri=https://127.0.0.1:8443/{settings.tenant}/oauth2/authorize, resource_id={ORG_URL}/"
    )
    assert response.headers["odata-version"] == "4.0"
    assert response.json()["error"]["code"] == code
    assert fragment in response.json()["error"]["message"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_valid_agent_token_is_accepted(client, tokens):
    assert post(client, bearer(tokens.for_user("agent"))).status_code == 200


def test_a_supervisor_is_accepted_too(client, tokens):
    assert post(client, bearer(tokens.for_user("supervisor"))).status_code == 200


def test_a_v2_token_is_accepted(client, tokens):
    assert post(client, bearer(tokens.for_user("agent", version=2))).status_code == 200


@pytest.mark.parametrize("audience", [ORG_URL + "/", ORG_URL.upper(), [ORG_URL, "api://other"]])
def test_the_audience_matches_with_or_without_trailing_slash_in_any_case(client, tokens, audience):
    claims = tokens.claims() | {"aud": audience}

    assert post(client, bearer(tokens.signed(claims))).status_code == 200


def test_a_missing_token_is_401_with_the_challenge(client, settings):
    response = post(client, {"Content-Type": "application/json"})

    assert_unauthorized(response, "0x8004A103", "no Authorization header", settings)


def test_a_non_bearer_scheme_is_401(client, settings):
    response = post(client, {"Authorization": "Basic YWdlbnQ6cGFzcw==", "Content-Type": "application/json"})

    assert_unauthorized(response, "0x8004A103", "Bearer", settings)


def test_an_expired_token_is_401_access_token_expired(client, tokens, settings):
    response = post(client, bearer(tokens.for_user("agent", expires_in=-600)))

    assert_unauthorized(response, "0x8005F101", "expired", settings)


def test_a_token_expired_within_the_five_minute_skew_is_still_accepted(client, tokens):
    assert post(client, bearer(tokens.for_user("agent", expires_in=-240))).status_code == 200


def test_a_token_not_yet_valid_is_401(client, tokens, settings):
    claims = tokens.claims() | {"nbf": tokens.claims()["nbf"] + 3600}

    assert_unauthorized(post(client, bearer(tokens.signed(claims))), "0x8004A103", "not yet valid", settings)


def test_a_token_from_a_foreign_tenant_is_401(client, tokens, settings):
    token = tokens.for_user("agent", tenant="11111111-1111-1111-1111-111111111111")

    assert_unauthorized(post(client, bearer(token)), "0x8004A103", "Issuer validation failed", settings)


def test_a_token_whose_tid_disagrees_with_its_issuer_is_401(client, tokens, settings):
    claims = tokens.claims() | {"tid": "11111111-1111-1111-1111-111111111111"}

    assert_unauthorized(post(client, bearer(tokens.signed(claims))), "0x8004A103", "tenant", settings)


def test_a_token_for_another_audience_is_401(client, tokens, settings):
    token = tokens.for_user("agent", audience="https://fabrikam.crm.dynamics.com")

    assert_unauthorized(post(client, bearer(token)), "0x8004A103", "Audience validation failed", settings)


def test_an_alg_none_token_is_401(client, tokens, settings):
    header = b64(orjson.dumps({"alg": "none", "typ": "JWT"}))
    token = f"{header}.{b64(orjson.dumps(tokens.claims()))}."

    assert_unauthorized(post(client, bearer(token)), "0x8004A103", "'none'", settings)


def test_an_hs256_token_signed_with_the_public_key_is_401(client, tokens, settings):
    key = tokens.keys.signing_key
    # Built by hand: PyJWT refuses to use a PEM key as an HMAC secret, which is the very attack.
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    signing_input = f"{b64(orjson.dumps(header))}.{b64(orjson.dumps(tokens.claims()))}"
    signature = hmac.new(key.public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(signature)}"

    assert_unauthorized(post(client, bearer(token)), "0x8004A103", "'HS256'", settings)


def test_a_tampered_payload_is_401_tampered(client, tokens, settings):
    header, _, signature = tokens.for_user("agent").split(".")
    forged = b64(orjson.dumps(tokens.claims("agent") | {"oid": "00000000-0000-0000-0000-000000000001"}))

    assert_unauthorized(post(client, bearer(f"{header}.{forged}.{signature}")), "0x8004A105", "signature", settings)


@pytest.mark.parametrize("stray", ["\t", "!", "=", "+"])
def test_a_genuine_token_with_a_stray_character_in_its_signature_is_401(client, tokens, settings, stray):
    """Segments must be canonical base64url: a lenient decoder would skip the stray character and accept."""
    header, payload, signature = tokens.for_user("agent").split(".")
    token = f"{header}.{payload}.{signature[:40]}{stray}{signature[40:]}"

    assert_unauthorized(post(client, bearer(token)), "0x8004A103", "not a well-formed JWT", settings)


def test_an_unknown_kid_is_401(client, tokens, settings):
    token = tokens.signed(tokens.claims(), kid="not-a-published-key")

    assert_unauthorized(post(client, bearer(token)), "0x8004A103", "kid", settings)


@pytest.mark.parametrize("garbage", ["abc", "a.b.c", "x" * 20000, "eyJhbGciOiJSUzI1NiJ9..."])
def test_garbage_and_oversized_tokens_are_401(client, settings, garbage):
    assert_unauthorized(post(client, bearer(garbage)), "0x8004A103", "", settings)


def test_a_token_without_oid_is_401(client, tokens, settings):
    claims = {k: v for k, v in tokens.claims().items() if k != "oid"}

    assert_unauthorized(post(client, bearer(tokens.signed(claims))), "0x8004A103", "oid", settings)


def test_a_user_without_an_omnichannel_role_is_403_privilege_denied(client, tokens):
    response = post(client, bearer(tokens.for_user("norole")))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "0x80040220"
    assert "Omnichannel agent or Omnichannel supervisor" in response.json()["error"]["message"]


def test_a_token_for_someone_who_is_not_a_user_of_the_org_is_403(client, tokens):
    response = post(client, bearer(tokens.for_user("stranger")))

    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "0x80072560",
        "message": "The user is not a member of the organization.",
    }


def test_authentication_comes_before_routing(client, settings):
    response = client.post("/api/data/v9.2/NoSuchAction", headers={"Content-Type": "application/json"})

    assert response.status_code == 401


def test_the_jwks_endpoint_publishes_the_key_tokens_are_signed_with(client, tokens, settings):
    jwks = client.get(f"/{settings.tenant}/discovery/v2.0/keys").json()
    token = tokens.for_user("agent")

    published = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(
        token,
        published,
        algorithms=["RS256"],
        audience=ORG_URL,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert claims["iss"] == f"https://sts.windows.net/{settings.tenant}/"
    assert jwks["keys"][0]["kid"] == jwt.get_unverified_header(token)["kid"]


def test_the_jwks_endpoint_refuses_other_tenants(client):
    assert client.get("/11111111-1111-1111-1111-111111111111/discovery/v2.0/keys").status_code == 400


def test_a_user_without_a_role_gets_403_whatever_the_parameters_say(client, tokens):
    response = client.post(URL, json={}, headers=bearer(tokens.for_user("norole")))

    assert response.status_code == 403


def test_malformed_json_is_400_even_for_a_user_without_a_role(client, tokens):
    response = client.post(
        URL, content=fixture_bytes("000_voice_sample_malformed.json"), headers=bearer(tokens.for_user("norole"))
    )

    assert response.status_code == 400
