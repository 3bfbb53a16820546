"""Table definitions (EntityDefinitions) as the Dataverse SDK for Python reads them (issue 15), generated from the
same entity model as $metadata."""

from __future__ import annotations

import pytest

from ccaas_emulator.auth.privileges import object_type_code
from ccaas_emulator.odata.entity_sets import ENTITY_SETS
from tests.support.urls import API, ROOT

DEFINITIONS = f"{API}/EntityDefinitions"
CONFIG = "msdyn_proactive_engagement_config"


def test_the_sdk_lookup_by_logical_name(emulator, as_user):
    response = emulator.client.get(
        DEFINITIONS,
        params={"$select": "LogicalName,EntitySetName,PrimaryIdAttribute", "$filter": f"LogicalName eq '{CONFIG}'"},
        headers=as_user(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"] == f"{ROOT}$metadata#EntityDefinitions(LogicalName,EntitySetName,PrimaryIdAttribute)"
    [item] = body["value"]
    assert item == {
        "MetadataId": item["MetadataId"],
        "LogicalName": CONFIG,
        "EntitySetName": "msdyn_proactive_engagement_configs",
        "PrimaryIdAttribute": "msdyn_proactive_engagement_configid",
    }


def test_an_unknown_logical_name_is_an_empty_list_by_filter_and_a_404_by_key(emulator, as_user):
    by_filter = emulator.client.get(DEFINITIONS, params={"$filter": "LogicalName eq 'account'"}, headers=as_user())
    assert by_filter.status_code == 200 and by_filter.json()["value"] == []
    by_key = emulator.client.get(f"{DEFINITIONS}(LogicalName='account')", headers=as_user())
    assert by_key.status_code == 404
    assert by_key.json() == {
        "error": {
            "code": "0x80041102",
            "message": "The entity with a name = 'account' with namemapping = 'Logical' was not found in the "
            "MetadataCache.",
        }
    }


def test_every_served_table_is_defined_from_the_entity_model(emulator, as_user):
    response = emulator.client.get(DEFINITIONS, params={"$filter": "IsPrivate eq false"}, headers=as_user())
    items = {item["LogicalName"]: item for item in response.json()["value"]}
    assert set(items) == {entity_set.entity_type for entity_set in ENTITY_SETS.values()}
    for entity_set in ENTITY_SETS.values():
        item = items[entity_set.entity_type]
        assert item["EntitySetName"] == entity_set.name
        assert item["PrimaryIdAttribute"] == entity_set.key.column.name
        assert item["ObjectTypeCode"] == object_type_code(entity_set.entity_type)  # the code the 403s name
        assert item["DisplayName"]["UserLocalizedLabel"]["LanguageCode"] == 1033
        assert item["DisplayName"]["LocalizedLabels"][0]["Label"] == item["DisplayName"]["UserLocalizedLabel"]["Label"]
    assert items["msdyn_proactive_delivery"]["TableType"] == "Elastic"


def test_by_key_and_by_metadata_id(emulator, as_user):
    select = "LogicalName,SchemaName,EntitySetName,PrimaryNameAttribute,LogicalCollectionName,ObjectTypeCode"
    by_name = emulator.client.get(f"{DEFINITIONS}(LogicalName='{CONFIG}')?$select={select}", headers=as_user())
    assert by_name.status_code == 200
    body = by_name.json()
    assert body["@odata.context"] == f"{ROOT}$metadata#EntityDefinitions({select})/$entity"
    assert body["PrimaryNameAttribute"] == "msdyn_name"
    by_id = emulator.client.get(f"{DEFINITIONS}({body['MetadataId']})?$select={select}", headers=as_user()).json()
    assert by_id == body


def test_attributes_with_the_select_and_filter_the_sdk_sends(emulator, as_user):
    metadata_id = emulator.client.get(f"{DEFINITIONS}(LogicalName='{CONFIG}')", headers=as_user()).json()["MetadataId"]
    response = emulator.client.get(
        f"{DEFINITIONS}({metadata_id})/Attributes",
        params={"$select": "MetadataId,LogicalName,SchemaName", "$filter": "LogicalName eq 'msdyn_name'"},
        headers=as_user(),
    )
    assert response.status_code == 200, response.text
    [item] = response.json()["value"]
    assert (
        item["LogicalName"] == "msdyn_name" and item["@odata.type"] == "#Microsoft.Dynamics.CRM.StringAttributeMetadata"
    )
    everything = emulator.client.get(f"{DEFINITIONS}({metadata_id})/Attributes", headers=as_user()).json()["value"]
    by_name = {item["LogicalName"]: item for item in everything}
    assert by_name["msdyn_queue"]["AttributeType"] == "Lookup" and by_name["msdyn_queue"]["Targets"] == ["queue"]
    assert by_name["statecode"]["AttributeType"] == "State"
    assert by_name["msdyn_name"]["MaxLength"] > 0
    one = emulator.client.get(f"{DEFINITIONS}({metadata_id})/Attributes(LogicalName='msdyn_name')", headers=as_user())
    assert one.status_code == 200 and one.json()["LogicalName"] == "msdyn_name"
    none = emulator.client.get(f"{DEFINITIONS}({metadata_id})/Attributes(LogicalName='nope')", headers=as_user())
    assert none.status_code == 404 and none.json()["error"]["code"] == "0x80041103"


def test_picklist_options_with_their_labels(emulator, as_user):
    response = emulator.client.get(
        f"{DEFINITIONS}(LogicalName='{CONFIG}')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
        "?$select=LogicalName&$expand=OptionSet($select=Options),GlobalOptionSet($select=Options)",
        headers=as_user(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith(
        "/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata(LogicalName,OptionSet(Options),"
        "GlobalOptionSet(Options))"
    )
    items = {item["LogicalName"]: item for item in body["value"]}
    assert "statecode" not in items and "msdyn_name" not in items  # the cast keeps picklists only
    options = {
        option["Value"]: option["Label"]["UserLocalizedLabel"]["Label"]
        for option in items["msdyn_type"]["OptionSet"]["Options"]
    }
    assert options == {100000000: "Voice", 100000001: "SMS"}
    assert items["msdyn_type"]["GlobalOptionSet"] is None


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        (f"{DEFINITIONS}?$filter=contains(LogicalName,'msdyn')", 400, "0x80060888"),
        (f"{DEFINITIONS}?$select=Nope", 400, "0x80060888"),
        (f"{DEFINITIONS}?$top=1", 400, "0x80060888"),
        (f"{DEFINITIONS}(LogicalName=msdyn)", 400, "0x80060888"),
        (f"{DEFINITIONS}(LogicalName='{CONFIG}')/Attributes?$expand=OptionSet", 400, "0x80060888"),
        (f"{DEFINITIONS}(LogicalName='{CONFIG}')/Attributes/Microsoft.Dynamics.CRM.Nope", 404, "0x8006088a"),
    ],
)
def test_what_metadata_queries_refuse(emulator, as_user, url, status, code):
    response = emulator.client.get(url, headers=as_user())
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_definitions_need_a_token_and_a_user_of_the_org(emulator, as_user):
    assert emulator.client.get(DEFINITIONS).status_code == 401
