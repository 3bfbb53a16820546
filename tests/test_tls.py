"""HTTPS (issue 15, item 1): a local CA and a server certificate kept with the data, and `serve` on both ports.

The CA and the server certificate are generated with `cryptography` on first start and stored in the database,
so every process sharing it (and a restart) serves the same CA; `ccaas-emulator ca` writes the CA next to the data
and prints its path for REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS and SSL_CERT_FILE.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from ccaas_emulator.clock import FixedClock
from ccaas_emulator.settings import Settings
from ccaas_emulator.tls import (
    RENEW_BEFORE,
    SERVER_LIFETIME,
    ca_bundle_path,
    ensure_ca,
    ensure_tls,
    server_host_names,
)
from tests.support.demo import NOW
from tests.support.servers import database_for_server, free_port, start_server, stop
from tests.support.tokens import bearer

__all__ = ["database_for_server"]  # a fixture, parametrized over tests.conftest.BACKENDS

NAMES = ("127.0.0.1", "::1", "localhost")
DELIVERIES = "/api/data/v9.2/msdyn_proactive_deliveries"


def certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def alternative_names(pem: str) -> set[str]:
    names = certificate(pem).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(name) for name in names.get_values_for_type(x509.DNSName)} | {
        str(address) for address in names.get_values_for_type(x509.IPAddress)
    }


def test_the_first_start_makes_a_ca_and_a_server_certificate_for_the_names(database):
    bundle = ensure_tls(database, FixedClock(NOW), NAMES)

    ca, server = certificate(bundle.ca_pem), certificate(bundle.server_certificate_pem)
    server.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert alternative_names(bundle.server_certificate_pem) == set(NAMES)
    assert server.not_valid_after_utc == NOW + SERVER_LIFETIME
    assert bundle.server_context().verify_mode == ssl.CERT_NONE  # a server context: it loads the chain and key


def test_a_second_start_serves_the_same_certificates(database):
    first = ensure_tls(database, FixedClock(NOW), NAMES)
    second = ensure_tls(database, FixedClock(NOW + timedelta(days=1)), NAMES)

    assert second == first


def test_new_host_names_renew_the_server_certificate_under_the_same_ca(database):
    first = ensure_tls(database, FixedClock(NOW), NAMES)
    renamed = ensure_tls(database, FixedClock(NOW), (*NAMES, "ccaas.internal"))

    assert renamed.ca_pem == first.ca_pem
    assert renamed.server_certificate_pem != first.server_certificate_pem
    assert "ccaas.internal" in alternative_names(renamed.server_certificate_pem)
    certificate(renamed.server_certificate_pem).verify_directly_issued_by(certificate(first.ca_pem))


def test_printing_the_ca_leaves_the_running_servers_certificate_alone(database):
    served = ensure_tls(database, FixedClock(NOW), (*NAMES, "ccaas.internal"))

    assert ensure_ca(database, FixedClock(NOW)) == served.ca_pem
    assert ensure_tls(database, FixedClock(NOW), (*NAMES, "ccaas.internal")) == served


def test_a_server_certificate_near_its_expiry_is_renewed(database):
    first = ensure_tls(database, FixedClock(NOW), NAMES)
    still = ensure_tls(database, FixedClock(NOW + SERVER_LIFETIME - RENEW_BEFORE - timedelta(days=1)), NAMES)
    later = NOW + SERVER_LIFETIME - RENEW_BEFORE + timedelta(days=1)
    renewed = ensure_tls(database, FixedClock(later), NAMES)

    assert still == first
    assert renewed.ca_pem == first.ca_pem
    assert certificate(renewed.server_certificate_pem).not_valid_after_utc == later + SERVER_LIFETIME


def test_the_certificate_names_loopback_the_configured_host_and_the_org_urls_host():
    settings = Settings(host="10.0.0.7", org_url="https://Contoso.crm.dynamics.com")

    assert server_host_names(settings) == ("10.0.0.7", "127.0.0.1", "::1", "contoso.crm.dynamics.com", "localhost")
    assert server_host_names(Settings(host="0.0.0.0", org_url="http://localhost:8000")) == NAMES


def test_the_ca_bundle_lies_next_to_a_sqlite_database_and_under_var_for_postgresql(tmp_path):
    sqlite = Settings(database_url=f"sqlite:///{tmp_path / 'data' / 'ccaas.db'}")
    postgres = Settings(database_url="postgresql://postgres:secret@127.0.0.1:5432/ccaas")

    assert ca_bundle_path(sqlite) == tmp_path / "data" / "ccaas-ca.pem"
    path = ca_bundle_path(postgres)
    assert path.parent == Path("var").resolve() and path.name.startswith("127_0_0_1-ccaas-")
    assert "secret" not in str(path)


# --- `serve` over HTTPS -----------------------------------------------------------------------------------------


def trusting(ca: str | Path) -> ssl.SSLContext:
    """What REQUESTS_CA_BUNDLE or SSL_CERT_FILE do for a client: the local CA trusted."""
    return ssl.create_default_context(cafile=str(ca))


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccaas_emulator", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _shell_sharing_only_the_database(database_url: str) -> dict[str, str]:
    """Another terminal's environment: the database URL, and none of the server's ports or hosts."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
    return environment | {"CCAAS_DATABASE_URL": database_url}


