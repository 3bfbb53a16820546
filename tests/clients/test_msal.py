"""Microsoft's MSAL Python and @azure/msal-node, unmodified, get tokens from the authority of a real
`ccaas-emulator serve` over its own HTTPS listener (its own CA, found with `ccaas-emulator ca`) and call the voice
action with them: application users (client credentials) and the demo agent (username and password)."""

from __future__ import annotations

import json
import os
import random
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import msal
import pytest
import requests
from sqlalchemy import select

from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import SystemUser
from ccaas_emulator.db.transaction import Database
from tests.support.node import require_node_project
from tests.support.samples import fixture_bytes
from tests.support.servers import HttpsEmulator, run_cli, start_server, stop, stored_rows

pytestmark = pytest.mark.slow  # a served emulator per test, and the real clients

DEMO_CLIENT_ID = "c0a5e000-de70-4000-8000-0000000dea00"  # the demo seed's application user (README)
DEMO_SECRET = "ccaas~demo~secret~not.for.production"
DEMO_PASSWORD = "ccaas-demo-password"
PUBLIC_CLIENT_ID = "51f81489-12ee-4a9e-aaae-a2591f45987d"  # Microsoft's sample public client (docs/authority.md)
VOICE = "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery"
NODE_PROJECT = Path(__file__).parent / "node"


@pytest.fixture
def https_emulator_on_443(database_for_server: str) -> Iterator[HttpsEmulator]:
    """`serve` with HTTPS on port 443 of a loopback address of its own (127.0.0.2-254, so parallel tests do not
    collide): MSAL Python asks user-realm discovery on port 443 of the authority's host, whatever its port."""
    for _ in range(20):
        host = f"127.0.0.{random.randint(2, 254)}"
        with socket.socket() as probe:
            try:
                probe.bind((host, 443))
            except PermissionError:
                reason = "binding port 443 was refused (root or CAP_NET_BIND_SERVICE needed)"
                pytest.skip(f"{reason}: MSAL Python's password grant asks user-realm discovery on port 443")
            except OSError:
                continue
        break
    else:
        pytest.fail("no loopback address had port 443 free")
    server, process = start_server(database_for_server, CCAAS_HOST=host, CCAAS_TLS_PORT="443")
    try:
        yield HttpsEmulator(server=server, database_url=database_for_server, ca=server.ca_bundle())
    finally:
        stop(process)


def _trusting(ca: str) -> requests.Session:
    """MSAL's HTTP client, trusting the emulator's CA (as REQUESTS_CA_BUNDLE would)."""
    session = requests.Session()
    session.verify = ca
    session.trust_env = False  # else a REQUESTS_CA_BUNDLE from the environment overrides `verify`
    return session


