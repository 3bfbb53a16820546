"""Tokens that look right in every claim but one are refused by a real `serve`, over its HTTPS listener (issue 15:
"a token from another emulator's key, another tenant or another audience is refused even when every claim looks
right"). tests/auth proves each case in process against the same verifier, with hand-made claims; here the tokens
come from where a user would get them: another emulator's authority, and `ccaas-emulator token` on this one's
database.
"""

from __future__ import annotations

import ssl
import uuid
from pathlib import Path

import httpx
import jwt
import pytest

from tests.support.servers import HttpsEmulator, start_server, stop

pytestmark = pytest.mark.slow  # two served emulators

DEMO_CLIENT_ID = "c0a5e000-de70-4000-8000-0000000dea00"  # the demo seed's application user (README)
DEMO_SECRET = "ccaas~demo~secret~not.for.production"
WHOAMI = "/api/data/v9.2/WhoAmI"
# Claims that differ between any two tokens, whoever issued them.
PER_TOKEN = {"iat", "nbf", "exp", "uti", "aio", "rh", "xms_ftd"}


def _app_token(authority: str, scope: str, verify: ssl.SSLContext | bool = True) -> str:
    form = {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_SECRET}
    issued = httpx.post(f"{authority}/oauth2/v2.0/token", data=form | {"scope": scope}, verify=verify)
    assert issued.status_code == 200, issued.text
    return str(issued.json()["access_token"])


def _claims(token: str) -> dict[str, object]:
    claims = jwt.decode(token, options={"verify_signature": False})
    return {name: value for name, value in claims.items() if name not in PER_TOKEN}


def _assert_refused(emulator: HttpsEmulator, token: str) -> None:
    response = httpx.get(
        emulator.origin + WHOAMI,
        headers={"Authorization": f"Bearer {token}"},
        verify=ssl.create_default_context(cafile=emulator.ca),
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"].startswith("0x"), response.text
    assert response.headers["www-authenticate"].startswith(f"Bearer authorization_uri={emulator.authority}/")


@pytest.mark.parametrize("database_for_server", ["sqlite"], indirect=True)  # the verifier has no back-end branch
def test_tokens_from_another_emulator_tenant_or_audience_are_refused(https_emulator: HttpsEmulator, tmp_path: Path):
    emulator = https_emulator
    trust = ssl.create_default_context(cafile=emulator.ca)
    own = _app_token(emulator.authority, f"{emulator.origin}/.default", trust)
    accepted = httpx.get(emulator.origin + WHOAMI, headers={"Authorization": f"Bearer {own}"}, verify=trust)
    assert accepted.status_code == 200, accepted.text

    # Another emulator (its own database, so its own signing key), configured with this one's org URL: its
    # authority issues the demo application's token with exactly this one's claims; only the signature differs.
    other_database = f"sqlite:///{tmp_path / 'other' / 'ccaas.db'}"
    other, process = start_server(other_database, CCAAS_ORG_URL=emulator.origin, CCAAS_TLS_PORT="0")
    try:
        foreign = _app_token(f"{other.base}/{emulator.tenant}", f"{emulator.origin}/.default")
    finally:
        stop(process)
    assert _claims(foreign) == _claims(own)
    assert jwt.get_unverified_header(foreign)["kid"] != jwt.get_unverified_header(own)["kid"]
    _assert_refused(emulator, foreign)

    # This emulator's own key, the demo agent, the audience it accepts, but another tenant.
    other_tenant = emulator.server.token(
        "--user", "agent", "--tenant", str(uuid.uuid4()), "--audience", emulator.origin
    )
    _assert_refused(emulator, other_tenant)

    # This emulator's own key and tenant, the demo agent, but an audience no server on this database answers on.
    elsewhere = emulator.server.token("--user", "agent", "--audience", "https://contoso.crm.dynamics.com")
    _assert_refused(emulator, elsewhere)
    control = emulator.server.token("--user", "agent", "--audience", emulator.origin)
    assert httpx.get(emulator.origin + WHOAMI, headers={"Authorization": f"Bearer {control}"}, verify=trust).is_success
