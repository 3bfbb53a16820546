"""A validly signed token is still refused when its time claims are not numbers or its header lists `crit`.

RFC 7519 §2 makes `exp`, `nbf` and `iat` NumericDates (JSON numbers); RFC 7515 §4.1.11 says a recipient
that does not understand an extension listed in `crit` must refuse the token. Entra never issues either
shape, so each is the token-invalid 401 (0x8004A103) other malformed claims get (wire-facts F).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.demo import ORG_URL
from tests.support.tokens import bearer

URL = "/api/data/v9.2/msdyn_proactive_deliveries?$select=msdyn_status&$top=1"
INVALID = "0x8004A103"


def get(client: Any, token: str) -> Any:
    return client.get(URL, headers=bearer(token))


def assert_token_invalid(response: Any, fragment: str, tenant: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == (
        f"Bearer authorization_uri=https://127.0.0.1:8443/{tenant}/oauth2/authorize, resource_id={ORG_URL}/"
    )
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body == {"error": {"code": INVALID, "message": body["error"]["message"]}}
    assert body["error"]["message"].startswith("The user is not authenticated: ")
    assert fragment in body["error"]["message"]


@pytest.mark.parametrize("claim", ["nbf", "iat", "exp"])
@pytest.mark.parametrize("kind", ["digits", "null", "true", "list"])
def test_a_time_claim_that_is_not_a_number_refuses_the_token(client, tokens, settings, claim, kind):
    claims = tokens.claims()
    value = {"digits": str(claims[claim]), "null": None, "true": True, "list": [claims[claim]]}[kind]

    response = get(client, tokens.signed(claims | {claim: value}))

    assert_token_invalid(response, f"({claim})", settings.tenant)


def test_a_token_without_nbf_or_iat_is_still_accepted(client, tokens):
    """Both are optional in JWT; only a present claim of the wrong type is refused."""
    claims = {name: value for name, value in tokens.claims().items() if name not in ("nbf", "iat")}

    assert get(client, tokens.signed(claims)).status_code == 200


@pytest.mark.parametrize(
    "crit",
    [["urn:example:must-understand"], ["b64"], [], "urn:example:must-understand", [7]],
    ids=["unknown", "b64", "empty", "not a list", "not strings"],
)
def test_a_crit_header_refuses_the_token(client, tokens, settings, crit):
    header: dict[str, Any] = {"crit": crit, "urn:example:must-understand": True}
    if crit == ["b64"]:
        header["b64"] = True  # RFC 7797 with the payload still encoded: PyJWT alone would accept it

    response = get(client, tokens.signed(tokens.claims(), **header))

    assert_token_invalid(response, "(crit)", settings.tenant)


def test_the_genuine_token_of_the_same_shape_is_accepted(client, tokens):
    """The control: what the tests above refuse is the claim or header, not the token."""
    assert get(client, tokens.signed(tokens.claims())).status_code == 200
