"""Microsoft's Dataverse SDK for Python (PyPI `powerplatform-dataverse-client`, import `PowerPlatform.Dataverse`),
unmodified, against a real server over HTTPS (issue 15).

The SDK refuses `http://` base URLs and takes an azure-core `TokenCredential`. Until the emulator serves HTTPS and
an Entra token endpoint itself, `tls_emulator` below starts uvicorn with a throwaway CA and server certificate
(made with `cryptography`), hands the CA to the SDK's HTTP stack the way `requests` takes one
(`REQUESTS_CA_BUNDLE`), and gives it a credential returning a token minted by `mint_token` for a seeded user.
Both live in that one fixture so the integrator can swap them for the HTTPS listener and azure-identity's
`ClientSecretCredential`.

What the SDK sends, read from its source (1.1.0): every table is looked up with `EntityDefinitions?$select=
LogicalName,EntitySetName,PrimaryIdAttribute&$filter=LogicalName eq '<table>'`; a record with string values first
reads the table's picklists (`.../Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet`)
to turn option labels into numbers; a list create is `CreateMultiple`, a list update `UpdateMultiple`; updates and
deletes carry `If-Match: *`; `query.fetchxml(...)` pages with the fetchxmlpagingcookie annotation; `query.sql`
sends `?sql=`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.demo import DEMO_USERS
from tests.support.servers import free_port

pytestmark = pytest.mark.slow  # a TLS server per test, and the real SDK

TABLE = "msdyn_proactive_engagement_config"
KEY = "msdyn_proactive_engagement_configid"


@dataclass(frozen=True)
class TlsEmulator:
    base_url: str
    credential: Any


class MintedCredential:
    """A minimal azure-core TokenCredential: the emulator's own token for one seeded user, whatever the scope."""

    def __init__(self, token: str, expires_on: int) -> None:
        self._token, self._expires_on = token, expires_on

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, self._expires_on)


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA, and a server certificate for 127.0.0.1 and localhost signed by it: (ca, cert, key)."""
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
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@pytest.fixture
def tls_emulator(database_for_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TlsEmulator]:
    """The emulator over HTTPS and a credential for the demo administrator (the one piece to swap, see above)."""
    from ccaas_emulator.auth.keys import SigningKeys
    from ccaas_emulator.auth.tokens import mint_token
    from ccaas_emulator.clock import SystemClock
    from ccaas_emulator.db.engine import make_engine
    from ccaas_emulator.db.transaction import Database
    from ccaas_emulator.runtime import prepare_database
    from ccaas_emulator.settings import Settings

    ca, cert, key = _certificates(tmp_path)
    port = free_port()
    base_url = f"https://127.0.0.1:{port}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("CCAAS_")}
    env |= {"CCAAS_DATABASE_URL": database_for_server, "CCAAS_ORG_URL": base_url, "CCAAS_LOG_LEVEL": "warning"}
    settings = Settings(database_url=database_for_server, org_url=base_url, demo_seed=True)
    prepare_database(settings)  # migrate and seed, as `serve` does before it listens
    clock = SystemClock()
    database = Database(make_engine(database_for_server, pool_size=1))
    try:
        keys = SigningKeys.load_or_create(database, clock)
    finally:
        database.dispose()
    issued = clock.now()
    token = mint_token(
        keys,
        object_id=DEMO_USERS["admin"],
        user_name="admin",
        tenant=settings.tenant,
        audience=base_url,
        issued_at=issued,
        expires_in=3600,
    )
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "ccaas_emulator.app:app_from_environment", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--ssl-certfile", str(cert), "--ssl-keyfile", str(key),
            "--log-level", "warning",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    trust = ssl.create_default_context(cafile=str(ca))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/ready", verify=trust, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"the TLS server did not become ready: {output}")
            time.sleep(0.2)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))  # requests (the SDK's HTTP stack) trusts the CA
        yield TlsEmulator(base_url, MintedCredential(token, int(issued.timestamp()) + 3600))
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_sdk_lists_gets_creates_updates_and_deletes_and_queries_fetchxml(tls_emulator):
    from PowerPlatform.Dataverse.client import DataverseClient
    from PowerPlatform.Dataverse.core.errors import HttpError
    from PowerPlatform.Dataverse.models import UpsertItem

    with pytest.raises(ValueError, match="HTTPS"):  # why the test needs TLS at all
        DataverseClient(tls_emulator.base_url.replace("https", "http"), tls_emulator.credential)

    with DataverseClient(tls_emulator.base_url, tls_emulator.credential) as client:
        info = client.tables.get(TABLE)
        assert info is not None

        # A label for a choice: the SDK reads the picklist options and sends the number.
        one = client.records.create(TABLE, {"msdyn_name": "SDK one", "msdyn_type": "SMS"})
        record = client.records.retrieve(TABLE, one, select=["msdyn_name", "msdyn_type"])
        assert (record["msdyn_name"], record["msdyn_type"]) == ("SDK one", 100000001)

        client.records.update(TABLE, one, {"msdyn_name": "SDK one, renamed"})
        assert client.records.retrieve(TABLE, one, select=["msdyn_name"])["msdyn_name"] == "SDK one, renamed"

        many = client.records.create(TABLE, [{"msdyn_name": f"SDK many {index}"} for index in range(3)])
        assert len(many) == 3 and len(set(many)) == 3
        client.records.update(TABLE, many, {"msdyn_priority": 2})  # UpdateMultiple
        listed = client.records.list(
            TABLE, filter="startswith(msdyn_name,'SDK')", select=["msdyn_name", "msdyn_priority"], page_size=2
        )
        by_name = {row["msdyn_name"]: row["msdyn_priority"] for row in listed}
        assert by_name == {"SDK one, renamed": 3, "SDK many 0": 2, "SDK many 1": 2, "SDK many 2": 2}

        xml = (
            "<fetch count='2'><entity name='msdyn_proactive_engagement_config'><attribute name='msdyn_name'/>"
            "<order attribute='msdyn_name'/><filter><condition attribute='msdyn_name' operator='like' "
            "value='SDK%'/></filter></entity></fetch>"
        )
        pages = [[row["msdyn_name"] for row in page] for page in client.query.fetchxml(xml).execute_pages()]
        assert pages == [["SDK many 0", "SDK many 1"], ["SDK many 2", "SDK one, renamed"]]

        # UpsertMultiple by primary key: one row changed, one created under the key given.
        created = str(uuid.uuid4())
        client.records.upsert(
            TABLE,
            [
                UpsertItem(alternate_key={KEY: many[0]}, record={"msdyn_name": "SDK many 0, upserted"}),
                UpsertItem(alternate_key={KEY: created}, record={"msdyn_name": "SDK upserted"}),
            ],
        )
        assert client.records.retrieve(TABLE, many[0], select=["msdyn_name"])["msdyn_name"] == "SDK many 0, upserted"
        assert client.records.retrieve(TABLE, created, select=["msdyn_name"])["msdyn_name"] == "SDK upserted"

        client.records.delete(TABLE, one)
        assert client.records.retrieve(TABLE, one) is None  # the SDK's answer to a 404

        with pytest.raises(HttpError) as sql:
            client.query.sql("SELECT msdyn_name FROM msdyn_proactive_engagement_config")
        assert sql.value.status_code == 400
        assert "'sql'" in str(sql.value)
