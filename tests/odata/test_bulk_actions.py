"""CreateMultiple / UpdateMultiple / UpsertMultiple bound to the writable entity sets (issue 15): one transaction,
each target checked by the same rules as a single create or update."""

from __future__ import annotations

import uuid

import pytest

from ccaas_emulator.odata.writes import MAX_TARGETS
from tests.support.urls import CONFIGS, DELIVERIES, ROOT

TYPE = "Microsoft.Dynamics.CRM.msdyn_proactive_engagement_config"
KEY = "msdyn_proactive_engagement_configid"


def action(name: str, entity_set: str = CONFIGS) -> str:
    return f"{entity_set}/Microsoft.Dynamics.CRM.{name}"


def target(**values):
    return {"@odata.type": TYPE, **values}


def names(emulator, as_user) -> set[str]:
    rows = emulator.client.get(f"{CONFIGS}?$select=msdyn_name", headers=as_user("admin")).json()["value"]
    return {row["msdyn_name"] for row in rows}


def test_create_multiple_answers_the_ids_in_order(emulator, as_user):
    response = emulator.client.post(
        action("CreateMultiple"),
        json={"Targets": [target(msdyn_name="Bulk A"), target(msdyn_name="Bulk B", msdyn_priority=2)]},
        headers=as_user("admin"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"] == f"{ROOT}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
    first, second = body["Ids"]
    row = emulator.client.get(f"{CONFIGS}({second})?$select=msdyn_name,msdyn_priority", headers=as_user()).json()
    assert (row["msdyn_name"], row["msdyn_priority"]) == ("Bulk B", 2)
    assert emulator.client.get(f"{CONFIGS}({first})", headers=as_user()).json()["msdyn_name"] == "Bulk A"


def test_one_bad_target_fails_the_whole_call_and_writes_nothing(emulator, as_user):
    before = names(emulator, as_user)
    response = emulator.client.post(
        action("CreateMultiple"),
        json={"Targets": [target(msdyn_name="Good"), target(msdyn_name="Bad", msdyn_priority=99)]},
        headers=as_user("admin"),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x8004431a"  # the single create's own refusal
    assert names(emulator, as_user) == before


def test_a_key_taken_twice_in_one_call_fails_it(emulator, as_user):
    key = str(uuid.uuid4())
    response = emulator.client.post(
        action("CreateMultiple"),
        json={"Targets": [target(**{KEY: key}, msdyn_name="One"), target(**{KEY: key}, msdyn_name="Two")]},
        headers=as_user("admin"),
    )
    assert response.status_code == 412
    assert emulator.client.get(f"{CONFIGS}({key})", headers=as_user()).status_code == 404


def test_update_multiple_changes_existing_rows_and_refuses_missing_ones(emulator, as_user):
    ids = emulator.client.post(
        action("CreateMultiple"),
        json={"Targets": [target(msdyn_name="U1"), target(msdyn_name="U2")]},
        headers=as_user("admin"),
    ).json()["Ids"]
    changed = emulator.client.post(
        action("UpdateMultiple"),
        json={"Targets": [target(**{KEY: ids[0]}, msdyn_name="U1b"), target(**{KEY: ids[1]}, msdyn_name="U2b")]},
        headers=as_user("admin"),
    )
    assert changed.status_code == 204 and changed.content == b""
    assert {"U1b", "U2b"} <= names(emulator, as_user)
    missing = emulator.client.post(
        action("UpdateMultiple"),
        json={"Targets": [target(**{KEY: ids[0]}, msdyn_name="U1c"), target(**{KEY: str(uuid.uuid4())})]},
        headers=as_user("admin"),
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "0x80040217"
    assert "U1c" not in names(emulator, as_user)  # rolled back with the failing target
    no_key = emulator.client.post(
        action("UpdateMultiple"), json={"Targets": [target(msdyn_name="x")]}, headers=as_user("admin")
    )
    assert no_key.status_code == 400
    assert no_key.json()["error"]["message"] == "Entity Id must be specified for Update"


def test_upsert_multiple_creates_or_changes_by_key(emulator, as_user):
    existing = emulator.client.post(
        action("CreateMultiple"), json={"Targets": [target(msdyn_name="Up1")]}, headers=as_user("admin")
    ).json()["Ids"][0]
    new, third = str(uuid.uuid4()), str(uuid.uuid4())
    response = emulator.client.post(
        action("UpsertMultiple"),
        json={
            "Targets": [
                target(**{"@odata.id": f"msdyn_proactive_engagement_configs({existing})"}, msdyn_name="Up1b"),
                target(**{KEY: new}, msdyn_name="Up2"),
                target(**{"@odata.id": f"msdyn_proactive_engagement_configs({KEY}='{third}')"}, msdyn_name="Up3"),
            ]
        },
        headers=as_user("admin"),
    )
    assert response.status_code == 204, response.text
    assert emulator.client.get(f"{CONFIGS}({new})", headers=as_user()).json()["msdyn_name"] == "Up2"
    assert emulator.client.get(f"{CONFIGS}({existing})", headers=as_user()).json()["msdyn_name"] == "Up1b"
    # the Dataverse SDK's form: the key named and its value quoted
    assert emulator.client.get(f"{CONFIGS}({third})", headers=as_user()).json()["msdyn_name"] == "Up3"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 400, "Required parameter 'Targets' is missing"),
        ({"Targets": []}, 400, "Required parameter 'Targets' is missing"),
        ({"Targets": [{"msdyn_name": "no type"}]}, 400, "The collection can have entities with PlatformName"),
        (
            {"Targets": [{"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "x"}]},
            400,
            "while this entity has Platform Name: Microsoft.Dynamics.CRM.account",
        ),
        ({"Targets": [target(msdyn_nope=1)]}, 400, "Invalid property 'msdyn_nope'"),
        ({"Targets": [target()], "Other": 1}, 400, "'Other' in the request payload is not a valid parameter"),
        ({"Targets": [target()] * (MAX_TARGETS + 1)}, 400, f"at most {MAX_TARGETS} targets"),
    ],
)
def test_malformed_calls_are_refused_in_the_envelope(emulator, as_user, body, status, message):
    response = emulator.client.post(action("CreateMultiple"), json=body, headers=as_user("admin"))
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]


def test_privileges_are_those_of_single_writes(emulator, as_user):
    refused = emulator.client.post(
        action("CreateMultiple"), json={"Targets": [target(msdyn_name="x")]}, headers=as_user("agent")
    )
    assert refused.status_code == 403
    assert "prvCreatemsdyn_proactive_engagement_config" in refused.json()["error"]["message"]


def test_only_the_writable_sets_have_them(emulator, as_user):
    response = emulator.client.post(
        action("CreateMultiple", DELIVERIES),
        json={"Targets": [{"@odata.type": "Microsoft.Dynamics.CRM.msdyn_proactive_delivery"}]},
        headers=as_user("admin"),
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "0x8006088a"
