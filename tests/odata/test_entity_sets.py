"""Reading deliveries, attributes and configurations the way Dataverse clients do (wire-facts B, E8-E10)."""

from __future__ import annotations

import uuid

from tests.support.in_process import window
from tests.support.samples import fixture_json
from tests.support.urls import ATTRIBUTES, CONFIGS, DELIVERIES, NAV, ROOT, VOICE_URL

DOCUMENTED_QUERY = f"{DELIVERIES}?$select=msdyn_status,msdyn_result&$filter=msdyn_status eq 'Complete'&$expand={NAV}"


def _sample_with(number: str) -> dict:
    body = fixture_json("000_voice_sample.json")
    body["DestinationPhoneNumber"] = number
    body.pop("Windows")  # now until now + 24 h
    return body


def _post(emulator, body: dict) -> str:
    response = emulator.client.post(VOICE_URL, json=body, headers=emulator.headers)
    assert response.status_code == 200, response.text
    return response.json()["DeliveryId"]


def test_the_documented_query_returns_the_dataverse_shape(emulator, as_user):
    complete = _post(emulator, _sample_with("+15005550001"))
    emulator.advance("PT5M")
    _post(emulator, _sample_with("+15550100"))  # still Pending: filtered out

    response = emulator.client.get(DOCUMENTED_QUERY, headers=as_user())

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; odata.metadata=minimal"
    assert response.headers["odata-version"] == "4.0"
    body = response.json()
    assert list(body) == ["@odata.context", "value"]
    assert body["@odata.context"] == f"{ROOT}$metadata#msdyn_proactive_deliveries(msdyn_status,msdyn_result,{NAV}())"
    [row] = body["value"]
    assert list(row) == [
        "@odata.etag",
        "msdyn_proactive_deliveryid",
        "msdyn_status",
        "msdyn_result",
        NAV,
        f"{NAV}@odata.nextLink",
    ]
    assert row["msdyn_proactive_deliveryid"] == complete
    assert (row["msdyn_status"], row["msdyn_result"]) == ("Complete", "LiveAnswer")
    assert row["@odata.etag"].startswith('W/"') and row["@odata.etag"] != 'W/"1"'  # the dialer changed it
    attributes = {item["msdyn_keyword"]: item for item in row[NAV]}
    assert {key: item["msdyn_value"] for key, item in attributes.items()} == {
        "orderNumber": "ORD123456789",
        "type": "callback",
        "isFinalAttempt": "false",
    }
    item = attributes["type"]
    assert item["msdyn_type"] == 700610000
    assert item["_msdyn_proactive_delivery_value"] == complete
    assert item["@odata.etag"] == 'W/"1"'
    assert row[f"{NAV}@odata.nextLink"] == f"{ROOT}msdyn_proactive_deliveries({complete})/{NAV}"


def test_a_row_without_select_has_every_web_api_column_and_no_emulator_column(emulator, as_user):
    delivery_id = _post(emulator, _sample_with("+15550100"))

    row = emulator.client.get(f"{DELIVERIES}({delivery_id})", headers=as_user()).json()

    assert row["@odata.context"] == f"{ROOT}$metadata#msdyn_proactive_deliveries/$entity"
    assert row["msdyn_status"] == "Pending"
    assert row["msdyn_to_address"] == "+15550100"
    assert row["msdyn_channel"] == "Voice"
    assert row["msdyn_dialmode_type"] == "Copilot"
    assert row["_ownerid_value"] == row["_createdby_value"]
    assert row["partitionid"] == delivery_id
    assert row["createdon"] == "2026-11-24T12:00:00Z"  # UTC, to the second, with Z
    assert row["msdyn_result"] is None
    assert not [name for name in row if name.startswith("emulator_") or name == "owneridtype"]


def test_a_single_row_answers_with_its_etag_and_304_when_unchanged(emulator, as_user):
    delivery_id = _post(emulator, _sample_with("+15550100"))
    url = f"{DELIVERIES}({delivery_id})?$select=msdyn_status"

    first = emulator.client.get(url, headers=as_user())
    assert first.json()["@odata.context"] == f"{ROOT}$metadata#msdyn_proactive_deliveries(msdyn_status)/$entity"
    assert first.headers["etag"] == first.json()["@odata.etag"] == 'W/"1"'

    again = emulator.client.get(url, headers=as_user(**{"If-None-Match": 'W/"1"'}))
    assert again.status_code == 304 and again.content == b""
    changed = emulator.client.get(url, headers=as_user(**{"If-None-Match": 'W/"0"'}))
    assert changed.status_code == 200


def test_the_key_may_name_its_property_and_an_elastic_partition(emulator, as_user):
    delivery_id = _post(emulator, _sample_with("+15550100"))

    for key in (
        delivery_id,
        delivery_id.upper(),
        f"msdyn_proactive_deliveryid={delivery_id}",
        f"msdyn_proactive_deliveryid={delivery_id},partitionid='{delivery_id}'",
    ):
        response = emulator.client.get(f"{DELIVERIES}({key})", headers=as_user())
        assert response.status_code == 200, (key, response.text)


