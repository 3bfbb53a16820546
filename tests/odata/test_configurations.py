"""Engagement configurations written over the Web API change what the actions accept (issue #5; wire-facts E11)."""

from __future__ import annotations

import uuid

import pytest

from tests.support.demo import DEMO_CONTACT
from tests.support.urls import ATTRIBUTES, CONFIGS, DELIVERIES, ROOT, VOICE_URL

NEW_CONFIG = {
    "msdyn_name": "Collections",
    "msdyn_description": "Overdue invoices",
    "msdyn_type": 100000000,
    "msdyn_dialmode_type": 100000001,
    "msdyn_priority": 2,
    "msdyn_processing_order": 700610001,
    "msdyn_max_concurrent_calls": 20,
    "msdyn_max_calls_per_agent": 2,
    "msdyn_ignore_queue_hours": True,
    "msdyn_queue@odata.bind": "/queues(5f2b0c5e-0000-4000-8000-00000000c0e9)",
}


def voice_body(config_id: str) -> dict:
    return {
        "ApiVersion": "1.0",
        "ProactiveEngagementConfigId": config_id,
        "DestinationPhoneNumber": "+15550100",
        "ContactId": DEMO_CONTACT,
    }


def create(emulator, as_user, payload=None, **headers: str):
    return emulator.client.post(CONFIGS, json=payload or NEW_CONFIG, headers=as_user("admin", **headers))


def created_id(response) -> str:
    assert response.status_code == 204, response.text
    entity_id = response.headers["odata-entityid"]
    assert entity_id.startswith(f"{ROOT}msdyn_proactive_engagement_configs(")
    return entity_id.removeprefix(f"{ROOT}msdyn_proactive_engagement_configs(").removesuffix(")")


def test_creating_changing_and_deactivating_a_configuration_changes_what_the_actions_accept(emulator, as_user):
    config_id = created_id(create(emulator, as_user))
    agent = as_user("agent")

    accepted = emulator.client.post(VOICE_URL, json=voice_body(config_id), headers=agent)
    assert accepted.status_code == 200, accepted.text
    delivery = emulator.client.get(f"{DELIVERIES}({accepted.json()['DeliveryId']})", headers=agent).json()
    assert (delivery["msdyn_dialmode_type"], delivery["msdyn_proactive_engagement_config_id"]) == (
        "Progressive",
        config_id,
    )

    changed = emulator.client.patch(f"{CONFIGS}({config_id})", json={"msdyn_type": 100000001}, headers=as_user("admin"))
    assert changed.status_code == 204
    refused = emulator.client.post(VOICE_URL, json=voice_body(config_id), headers=agent)
    assert refused.status_code == 400
    assert "needs a Voice configuration" in refused.json()["error"]["message"]

    emulator.client.patch(f"{CONFIGS}({config_id})", json={"msdyn_type": 100000000}, headers=as_user("admin"))
    deactivated = emulator.client.patch(f"{CONFIGS}({config_id})", json={"statecode": 1}, headers=as_user("admin"))
    assert deactivated.status_code == 204
    row = emulator.client.get(f"{CONFIGS}({config_id})?$select=statecode,statuscode", headers=agent).json()
    assert (row["statecode"], row["statuscode"]) == (1, 2)  # the state's default status reason
    gone = emulator.client.post(VOICE_URL, json=voice_body(config_id), headers=agent)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "0x80040217"

    emulator.client.patch(f"{CONFIGS}({config_id})", json={"statecode": 0, "statuscode": 1}, headers=as_user("admin"))
    assert emulator.client.post(VOICE_URL, json=voice_body(config_id), headers=agent).status_code == 200

    assert emulator.client.delete(f"{CONFIGS}({config_id})", headers=as_user("admin")).status_code == 204
    assert emulator.client.post(VOICE_URL, json=voice_body(config_id), headers=agent).status_code == 404