def _call_voice(emulator: HttpsEmulator, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return httpx.post(
        emulator.origin + VOICE,
        content=fixture_bytes("000_voice_sample.json"),
        headers=headers,
        verify=ssl.create_default_context(cafile=emulator.ca),
    )


def _who_am_i(emulator: HttpsEmulator, token: str) -> dict[str, str]:
    response = httpx.get(
        emulator.origin + "/api/data/v9.2/WhoAmI",
        headers={"Authorization": f"Bearer {token}"},
        verify=ssl.create_default_context(cafile=emulator.ca),
    )
    assert response.status_code == 200, response.text
    return response.json()


def _user_id(database_url: str, user_name: str) -> str:
    database = Database(make_engine(database_url))
    try:
        with database.read() as session:
            return str(session.scalars(select(SystemUser.id).where(SystemUser.user_name == user_name)).one())
    finally:
        database.dispose()


def _assert_stored_by(emulator: HttpsEmulator, response: httpx.Response, user_name: str) -> None:
    """The voice action answered 200 and its delivery is a row, written as `user_name`."""
    assert response.status_code == 200, response.text
    delivery = stored_rows(emulator.database_url)["deliveries"][response.json()["DeliveryId"]]
    assert delivery["to"] == "+123456798"  # 000_voice_sample.json's number
    assert delivery["created_by"] == _user_id(emulator.database_url, user_name)


def test_msal_confidential_client_gets_a_token_and_calls_the_voice_action(https_emulator):
    emulator = https_emulator
    scope = f"{emulator.origin}/.default"
    printed = run_cli(emulator.server.env, "ca")  # where the README sends users for the CA file
    assert printed.returncode == 0 and printed.stdout.strip() == emulator.ca, printed.stderr
    app = msal.ConfidentialClientApplication(
        DEMO_CLIENT_ID,
        client_credential=DEMO_SECRET,
        authority=emulator.authority,
        instance_discovery=False,
        http_client=_trusting(emulator.ca),
    )
    result = app.acquire_token_for_client(scopes=[scope])
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    _assert_stored_by(emulator, _call_voice(emulator, result["access_token"]), "ccaas-demo-app")

    # An application registered with `ccaas-emulator app add`: the JSON it prints is MSAL's configuration as is.
    added = run_cli(emulator.server.env, "app", "add", "msal-sync", "--role", "Omnichannel supervisor")
    assert added.returncode == 0, added.stderr
    registered = json.loads(added.stdout)
    assert registered["authority"] == emulator.authority
    own = msal.ConfidentialClientApplication(
        registered["clientId"],
        client_credential=registered["clientSecret"],
        authority=registered["authority"],
        instance_discovery=False,
        http_client=_trusting(emulator.ca),
    ).acquire_token_for_client(scopes=[registered["scope"]])
    assert "access_token" in own, own
    _assert_stored_by(emulator, _call_voice(emulator, own["access_token"]), "msal-sync")

    # A wrong secret: MSAL hands back Entra's error as it received it.
    wrong = msal.ConfidentialClientApplication(
        DEMO_CLIENT_ID,
        client_credential="wrong",
        authority=emulator.authority,
        instance_discovery=False,
        http_client=_trusting(emulator.ca),
    ).acquire_token_for_client(scopes=[scope])
    assert wrong["error"] == "invalid_client" and wrong["error_codes"] == [7000215], wrong


# MSAL warns that Microsoft deprecates the password grant for public clients; it still works against Entra, and here.
@pytest.mark.filterwarnings("ignore:This API has been deprecated for public client flows:DeprecationWarning")
def test_msal_public_client_password_grant_calls_as_the_demo_agent(https_emulator_on_443):
    emulator = https_emulator_on_443
    assert emulator.origin.startswith("https://127.0.0.") and ":" not in emulator.origin.removeprefix("https://")
    scopes = [f"{emulator.origin}/user_impersonation"]
    app = msal.PublicClientApplication(
        PUBLIC_CLIENT_ID, authority=emulator.authority, instance_discovery=False, http_client=_trusting(emulator.ca)
    )
    result = app.acquire_token_by_username_password("agent", DEMO_PASSWORD, scopes=scopes)
    assert "access_token" in result, result
    _assert_stored_by(emulator, _call_voice(emulator, result["access_token"]), "agent")
    assert _who_am_i(emulator, result["access_token"])["UserId"] == _user_id(emulator.database_url, "agent")
    # The account MSAL cached gives a token silently, through the refresh token.
    accounts = app.get_accounts()
    assert [account["username"] for account in accounts] == ["agent"], accounts
    silent = app.acquire_token_silent(scopes, account=accounts[0], force_refresh=True)
    assert silent is not None and "access_token" in silent, silent
    assert silent["access_token"] != result["access_token"]
    # A wrong password is Entra's invalid_grant, AADSTS50126.
    wrong = app.acquire_token_by_username_password("agent", "not-the-password", scopes=scopes)
    assert wrong["error"] == "invalid_grant" and wrong["error_codes"] == [50126], wrong


@pytest.mark.parametrize("database_for_server", ["sqlite"], indirect=True)
@pytest.mark.filterwarnings("ignore:This API has been deprecated for public client flows:DeprecationWarning")
def test_msal_python_password_grant_needs_port_443(https_emulator):
    """Why the test above serves 443: on any other port MSAL Python's user-realm request finds no listener
    (docs/authority.md). If MSAL ever stops asking it, this fails and the docs' warning can go."""
    emulator = https_emulator
    with socket.socket() as probe:
        try:
            probe.connect(("127.0.0.1", 443))
            pytest.skip("something listens on 127.0.0.1:443 here")
        except OSError:
            pass
    app = msal.PublicClientApplication(
        PUBLIC_CLIENT_ID, authority=emulator.authority, instance_discovery=False, http_client=_trusting(emulator.ca)
    )
    with pytest.raises(requests.exceptions.ConnectionError, match="port=443"):
        app.acquire_token_by_username_password("agent", DEMO_PASSWORD, scopes=[f"{emulator.origin}/user_impersonation"])


def test_msal_node_gets_both_tokens_and_calls_the_voice_action(https_emulator):
    """@azure/msal-node (pinned in tests/clients/node/package.json) does the same from Node, trusting the CA through
    NODE_EXTRA_CA_CERTS: no user-realm discovery there, so any port serves it."""
    node = require_node_project(NODE_PROJECT, what="@azure/msal-node")
    emulator = https_emulator
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
    env |= {
        "NODE_EXTRA_CA_CERTS": emulator.ca,
        "CCAAS_SERVER_URL": emulator.origin,
        "CCAAS_TENANT_ID": emulator.tenant,
        "CCAAS_CLIENT_ID": DEMO_CLIENT_ID,
        "CCAAS_CLIENT_SECRET": DEMO_SECRET,
        "CCAAS_DEMO_PASSWORD": DEMO_PASSWORD,
        "CCAAS_FIXTURES": str(Path(__file__).parents[1] / "fixtures"),
    }
    result = subprocess.run(
        [node, "msal_client.mjs"], cwd=NODE_PROJECT, env=env, capture_output=True, text=True, timeout=90, check=False
    )
    assert result.returncode == 0, f"msal_client.mjs failed:\n{result.stdout}\n{result.stderr}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    rows = stored_rows(emulator.database_url)["deliveries"]
    app_user, agent = _user_id(emulator.database_url, "ccaas-demo-app"), _user_id(emulator.database_url, "agent")
    for who, user_id in (("app", app_user), ("agent", agent)):
        assert report[who]["voice"]["status"] == 200, report
        assert rows[report[who]["voice"]["body"]["DeliveryId"]]["created_by"] == user_id
        assert report[who]["whoAmI"]["body"]["UserId"] == user_id
    assert report["wrongSecret"]["errorCode"] == "invalid_client", report