def test_a_missing_row_is_404_in_dataverse_words(emulator, as_user):
    missing = uuid.uuid4()

    response = emulator.client.get(f"{DELIVERIES}({missing})", headers=as_user())

    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "0x80040217",
            "message": f"Entity 'msdyn_proactive_delivery' With Id = {missing} Does Not Exist",
        }
    }


def test_a_key_that_is_not_a_guid_is_400(emulator, as_user):
    response = emulator.client.get(f"{DELIVERIES}(abc)", headers=as_user())

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80060888"


def test_an_attribute_expands_its_delivery_without_an_etag(emulator, as_user):
    delivery_id = _post(emulator, _sample_with("+15550100"))

    body = emulator.client.get(
        f"{ATTRIBUTES}?$select=msdyn_keyword&$filter=msdyn_keyword eq 'orderNumber'"
        "&$expand=msdyn_proactive_delivery($select=msdyn_status,msdyn_to_address)",
        headers=as_user(),
    ).json()

    assert body["@odata.context"] == (
        f"{ROOT}$metadata#msdyn_proactive_delivery_attributes"
        "(msdyn_keyword,msdyn_proactive_delivery(msdyn_status,msdyn_to_address))"
    )
    [row] = body["value"]
    assert row["msdyn_proactive_delivery"] == {
        "msdyn_proactive_deliveryid": delivery_id,
        "msdyn_status": "Pending",
        "msdyn_to_address": "+15550100",
    }


def test_the_related_rows_of_a_delivery_are_a_collection_of_their_own(emulator, as_user):
    delivery_id = _post(emulator, _sample_with("+15550100"))

    body = emulator.client.get(
        f"{DELIVERIES}({delivery_id})/{NAV}?$select=msdyn_keyword&$orderby=msdyn_keyword desc", headers=as_user()
    ).json()
    count = emulator.client.get(f"{DELIVERIES}({delivery_id})/{NAV}/$count", headers=as_user())

    assert body["@odata.context"] == f"{ROOT}$metadata#msdyn_proactive_delivery_attributes(msdyn_keyword)"
    assert [row["msdyn_keyword"] for row in body["value"]] == ["type", "orderNumber", "isFinalAttempt"]
    assert count.status_code == 200 and count.text == "\ufeff3"
    assert count.headers["content-type"].startswith("text/plain")


def test_expand_options_select_filter_order_and_top_apply_per_delivery(emulator, as_user):
    first = _post(emulator, _sample_with("+15550100"))
    second = _post(emulator, _sample_with("+15550101"))

    body = emulator.client.get(
        f"{DELIVERIES}?$select=msdyn_to_address&$orderby=msdyn_to_address"
        f"&$expand={NAV}($select=msdyn_keyword;$filter=msdyn_keyword ne 'type';$orderby=msdyn_keyword;$top=1)",
        headers=as_user(),
    ).json()

    assert [row["msdyn_proactive_deliveryid"] for row in body["value"]] == [first, second]
    for row in body["value"]:
        assert [item["msdyn_keyword"] for item in row[NAV]] == ["isFinalAttempt"]


def test_count_true_counts_every_match_and_slash_count_is_plain_text(emulator, as_user):
    for number in ("+15550100", "+15550101", "+15550102"):
        _post(emulator, _sample_with(number))

    body = emulator.client.get(f"{DELIVERIES}?$select=msdyn_status&$count=true&$top=1", headers=as_user()).json()
    count = emulator.client.get(f"{DELIVERIES}/$count?$filter=msdyn_to_address ne '%2B15550100'", headers=as_user())

    assert list(body) == ["@odata.context", "@odata.count", "value"]
    assert body["@odata.count"] == 3 and len(body["value"]) == 1
    assert (count.status_code, count.text) == (200, "2")
    assert count.headers["content-type"].startswith("text/plain")


