"""DynamicsWebApi (npm `dynamics-web-api`, pinned in tests/clients/node/package.json) against the emulator.

tests/clients/node/dwa_client.mjs uses the library as a Dataverse user would: `callAction` for both
actions, `retrieveMultiple` with $select/$filter/$orderby/$expand and odata.maxpagesize paging,
`retrieveAll`, `count`, `retrieve` (by key, through a navigation property, with a single-valued
$expand), `retrieveCsdlMetadata`, and `create`/`update`/`deleteRecord` of an engagement configuration.
It prints one JSON object; the assertions here hold it against the database. dwa_batch.mjs sends what
the library sends as OData $batch (a GET past 2000 characters, startBatch/executeBatch); dwa_whoami.mjs calls
WhoAmI over serve's HTTPS with a user token and an application token from the authority.
`npm ci` runs once per session when node_modules is missing or stale; the tests skip only when node or
npm is not on PATH, and a failing `npm ci` fails them.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import SystemUser
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.organization import organization_id, root_business_unit_id
from ccaas_emulator.settings import DEFAULT_TENANT_ID
from tests.support.node import require_node_project
from tests.support.samples import fixture_bytes
from tests.support.servers import HttpsEmulator, ServedEmulator, is_guid, stored_rows

pytestmark = pytest.mark.slow  # a served emulator, node and npm ci

NODE_PROJECT = Path(__file__).parent / "node"
FIXTURES = Path(__file__).parents[1] / "fixtures"
PAGED, PAGE_SIZE = 7, 3
PREFIX = "+1425555030"  # dwa_client.mjs: the paged deliveries go to PREFIX + 0..6
NAV = "msdyn_proactive_delivery_attribute_msdyn_proactive_delivery_msdyn_proactive_delivery"
SELECTED = "msdyn_proactive_deliveryid,msdyn_to_address,msdyn_status,msdyn_channel"
DEMO_CLIENT_ID = "c0a5e000-de70-4000-8000-0000000dea00"  # the demo seed's application user (README)
DEMO_SECRET = "ccaas~demo~secret~not.for.production"


@pytest.fixture(scope="session")
def node() -> str:
    return require_node_project(NODE_PROJECT, what="DynamicsWebApi")


def run_client(node: str, served_emulator: ServedEmulator, script: str = "dwa_client.mjs") -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
    env |= {
        "CCAAS_SERVER_URL": served_emulator.base + "/",
        "CCAAS_AGENT_TOKEN": served_emulator.agent_token,
        "CCAAS_ADMIN_TOKEN": served_emulator.admin_token,
        "CCAAS_FIXTURES": str(FIXTURES),
        "CCAAS_PAGED": str(PAGED),
        "CCAAS_PAGE_SIZE": str(PAGE_SIZE),
    }
    result = subprocess.run(
        [node, script], cwd=NODE_PROJECT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_dynamics_web_api_calls_the_actions_reads_pages_and_writes(node, served_emulator):
    report = run_client(node, served_emulator)
    results, errors = report["results"], report["errors"]
    api = served_emulator.api
    rows = served_emulator.rows()

    # Only the two calls meant to fail did, with Dataverse's statuses and codes.
    assert set(errors) == {"retrieveDeleted", "agentCreate"}, json.dumps(errors, indent=2)
    assert (errors["retrieveDeleted"]["status"], errors["retrieveDeleted"]["code"]) == (404, "0x80040217")
    assert (errors["agentCreate"]["status"], errors["agentCreate"]["code"]) == (403, "0x80040220")

    # callAction: the ids returned are the rows written.
    voice, chained = results["voiceAction"], results["deliveryAction"]
    assert voice["oDataContext"] == f"{api}$metadata#Microsoft.Dynamics.CRM.CCaaS_CreateProactiveVoiceDeliveryResponse"
    assert chained["oDataContext"] == f"{api}$metadata#Microsoft.Dynamics.CRM.CCaaS_CreateProactiveDeliveryResponse"
    created = {entry["number"]: entry["id"] for entry in results["created"]}
    paged_ids = set(created.values())
    assert list(created) == [f"{PREFIX}{i}" for i in range(PAGED)]
    assert all(is_guid(i) for i in [voice["DeliveryId"], chained["DeliveryId"], chained["DeliveryTaskId"], *paged_ids])
    assert len(paged_ids) == PAGED
    assert set(rows["deliveries"]) == {voice["DeliveryId"], chained["DeliveryId"], *paged_ids}
    assert chained["DeliveryTaskId"] in rows["tasks"]
    assert rows["deliveries"][voice["DeliveryId"]]["to"] == "+123456798"
    assert {number: rows["deliveries"][i]["to"] for number, i in created.items()} == {n: n for n in created}
    assert rows["attributes"][voice["DeliveryId"]] == {
        ("orderNumber", "ORD123456789"),
        ("type", "callback"),
        ("isFinalAttempt", "false"),
    }

    # retrieveMultiple page by page (maxPageSize 3, following @odata.nextLink): 3 + 3 + 1 distinct rows,
    # in $orderby order across the pages, with the $select kept on every page.
    pages = results["pages"]
    assert [len(page["value"]) for page in pages] == [3, 3, 1]
    assert [bool(page["nextLink"]) for page in pages] == [True, True, False]
    assert all(page["nextLink"].startswith(f"{api}msdyn_proactive_deliveries?") for page in pages[:-1])
    assert {page["context"] for page in pages} == {f"{api}$metadata#msdyn_proactive_deliveries({SELECTED})"}
    paged_rows = [row for page in pages for row in page["value"]]
    assert [row["msdyn_to_address"] for row in paged_rows] == sorted(created, reverse=True)
    assert [row["msdyn_proactive_deliveryid"] for row in paged_rows] == [created[n] for n in sorted(created)[::-1]]
    assert all(set(row) == {"@odata.etag", *SELECTED.split(",")} for row in paged_rows)
    assert {(row["msdyn_status"], row["msdyn_channel"]) for row in paged_rows} == {("Pending", "Voice")}

    # retrieveAll follows the links itself.
    assert sorted(row["msdyn_proactive_deliveryid"] for row in results["all"]) == sorted(paged_ids)

    # $expand of the attributes with a nested $select: each delivery carries exactly its own two.
    expanded = results["expanded"]
    assert expanded["context"] == (
        f"{api}$metadata#msdyn_proactive_deliveries(msdyn_to_address,{NAV}(msdyn_keyword,msdyn_value))"
    )
    assert [row["msdyn_to_address"] for row in expanded["value"]] == sorted(created)
    for i, row in enumerate(expanded["value"]):
        attributes = row[NAV]
        assert {(a["msdyn_keyword"], a["msdyn_value"]) for a in attributes} == {
            ("orderNumber", f"ORD-DWA-{i}"),
            ("position", str(i)),
        }
        assert all(
            set(a) == {"@odata.etag", "msdyn_proactive_delivery_attributeid", "msdyn_keyword", "msdyn_value"}
            for a in attributes
        )
        assert rows["attributes"][row["msdyn_proactive_deliveryid"]] == {
            (a["msdyn_keyword"], a["msdyn_value"]) for a in attributes
        }

    # count ($count=true with the filter, /$count without), $top.
    assert results["countFiltered"] == PAGED
    assert results["countAll"] == len(rows["deliveries"])
    assert [row["msdyn_to_address"] for row in results["top"]] == [f"{PREFIX}0", f"{PREFIX}1"]

    # retrieve by key, through the collection navigation, and an attribute with its delivery expanded.
    first = created[f"{PREFIX}0"]
    one = results["retrieve"]
    assert (one["msdyn_proactive_deliveryid"], one["msdyn_to_address"], one["msdyn_status"]) == (
        first,
        f"{PREFIX}0",
        "Pending",
    )
    assert one["oDataContext"] == (
        f"{api}$metadata#msdyn_proactive_deliveries(msdyn_to_address,msdyn_status,versionnumber)/$entity"
    )
    assert {(a["msdyn_keyword"], a["msdyn_value"]) for a in results["retrieveNavigation"]} == rows["attributes"][first]
    attribute = results["attributeWithDelivery"]
    assert attribute["_msdyn_proactive_delivery_value"] == first
    assert attribute["msdyn_proactive_delivery"]["msdyn_proactive_deliveryid"] == first
    assert attribute["msdyn_proactive_delivery"]["msdyn_to_address"] == f"{PREFIX}0"
    assert results["metadata"]["hasDeliveryType"] is True

    # create -> id from OData-EntityId; update with the current ETag -> true, with the stale one -> false
    # (412); update with return=representation; create with return=representation; delete -> true.
    config_id = results["create"]
    assert is_guid(config_id) and config_id == results["configId"]
    before = results["retrieveConfig"]
    assert (before["msdyn_name"], before["msdyn_priority"], before["@odata.etag"]) == (
        "DynamicsWebApi configuration",
        2,
        'W/"1"',
    )
    assert results["update"] is True
    assert results["updateStale"] is False
    after = results["updateReturning"]
    assert after["msdyn_proactive_engagement_configid"] == config_id
    assert (after["msdyn_name"], after["msdyn_description"], after["msdyn_priority"]) == (
        "renamed by DynamicsWebApi",
        "returned by DynamicsWebApi",
        2,
    )
    assert (after["versionnumber"], after["@odata.etag"]) == (3, 'W/"3"')
    returned = results["createReturning"]
    assert is_guid(returned["msdyn_proactive_engagement_configid"])
    assert (returned["msdyn_name"], returned["versionnumber"]) == ("DynamicsWebApi representation", 1)
    assert results["delete"] is True
    assert config_id not in rows["configs"]
    assert rows["configs"][returned["msdyn_proactive_engagement_configid"]] == "DynamicsWebApi representation"


@pytest.mark.parametrize("database_for_server", ["sqlite"], indirect=True)
def test_dynamics_web_api_long_queries_and_batches_go_through_batch(node, served_emulator):
    """DynamicsWebApi sends every GET whose URL passes 2000 characters as a $batch, and executeBatch always."""
    report = run_client(node, served_emulator, "dwa_batch.mjs")
    results, errors = report["results"], report["errors"]

    assert errors == {}, json.dumps(errors, indent=2)
    assert sorted(results["longFilter"]) == sorted(results["created"])
    assert results["executeBatch"] == {"id": results["created"][0], "count": 3}


def test_dynamics_web_api_reads_a_delivery_task_and_cancels_it(node, served_emulator):
    report = run_client(node, served_emulator, "dwa_tasks.mjs")
    results, errors = report["results"], report["errors"]
    task_id, delivery_id = report["taskId"], report["deliveryId"]
    assert is_guid(task_id) and is_guid(delivery_id)

    # callFunction on v9.0 (as documented) and v9.2: the documented expando shape of a live task.
    for name, version in (("readV90", "v9.0"), ("readV92", "v9.2")):
        body = results[name]
        assert body["oDataContext"] == f"{served_emulator.base}/api/data/{version}/$metadata#expando", name
        [task] = body["value"]
        assert task["@odata.type"] == "#Microsoft.Dynamics.CRM.expando"
        assert (task["deliveryTaskId"], task["status"], task["requestId"]) == (task_id, "Pending", "dwa-task-1")
        assert (task["retryCount"], task["customerReached"], task["channelType"]) == (0, False, "Voice")
        assert len(task["contactIds"]) == 2
        assert task["contactChainingStatus"]["totalContactsInChain"] == 2
        assert [(d["id"], d["status"], d["result"]) for d in task["deliveries"]] == [(delivery_id, "Pending", None)]

    # callAction cancels it (204, no body), and the task and its queued dial read back Cancelled.
    assert "cancel" in results and results["cancel"] is None
    [cancelled] = results["readCancelled"]["value"]
    assert cancelled["status"] == "Cancelled"
    assert [(d["status"], d["result"]) for d in cancelled["deliveries"]] == [("Cancelled", "Cancelled")]
    rows = served_emulator.rows()
    assert rows["deliveries"][delivery_id]["status"] == "Cancelled"

    # Only the unknown task failed, with Dataverse's record-not-found status and code.
    assert set(errors) == {"readUnknown"}, json.dumps(errors, indent=2)
    assert (errors["readUnknown"]["status"], errors["readUnknown"]["code"]) == (404, "0x80040217")


def test_dynamics_web_api_who_am_i_over_https(node, https_emulator: HttpsEmulator):
    """WhoAmI through DynamicsWebApi over serve's HTTPS (the CA from `ccaas-emulator ca` in NODE_EXTRA_CA_CERTS):
    for a user token from `ccaas-emulator token` and an application token from the authority's token endpoint,
    each answer naming the caller's systemuser row (the agent's the one its delivery was written by), the root
    business unit and the organization."""
    emulator = https_emulator
    trust = ssl.create_default_context(cafile=emulator.ca)
    agent_token = emulator.server.token("--user", "agent")
    form = {
        "grant_type": "client_credentials",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_SECRET,
        "scope": f"{emulator.origin}/.default",
    }
    issued = httpx.post(f"{emulator.authority}/oauth2/v2.0/token", data=form, verify=trust)
    assert issued.status_code == 200, issued.text
    app_token = issued.json()["access_token"]
    posted = httpx.post(
        emulator.origin + "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery",
        content=fixture_bytes("000_voice_sample.json"),
        headers={"Authorization": f"Bearer {agent_token}", "Content-Type": "application/json"},
        verify=trust,
    )
    assert posted.status_code == 200, posted.text

    env = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
    env |= {
        "NODE_EXTRA_CA_CERTS": emulator.ca,
        "CCAAS_SERVER_URL": emulator.origin + "/",
        "CCAAS_AGENT_TOKEN": agent_token,
        "CCAAS_APP_TOKEN": app_token,
    }
    result = subprocess.run(
        [node, "dwa_whoami.mjs"], cwd=NODE_PROJECT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"dwa_whoami.mjs failed:\n{result.stdout}\n{result.stderr}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    results, errors = report["results"], report["errors"]

    database = Database(make_engine(emulator.database_url))
    try:
        with database.read() as session:
            users = {name: user_id for name, user_id in session.execute(select(SystemUser.user_name, SystemUser.id))}
    finally:
        database.dispose()
    delivery = stored_rows(emulator.database_url)["deliveries"][posted.json()["DeliveryId"]]
    for caller, user_name in (("agent", "agent"), ("app", "ccaas-demo-app")):
        answer = results[caller]
        assert answer["UserId"] == str(users[user_name]), caller
        # One root business unit, derived from the tenant as the organization id is (neither is a row here).
        assert answer["BusinessUnitId"] == str(root_business_unit_id(DEFAULT_TENANT_ID)), caller
        assert answer["OrganizationId"] == str(organization_id(DEFAULT_TENANT_ID)), caller
        assert answer["oDataContext"] == (
            f"{emulator.origin}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse"
        ), caller
    assert delivery["created_by"] == results["agent"]["UserId"]
    assert set(errors) == {"noToken"} and errors["noToken"]["status"] == 401, errors
