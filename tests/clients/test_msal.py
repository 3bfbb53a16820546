"""Microsoft's MSAL Python, unmodified, gets tokens from the emulator's authority over HTTPS and calls the voice
action with them: an application user (client credentials) and the demo agent (username and password)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import random
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import msal
import pytest
import requests
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ccaas_emulator.app import create_app
from ccaas_emulator.settings import Settings
from tests.support.node import require_node_project
from tests.support.samples import fixture_bytes

pytestmark = pytest.mark.slow

DEMO_CLIENT_ID = "c0a5e000-de70-4000-8000-0000000dea00"
DEMO_SECRET = "ccaas~demo~secret~not.for.production"
VOICE = "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery"
NODE_PROJECT = Path(__file__).parent / "node"


def _tls_files(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 (stand-in for `serve`'s TLS listener, issue 15 item 1:
    swap this one function for it when that merges)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ccaas-emulator test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _serve_https(database_url: str, tmp_path: Path, host: str, port: int) -> Iterator[tuple[str, str, Settings]]:
    """(origin, CA bundle path, settings) of the emulator served over HTTPS on host:port, in this process."""
    ca_path, cert_path, key_path = _tls_files(tmp_path, host)
    origin = f"https://{host}" if port == 443 else f"https://{host}:{port}"
    settings = Settings(database_url=database_url, org_url=origin, dialer="off", tls_port=port)
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        ssl_certfile=str(cert_path),
        ssl_keyfile=str(key_path),
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), f"the TLS server could not listen on {host}:{port}"
        assert time.monotonic() < deadline, "the TLS server did not start"
        time.sleep(0.05)
    try:
        yield origin, str(ca_path), settings
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def https_emulator(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str, Settings]]:
    """The emulator over HTTPS on 127.0.0.1 and a free port."""
    with _serve_https(database_url, tmp_path, "127.0.0.1", _free_port()) as served:
        yield served


@pytest.fixture
def https_emulator_on_443(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str, Settings]]:
    """The emulator over HTTPS on port 443 of a loopback address of its own (127.0.0.2-254), so parallel tests do not
    collide: MSAL Python asks user-realm discovery on port 443 of the authority's host whatever its port."""
    for _ in range(20):
        host = f"127.0.0.{random.randint(2, 254)}"
        with socket.socket() as probe:
            try:
                probe.bind((host, 443))
            except PermissionError:
                pytest.skip("binding port 443 needs privileges (MSAL's user-realm discovery asks port 443)")
            except OSError:
                continue
        break
    with _serve_https(database_url, tmp_path, host, 443) as served:
        yield served


def _trusting(ca: str) -> requests.Session:
    """An HTTP client for MSAL that trusts the test CA (as REQUESTS_CA_BUNDLE would)."""
    session = requests.Session()
    session.verify = ca
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment overrides `verify`
    return session


def _call_voice(origin: str, ca: str, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return httpx.post(
        origin + VOICE,
        content=fixture_bytes("000_voice_sample.json"),
        headers=headers,
        verify=ssl.create_default_context(cafile=ca),
    )


def test_msal_confidential_client_gets_a_token_and_calls_the_voice_action(https_emulator):
    origin, ca, settings = https_emulator
    app = msal.ConfidentialClientApplication(
        DEMO_CLIENT_ID,
        client_credential=DEMO_SECRET,
        authority=f"{origin}/{settings.tenant}",
        instance_discovery=False,
        http_client=_trusting(ca),
    )
    result = app.acquire_token_for_client(scopes=[f"{origin}/.default"])
    assert "access_token" in result, result
    response = _call_voice(origin, ca, result["access_token"])
    assert response.status_code == 200, response.text
    assert "DeliveryId" in response.json()
    # a wrong secret: MSAL hands back Entra's error as it received it
    wrong = msal.ConfidentialClientApplication(
        DEMO_CLIENT_ID,
        client_credential="wrong",
        authority=f"{origin}/{settings.tenant}",
        instance_discovery=False,
        http_client=_trusting(ca),
    ).acquire_token_for_client(scopes=[f"{origin}/.default"])
    assert wrong["error"] == "invalid_client" and wrong["error_codes"] == [7000215]


# MSAL warns that Microsoft deprecates the password grant for public clients; it still works against Entra, and here.
@pytest.mark.filterwarnings("ignore:This API has been deprecated for public client flows:DeprecationWarning")
def test_msal_public_client_password_grant_calls_as_the_demo_agent(https_emulator_on_443):
    origin, ca, settings = https_emulator_on_443
    app = msal.PublicClientApplication(
        "51f81489-12ee-4a9e-aaae-a2591f45987d",
        authority=f"{origin}/{settings.tenant}",
        instance_discovery=False,
        http_client=_trusting(ca),
    )
    result = app.acquire_token_by_username_password(
        "agent", "ccaas-demo-password", scopes=[f"{origin}/user_impersonation"]
    )
    assert "access_token" in result, result
    response = _call_voice(origin, ca, result["access_token"])
    assert response.status_code == 200, response.text
    who = httpx.get(
        origin + "/api/data/v9.2/WhoAmI",
        headers={"Authorization": f"Bearer {result['access_token']}"},
        verify=ssl.create_default_context(cafile=ca),
    )
    assert who.status_code == 200
    # the account MSAL cached gives a token silently (from its cache or through the refresh token)
    accounts = app.get_accounts()
    assert accounts, "MSAL kept no account: the answer lacked id_token/client_info"
    silent = app.acquire_token_silent([f"{origin}/user_impersonation"], account=accounts[0], force_refresh=True)
    assert silent is not None and "access_token" in silent, silent


def test_msal_node_gets_both_tokens_and_calls_the_voice_action(https_emulator):
    """@azure/msal-node (pinned in tests/clients/node/package.json) does the same from Node: no user-realm
    discovery there, so the free-port server serves it."""
    node = require_node_project(NODE_PROJECT, what="@azure/msal-node")
    origin, ca, settings = https_emulator
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
    env |= {
        "NODE_EXTRA_CA_CERTS": ca,
        "CCAAS_SERVER_URL": origin,
        "CCAAS_TENANT_ID": settings.tenant,
        "CCAAS_CLIENT_ID": DEMO_CLIENT_ID,
        "CCAAS_CLIENT_SECRET": DEMO_SECRET,
        "CCAAS_DEMO_PASSWORD": "ccaas-demo-password",
        "CCAAS_FIXTURES": str(Path(__file__).parents[1] / "fixtures"),
    }
    result = subprocess.run(
        [node, "msal_client.mjs"], cwd=NODE_PROJECT, env=env, capture_output=True, text=True, timeout=90, check=False
    )
    assert result.returncode == 0, f"msal_client.mjs failed:\n{result.stdout}\n{result.stderr}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["app"]["voice"]["status"] == 200, report
    assert "DeliveryId" in report["app"]["voice"]["body"]
    assert report["agent"]["voice"]["status"] == 200, report
    assert report["app"]["whoAmI"]["body"]["UserId"] != report["agent"]["whoAmI"]["body"]["UserId"]
    assert report["wrongSecret"]["errorCode"] == "invalid_client", report