def test_formatted_values_and_lookup_annotations_come_when_asked(emulator, as_user):
    delivery_id = _post(emulator, _sample_with("+15550100"))
    prefer = {"Prefer": 'odata.include-annotations="*"'}

    response = emulator.client.get(
        f"{ATTRIBUTES}?$select=msdyn_type,_msdyn_proactive_delivery_value,_ownerid_value&$top=1",
        headers=as_user(**prefer),
    )
    plain = emulator.client.get(f"{ATTRIBUTES}?$select=msdyn_type&$top=1", headers=as_user()).json()

    assert response.headers.get_list("preference-applied") == ['odata.include-annotations="*"']
    body = response.json()
    assert body["@Microsoft.Dynamics.CRM.totalrecordcount"] == -1
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is False
    [row] = body["value"]
    lookup = "_msdyn_proactive_delivery_value"
    assert list(row)[2:7] == [
        "msdyn_type@OData.Community.Display.V1.FormattedValue",
        "msdyn_type",
        f"{lookup}@OData.Community.Display.V1.FormattedValue",
        f"{lookup}@Microsoft.Dynamics.CRM.associatednavigationproperty",
        f"{lookup}@Microsoft.Dynamics.CRM.lookuplogicalname",
    ]
    assert row["msdyn_type@OData.Community.Display.V1.FormattedValue"] == "Input"
    assert row[f"{lookup}@OData.Community.Display.V1.FormattedValue"] == delivery_id  # its msdyn_delivery_id
    assert row[f"{lookup}@Microsoft.Dynamics.CRM.associatednavigationproperty"] == "msdyn_proactive_delivery"
    assert row[f"{lookup}@Microsoft.Dynamics.CRM.lookuplogicalname"] == "msdyn_proactive_delivery"
    assert row["_ownerid_value@OData.Community.Display.V1.FormattedValue"] == "Demo Agent"
    assert row["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "systemuser"
    assert not [name for name in plain["value"][0] if "@" in name and name != "@odata.etag"]


def test_only_the_named_annotations_are_included(emulator, as_user):
    emulator.post()

    row = emulator.client.get(
        f"{CONFIGS}?$select=msdyn_dialmode_type,_msdyn_queue_value&$top=1",
        headers=as_user(Prefer='odata.include-annotations="OData.Community.Display.V1.FormattedValue"'),
    ).json()["value"][0]

    assert row["msdyn_dialmode_type@OData.Community.Display.V1.FormattedValue"] in ("Copilot", "Progressive")
    assert not [name for name in row if "Microsoft.Dynamics.CRM" in name]


def test_the_service_document_lists_the_entity_sets(emulator, as_user):
    body = emulator.client.get("/api/data/v9.2/", headers=as_user()).json()

    assert body["@odata.context"] == f"{ROOT}$metadata"
    assert {"name": "msdyn_proactive_deliveries", "kind": "EntitySet", "url": "msdyn_proactive_deliveries"} in body[
        "value"
    ]
    assert {item["name"] for item in body["value"]} >= {
        "msdyn_proactive_deliveries",
        "msdyn_proactive_delivery_attributes",
        "msdyn_proactive_engagement_configs",
    }


def test_every_version_answers_with_its_own_context(emulator, as_user):
    for version in ("v9.0", "v9.1"):
        body = emulator.client.get(f"/api/data/{version}/msdyn_proactive_deliveries", headers=as_user()).json()
        assert (
            body["@odata.context"]
            == f"https://contoso.crm.dynamics.com/api/data/{version}/$metadata#msdyn_proactive_deliveries"
        )


def test_window_of_the_dialer_fixture_is_reexported(emulator):
    # The read tests share the dialer's frozen clock: a window starting now is due now.
    assert window()[0].tzinfo is not None


def test_links_follow_the_host_the_client_called(emulator, as_user):
    fixture = _sample_with("+15550100")
    other = {"Host": "localhost:8000"}
    action = emulator.client.post(VOICE_URL, json=fixture, headers={**emulator.headers, **other})
    _post(emulator, _sample_with("+15550101"))

    page = emulator.client.get(
        f"{DELIVERIES}?$select=msdyn_status", headers=as_user(Prefer="odata.maxpagesize=1", **other)
    ).json()
    created = emulator.client.post(CONFIGS, json={"msdyn_name": "x"}, headers=as_user("admin", **other)).headers[
        "odata-entityid"
    ]

    # Dataverse answers on each of its host names with links to that one (research notes 8).
    root = "https://localhost:8000/api/data/v9.2/"  # the test client speaks https, as to the org
    assert action.json()["@odata.context"].startswith(f"{root}$metadata#")
    assert page["@odata.context"].startswith(f"{root}$metadata#")
    assert page["@odata.nextLink"].startswith(f"{root}msdyn_proactive_deliveries?")
    assert created.startswith(f"{root}msdyn_proactive_engagement_configs(")


def test_an_unusable_host_header_falls_back_to_the_org_url(emulator, as_user):
    body = emulator.client.get(DELIVERIES, headers=as_user(Host="evil.example/../x y")).json()

    assert body["@odata.context"] == f"{ROOT}$metadata#msdyn_proactive_deliveries"


def test_users_are_served_and_user_lookups_expand_both_ways(emulator, as_user):
    delivery_id = _post(emulator, _sample_with("+15550100"))

    row = emulator.client.get(
        f"{DELIVERIES}({delivery_id})?$select=msdyn_status&$expand=createdby($select=fullname,domainname)",
        headers=as_user(),
    ).json()
    users = emulator.client.get(
        "/api/data/v9.2/systemusers?$select=fullname&$filter=domainname eq 'agent'"
        "&$expand=lk_msdyn_proactive_delivery_createdby($select=msdyn_to_address)",
        headers=as_user(),
    ).json()

    assert row["createdby"]["fullname"] == "Demo Agent" and row["createdby"]["domainname"] == "agent"
    assert row["@odata.context"] == (
        f"{ROOT}$metadata#msdyn_proactive_deliveries(msdyn_status,createdby(fullname,domainname))/$entity"
    )
    [agent] = users["value"]
    assert agent["fullname"] == "Demo Agent" and agent["@odata.etag"] == 'W/"1"'
    assert [item["msdyn_to_address"] for item in agent["lk_msdyn_proactive_delivery_createdby"]] == ["+15550100"]