def test_a_created_configuration_reads_back_with_every_value(emulator, as_user):
    config_id = created_id(create(emulator, as_user))

    row = emulator.client.get(f"{CONFIGS}({config_id})", headers=as_user()).json()

    assert row["@odata.etag"] == 'W/"1"'
    for name, value in NEW_CONFIG.items():
        if "@" not in name:
            assert row[name] == value, name
    assert row["_msdyn_queue_value"] == "5f2b0c5e-0000-4000-8000-00000000c0e9"
    assert (row["statecode"], row["statuscode"]) == (0, 1)
    assert row["createdon"] == "2026-11-24T12:00:00Z"
    assert row["_ownerid_value"] is not None


def test_return_representation_answers_201_with_the_row(emulator, as_user):
    response = create(emulator, as_user, Prefer="return=representation")

    assert response.status_code == 201
    assert response.headers.get_list("preference-applied") == ["return=representation"]
    body = response.json()
    assert body["@odata.context"] == f"{ROOT}$metadata#msdyn_proactive_engagement_configs/$entity"
    assert body["msdyn_name"] == "Collections"
    assert response.headers["etag"] == body["@odata.etag"] == 'W/"1"'


def test_a_payload_may_name_the_new_rows_key(emulator, as_user):
    wanted = str(uuid.uuid4())
    assert (
        created_id(create(emulator, as_user, {**NEW_CONFIG, "msdyn_proactive_engagement_configid": wanted})) == wanted
    )
    again = create(emulator, as_user, {**NEW_CONFIG, "msdyn_proactive_engagement_configid": wanted})
    assert again.status_code == 412
    assert again.json()["error"] == {
        "code": "0x80040237",
        "message": "A record with matching key values already exists.",
    }


def test_patch_creates_a_missing_row_unless_if_match_says_it_must_exist(emulator, as_user):
    new_id = str(uuid.uuid4())
    must_exist = emulator.client.patch(
        f"{CONFIGS}({new_id})", json={"msdyn_name": "x"}, headers=as_user("admin", **{"If-Match": "*"})
    )
    assert must_exist.status_code == 404

    upserted = emulator.client.patch(
        f"{CONFIGS}({new_id})",
        json={"msdyn_name": "Upserted"},
        headers=as_user("admin", Prefer="return=representation"),
    )
    assert upserted.status_code == 201
    assert upserted.json()["msdyn_name"] == "Upserted"
    updated = emulator.client.patch(
        f"{CONFIGS}({new_id})", json={"msdyn_name": "Renamed"}, headers=as_user("admin", Prefer="return=representation")
    )
    assert updated.status_code == 200
    assert updated.json()["@odata.etag"] == 'W/"2"'
    refused = emulator.client.patch(
        f"{CONFIGS}({new_id})", json={"msdyn_name": "x"}, headers=as_user("admin", **{"If-None-Match": "*"})
    )
    assert refused.status_code == 412


def test_if_match_protects_against_a_lost_update(emulator, as_user):
    config_id = created_id(create(emulator, as_user))
    url = f"{CONFIGS}({config_id})"

    assert (
        emulator.client.patch(
            url, json={"msdyn_name": "v2"}, headers=as_user("admin", **{"If-Match": 'W/"1"'})
        ).status_code
        == 204
    )
    stale = emulator.client.patch(url, json={"msdyn_name": "v3"}, headers=as_user("admin", **{"If-Match": 'W/"1"'}))
    assert stale.status_code == 412
    assert stale.json()["error"] == {
        "code": "0x80060882",
        "message": "The version of the existing record doesn't match the RowVersion property provided.",
    }
    stale_delete = emulator.client.delete(url, headers=as_user("admin", **{"If-Match": 'W/"1"'}))
    assert stale_delete.status_code == 412
    assert emulator.client.delete(url, headers=as_user("admin", **{"If-Match": 'W/"2"'})).status_code == 204
    assert emulator.client.delete(url, headers=as_user("admin")).status_code == 404