@pytest.mark.slow  # a serve process
def test_serve_answers_https_with_the_local_ca_trusted_and_http_still_works(database_for_server, tmp_path):
    server, process = start_server(database_for_server)
    try:
        other_shell = _shell_sharing_only_the_database(database_for_server)
        ca = _cli(other_shell, "ca")
        token = _cli(other_shell, "token").stdout.strip()
        with httpx.Client(verify=trusting(ca.stdout.strip()), timeout=10) as client:
            over_tls = client.get(f"https://127.0.0.1:{server.tls_port}{DELIVERIES}", headers=bearer(token))
            by_name = client.get(f"https://localhost:{server.tls_port}{DELIVERIES}", headers=bearer(token))
        plain = httpx.get(f"{server.base}{DELIVERIES}", headers=bearer(token), timeout=10)
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"https://127.0.0.1:{server.tls_port}/health", timeout=10)  # the CA is not trusted by default
    finally:
        stop(process)

    assert ca.returncode == 0, ca.stderr
    assert Path(ca.stdout.strip()).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert over_tls.status_code == 200, over_tls.text
    assert over_tls.json()["@odata.context"].startswith(f"https://127.0.0.1:{server.tls_port}/api/data/v9.2/")
    assert by_name.json()["@odata.context"].startswith(f"https://localhost:{server.tls_port}/api/data/v9.2/")
    assert plain.status_code == 200, plain.text
    assert plain.json()["@odata.context"].startswith(f"{server.base}/api/data/v9.2/")


@pytest.mark.slow  # two serve processes, one after the other
def test_a_restart_serves_the_same_ca(tmp_path):
    url = f"sqlite:///{tmp_path / 'var' / 'ccaas.db'}"
    _, process = start_server(url)
    stop(process)
    ca = Path(_cli(_shell_sharing_only_the_database(url), "ca").stdout.strip())
    before = ca.read_text()
    second, process = start_server(url)
    try:
        with httpx.Client(verify=trusting(ca), timeout=10) as client:
            health = client.get(f"https://127.0.0.1:{second.tls_port}/health")
    finally:
        stop(process)

    assert ca == tmp_path / "var" / "ccaas-ca.pem"
    assert ca.read_text() == before
    assert health.status_code == 200


@pytest.mark.slow  # a serve process with two workers
def test_every_worker_serves_both_ports_from_the_parents_sockets(tmp_path):
    url = f"sqlite:///{tmp_path / 'var' / 'ccaas.db'}"
    server, process = start_server(url, CCAAS_WORKERS="2", CCAAS_DIALER="off")
    try:
        ca = _cli(_shell_sharing_only_the_database(url), "ca").stdout.strip()
        with httpx.Client(verify=trusting(ca), timeout=10) as client:
            tls = [client.get(f"https://127.0.0.1:{server.tls_port}/ready").status_code for _ in range(6)]
        plain = [httpx.get(f"{server.base}/ready", timeout=10).status_code for _ in range(6)]
    finally:
        stop(process)

    assert tls == plain == [200] * 6


@pytest.mark.slow  # a serve process
def test_tls_port_zero_switches_tls_off(tmp_path):
    url = f"sqlite:///{tmp_path / 'var' / 'ccaas.db'}"
    unused = free_port()
    server, process = start_server(url, CCAAS_TLS_PORT="0")
    try:
        plain = httpx.get(f"{server.base}/ready", timeout=10)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://127.0.0.1:{unused}/ready", verify=False, timeout=5)
    finally:
        stop(process)
    output = process.stdout.read().decode() if process.stdout else ""

    assert plain.status_code == 200
    assert "https" not in output
    assert not (tmp_path / "var" / "ccaas-ca.pem").exists()  # no TLS, no CA written


@pytest.mark.slow  # a serve process
def test_serve_stops_promptly_while_a_client_idles_on_a_tls_keep_alive_connection(tmp_path):
    """A requests Session keeps its TLS connection open and never reads the close_notify `serve` sends at shutdown;
    without dropping such connections the event loop waits its 30 s ssl_shutdown_timeout (seen in the client tests)."""
    import signal
    import time

    import requests

    server, process = start_server(f"sqlite:///{tmp_path / 'ccaas.db'}")
    try:
        session = requests.Session()
        session.verify, session.trust_env = server.ca_bundle(), False
        assert session.get(f"{server.tls_base}/ready").status_code == 200
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=25)
        assert time.monotonic() - started < 10
        assert process.returncode == 0
        session.close()
    finally:
        stop(process)
