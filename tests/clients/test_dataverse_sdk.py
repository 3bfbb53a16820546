"""Microsoft's Dataverse SDK for Python (PyPI `powerplatform-dataverse-client`, import `PowerPlatform.Dataverse`),
unmodified, against a real server over HTTPS (issue 15).

The SDK refuses `http://` base URLs and takes an azure-core `TokenCredential`, so it talks to `serve`'s own HTTPS
listener, trusting the CA `ccaas-emulator ca` names through REQUESTS_CA_BUNDLE (requests is the SDK's and
azure-identity's HTTP stack), with azure-identity's `ClientSecretCredential` pointed at the emulator's authority
(`authority=`, `disable_instance_discovery=True`) for an application user registered with `ccaas-emulator app add
--role "System Administrator"` (the demo application user is a supervisor, who may not write configurations).

What the SDK sends, read from its source (1.1.0): every table is looked up with `EntityDefinitions?$select=
LogicalName,EntitySetName,PrimaryIdAttribute&$filter=LogicalName eq '<table>'`; a record with string values first
reads the table's picklists (`.../Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet`)
to turn option labels into numbers; a list create is `CreateMultiple`, a list update `UpdateMultiple`; updates and
deletes carry `If-Match: *`; `query.fetchxml(...)` pages with the fetchxmlpagingcookie annotation; `query.sql`
sends `?sql=`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from azure.identity import ClientSecretCredential

from tests.support.servers import HttpsEmulator, run_cli

pytestmark = pytest.mark.slow  # a served emulator per test, and the real SDK

TABLE = "msdyn_proactive_engagement_config"
KEY = "msdyn_proactive_engagement_configid"


@dataclass(frozen=True)
class SdkTarget:
    base_url: str
    credential: ClientSecretCredential


@pytest.fixture
def sdk_target(https_emulator: HttpsEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[SdkTarget]:
    """serve's HTTPS origin and azure-identity's credential for an application user made with `app add`, the CA
    trusted."""
    added = run_cli(https_emulator.server.env, "app", "add", "sdk-sync", "--role", "System Administrator")
    assert added.returncode == 0, added.stderr
    app = json.loads(added.stdout)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", https_emulator.ca)
    # authority is the host only: azure-identity appends the tenant, as it does to login.microsoftonline.com.
    credential = ClientSecretCredential(
        app["tenantId"],
        app["clientId"],
        app["clientSecret"],
        authority=https_emulator.origin,
        disable_instance_discovery=True,
    )
    with credential:
        yield SdkTarget(https_emulator.origin, credential)


def test_the_sdk_lists_gets_creates_updates_and_deletes_and_queries_fetchxml(sdk_target):
    from PowerPlatform.Dataverse.client import DataverseClient
    from PowerPlatform.Dataverse.core.errors import HttpError
    from PowerPlatform.Dataverse.models import UpsertItem

    with pytest.raises(ValueError, match="HTTPS"):  # why the test needs TLS at all
        DataverseClient(sdk_target.base_url.replace("https", "http"), sdk_target.credential)

    with DataverseClient(sdk_target.base_url, sdk_target.credential) as client:
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