@pytest.mark.parametrize(
    ("payload", "status", "code", "fragment"),
    [
        (
            {"msdyn_nope": 1},
            400,
            "0x80048d19",
            "Invalid property 'msdyn_nope' was found in entity "
            "'Microsoft.Dynamics.CRM.msdyn_proactive_engagement_config'",
        ),
        ({"_msdyn_queue_value": str(uuid.uuid4())}, 400, "0x80048d19", "Invalid property '_msdyn_queue_value'"),
        (
            {"msdyn_priority": 4},
            400,
            "0x8004431a",
            "The value 4 of 'msdyn_priority' on record of type 'msdyn_proactive_engagement_config' is outside the "
            "valid range. Accepted Values: 1,2,3",
        ),
        ({"msdyn_max_concurrent_calls": 501}, 400, "0x80044330", "The value 501 of 'msdyn_max_concurrent_calls'"),
        ({"msdyn_max_calls_per_agent": 0}, 400, "0x80044330", "outside the valid range"),
        ({"msdyn_name": "x" * 101}, 400, "0x80044331", "exceeded the maximum allowed length of '100'"),
        ({"msdyn_name": 5}, 400, "0x80048d19", "Cannot convert the literal '5' to the expected type 'Edm.String'"),
        ({"msdyn_ignore_queue_hours": "yes"}, 400, "0x80048d19", "'Edm.Boolean'"),
        ({"msdyn_priority": True}, 400, "0x80048d19", "'Edm.Int32'"),
        ({"msdyn_type": None}, 400, "0x80040200", "Attribute 'msdyn_type' cannot be set to NULL"),
        ({"msdyn_name": "a\u0000b"}, 400, "0x80048d19", "Edm.String"),
        (
            {"statecode": 0, "statuscode": 2},
            400,
            "0x8004431a",
            "2 is not a valid status code for state code msdyn_proactive_engagement_configState.Active",
        ),
        ({"msdyn_queue@odata.bind": "/accounts(5f2b0c5e-0000-4000-8000-00000000c0e9)"}, 400, "0x80048d19", "/queues("),
        (
            {"msdyn_nope@odata.bind": "/queues(5f2b0c5e-0000-4000-8000-00000000c0e9)"},
            400,
            "0x80048d19",
            "msdyn_nope@odata.bind",
        ),
        ([1, 2], 400, "0x80048d19", "JSON object"),
    ],
)
def test_a_payload_dataverse_refuses_is_refused_in_its_words(emulator, as_user, payload, status, code, fragment):
    response = create(emulator, as_user, payload)

    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert fragment in response.json()["error"]["message"]
    assert len(emulator.client.get(CONFIGS, headers=as_user()).json()["value"]) == 4  # the demo four: nothing written


def test_service_written_columns_in_a_payload_are_ignored(emulator, as_user):
    config_id = created_id(
        create(emulator, as_user, {**NEW_CONFIG, "createdon": "2001-01-01T00:00:00Z", "versionnumber": 99})
    )
    row = emulator.client.get(f"{CONFIGS}({config_id})?$select=createdon,versionnumber", headers=as_user()).json()
    assert (row["createdon"], row["versionnumber"]) == ("2026-11-24T12:00:00Z", 1)


def test_who_may_write_what(emulator, as_user):
    for user in ("agent", "supervisor"):
        response = emulator.client.post(CONFIGS, json=NEW_CONFIG, headers=as_user(user))
        assert response.status_code == 403, user
        message = response.json()["error"]["message"]
        assert response.json()["error"]["code"] == "0x80040220"
        assert "is missing prvCreatemsdyn_proactive_engagement_config privilege" in message
        assert "(LocalizedName='Proactive Engagement Configuration')" in message

    delivery_id = emulator.post()
    for url, method in ((DELIVERIES, "post"), (ATTRIBUTES, "post"), (f"{DELIVERIES}({delivery_id})", "patch")):
        response = getattr(emulator.client, method)(url, json={"msdyn_status": "Complete"}, headers=as_user("admin"))
        assert response.status_code == 403, (url, response.text)
        assert "privilege" in response.json()["error"]["message"]
    deleted = emulator.client.delete(f"{DELIVERIES}({delivery_id})", headers=as_user("admin"))
    assert deleted.status_code == 403
    assert "prvDeletemsdyn_proactive_delivery" in deleted.json()["error"]["message"]


def test_a_user_without_a_role_cannot_read(emulator, as_user):
    response = emulator.client.get(DELIVERIES, headers=as_user("norole"))

    assert response.status_code == 403
    assert "is missing prvReadmsdyn_proactive_delivery privilege" in response.json()["error"]["message"]


def test_reads_need_a_token_like_every_web_api_request(emulator):
    response = emulator.client.get(DELIVERIES)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer authorization_uri=")


def test_collections_take_no_patch_or_delete(emulator, as_user):
    for method in ("patch", "delete"):
        response = emulator.client.request(method.upper(), CONFIGS, headers=as_user("admin"))
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, POST"


def test_a_body_that_is_not_json_is_refused(emulator, as_user):
    headers = as_user("admin")
    malformed = emulator.client.post(CONFIGS, content=b'{"msdyn_name": ', headers=headers)
    wrong_type = emulator.client.post(CONFIGS, content=b"x", headers={**headers, "Content-Type": "text/plain"})

    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "0x80048d19")
    assert wrong_type.status_code == 415


def test_one_property_reads_and_writes_on_its_own(emulator, as_user):
    config_id = created_id(create(emulator, as_user))
    url = f"{CONFIGS}({config_id})"

    read = emulator.client.get(f"{url}/msdyn_name", headers=as_user())
    assert read.json() == {
        "@odata.context": f"{ROOT}$metadata#msdyn_proactive_engagement_configs({config_id})/msdyn_name",
        "value": "Collections",
    }
    put = emulator.client.put(f"{url}/msdyn_name", json={"value": "Renamed"}, headers=as_user("admin"))
    assert put.status_code == 204
    assert emulator.client.get(f"{url}/msdyn_name", headers=as_user()).json()["value"] == "Renamed"

    cleared = emulator.client.delete(f"{url}/msdyn_description", headers=as_user("admin"))
    assert cleared.status_code == 204
    assert emulator.client.get(f"{url}/msdyn_description", headers=as_user()).status_code == 204  # null
    required = emulator.client.delete(f"{url}/msdyn_priority", headers=as_user("admin"))
    assert required.json()["error"] == {
        "code": "0x80040200",
        "message": "Attribute 'msdyn_priority' cannot be set to NULL",
    }
    assert (
        emulator.client.put(
            f"{url}/msdyn_max_concurrent_calls", json={"value": 999}, headers=as_user("admin")
        ).status_code
        == 400
    )
    assert emulator.client.get(f"{url}?$select=versionnumber", headers=as_user()).json()["versionnumber"] == 3


def test_a_lookup_is_set_and_cleared_through_its_ref(emulator, as_user):
    config_id = created_id(create(emulator, as_user))
    url = f"{CONFIGS}({config_id})"
    queue = "0d0d0d0d-0000-4000-8000-000000000001"

    put = emulator.client.put(
        f"{url}/msdyn_queue/$ref", json={"@odata.id": f"{ROOT}queues({queue})"}, headers=as_user("admin")
    )
    assert put.status_code == 204
    assert emulator.client.get(f"{url}/_msdyn_queue_value", headers=as_user()).json()["value"] == queue

    assert emulator.client.delete(f"{url}/msdyn_queue/$ref", headers=as_user("admin")).status_code == 204
    assert emulator.client.get(f"{url}/_msdyn_queue_value", headers=as_user()).status_code == 204  # null
    wrong = emulator.client.put(
        f"{url}/msdyn_queue/$ref", json={"@odata.id": f"{ROOT}accounts({queue})"}, headers=as_user("admin")
    )
    assert wrong.status_code == 400


def test_single_property_changes_need_the_row_and_the_privilege(emulator, as_user):
    missing = uuid.uuid4()
    assert (
        emulator.client.put(
            f"{CONFIGS}({missing})/msdyn_name", json={"value": "x"}, headers=as_user("admin")
        ).status_code
        == 404
    )
    delivery_id = emulator.post()
    refused = emulator.client.put(
        f"{DELIVERIES}({delivery_id})/msdyn_status", json={"value": "Complete"}, headers=as_user("admin")
    )
    assert refused.status_code == 403
    assert (
        emulator.client.get(f"{DELIVERIES}({delivery_id})/msdyn_status", headers=as_user()).json()["value"] == "Pending"
    )
