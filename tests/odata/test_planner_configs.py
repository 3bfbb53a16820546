"""An engagement's planner settings over the Web API: msdyn_proactive_engagement_planner_configs (issue #13,
wire-facts B4), written by the roles that configure engagements, read by the Omnichannel roles."""

from __future__ import annotations

import uuid
from xml.etree import ElementTree

import pytest

from ccaas_emulator.clock import FixedClock, real_now
from ccaas_emulator.seed import SeedFile, apply_seed
from tests.support.demo import DEMO_VOICE_CONFIG, NOW, ORG_URL
from tests.support.tokens import Tokens, bearer
from tests.support.urls import API, CONFIGS, ROOT

PLANNERS = f"{API}/msdyn_proactive_engagement_planner_configs"
SMS_CONFIG = "b2c3d4e5-f6a7-8901-bcde-f12345678901"  # the demo SMS engagement
ENGAGEMENT = "msdyn_proactive_engagement_config_msdyn_proactive_engagement_planner_config_engagement_config"
FALLBACK = "msdyn_proactive_engagement_config_msdyn_proactive_engagement_planner_config_fallback_engagement_config"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
NEW_PLANNER = {
    "msdyn_name": "Collections reattempts",
    "msdyn_proactive_engagement_config_id@odata.bind": f"/msdyn_proactive_engagement_configs({DEMO_VOICE_CONFIG})",
    "msdyn_fallback_engagement_config_id@odata.bind": f"/msdyn_proactive_engagement_configs({SMS_CONFIG})",
    "msdyn_reattempt_rules": "192360000,192360002",
    "msdyn_number_of_retries": 2,
    "msdyn_delay_between_retries": 60,
    "msdyn_wait_time_unit": 192350000,
    "msdyn_retry_on_disposition_codes": "CALLBACK,VOICEMAIL",
    "emulator_retry_priority": 1,
    "msdyn_delay_between_contacts": 5,
    "msdyn_delay_between_contacts_unit": 192350004,
    "msdyn_delay_between_phone_numbers": 1,
    "msdyn_delay_between_phone_numbers_unit": 192350003,
    "msdyn_comm_phone_type_priority": "HomePhoneNumber,MobilePhoneNumber",
    "msdyn_comm_time_zone_handling": 192350000,
    "msdyn_comm_max_frequency_per_day": 3,
}


def create(emulator, as_user, payload=None, user: str = "admin", **headers: str):
    return emulator.client.post(PLANNERS, json=payload or NEW_PLANNER, headers=as_user(user, **headers))


def created_id(response) -> str:
    assert response.status_code == 204, response.text
    prefix = f"{ROOT}msdyn_proactive_engagement_planner_configs("
    assert response.headers["odata-entityid"].startswith(prefix)
    return response.headers["odata-entityid"].removeprefix(prefix).removesuffix(")")


def rows(emulator, as_user) -> list[dict]:
    response = emulator.client.get(PLANNERS, headers=as_user())
    assert response.status_code == 200, response.text
    return response.json()["value"]


def test_planner_settings_bound_to_an_engagement_read_back_with_every_value(emulator, as_user):
    planner_id = created_id(create(emulator, as_user))

    row = emulator.client.get(f"{PLANNERS}({planner_id})", headers=as_user()).json()

    assert row["@odata.etag"] == 'W/"1"'
    assert row["_msdyn_proactive_engagement_config_id_value"] == DEMO_VOICE_CONFIG
    assert row["_msdyn_fallback_engagement_config_id_value"] == SMS_CONFIG
    for name, value in NEW_PLANNER.items():
        if "@" not in name:
            assert row[name] == value, name
    assert row["msdyn_number_of_retries"] == 2
    assert (row["statecode"], row["statuscode"]) == (0, 1)
    assert row["msdyn_comm_frequency_limit_enabled"] is False
    assert row["createdon"] == "2026-11-24T12:00:00Z"
    assert row["_ownerid_value"] is not None


def test_a_multi_select_choice_reads_back_as_dataverse_writes_it(emulator, as_user):
    planner_id = created_id(create(emulator, as_user, {**NEW_PLANNER, "msdyn_reattempt_rules": "192360003, 192360000"}))
    url = f"{PLANNERS}({planner_id})?$select=msdyn_reattempt_rules"
    annotated = as_user(Prefer='odata.include-annotations="OData.Community.Display.V1.FormattedValue"')

    row = emulator.client.get(url, headers=annotated).json()

    assert row["msdyn_reattempt_rules"] == "192360000,192360003"  # option order, no spaces
    assert row["msdyn_reattempt_rules@OData.Community.Display.V1.FormattedValue"] == "No Answer; Answering Machine"
    alone = emulator.client.get(f"{PLANNERS}({planner_id})/msdyn_reattempt_rules", headers=as_user())
    assert alone.json()["value"] == "192360000,192360003"
    cleared = emulator.client.patch(
        f"{PLANNERS}({planner_id})", json={"msdyn_reattempt_rules": None}, headers=as_user("admin")
    )
    assert cleared.status_code == 204
    assert emulator.client.get(url, headers=as_user()).json()["msdyn_reattempt_rules"] is None


def test_an_engagements_planner_settings_are_found_by_its_lookup_and_expanded_both_ways(emulator, as_user):
    planner_id = created_id(create(emulator, as_user))
    created_id(create(emulator, as_user, {"msdyn_name": "unbound"}))

    found = emulator.client.get(
        f"{PLANNERS}?$select=msdyn_name&$filter=_msdyn_proactive_engagement_config_id_value eq {DEMO_VOICE_CONFIG}"
        "&$expand=msdyn_proactive_engagement_config_id($select=msdyn_name),"
        "msdyn_fallback_engagement_config_id($select=msdyn_type)",
        headers=as_user(),
    ).json()
    [row] = found["value"]
    assert row["msdyn_proactive_engagement_planner_configid"] == planner_id
    assert row["msdyn_proactive_engagement_config_id"]["msdyn_name"].startswith("Demo voice engagement")
    assert row["msdyn_fallback_engagement_config_id"]["msdyn_type"] == 100000001  # SMS

    config = emulator.client.get(
        f"{CONFIGS}({DEMO_VOICE_CONFIG})?$select=msdyn_name&$expand={ENGAGEMENT}($select=msdyn_number_of_retries)",
        headers=as_user(),
    ).json()
    assert [item["msdyn_number_of_retries"] for item in config[ENGAGEMENT]] == [2]
    related = emulator.client.get(f"{CONFIGS}({SMS_CONFIG})/{FALLBACK}", headers=as_user()).json()
    assert [item["msdyn_proactive_engagement_planner_configid"] for item in related["value"]] == [planner_id]


def test_planner_settings_change_and_go_like_any_row(emulator, as_user):
    planner_id = created_id(create(emulator, as_user))
    url = f"{PLANNERS}({planner_id})"

    changed = emulator.client.patch(
        url,
        json={"msdyn_number_of_retries": 0, "msdyn_fallback_engagement_config_id@odata.bind": None},
        headers=as_user("admin", **{"If-Match": 'W/"1"'}),
    )
    assert changed.status_code == 204
    row = emulator.client.get(url, headers=as_user()).json()
    assert (row["msdyn_number_of_retries"], row["_msdyn_fallback_engagement_config_id_value"]) == (0, None)
    put = emulator.client.put(f"{url}/msdyn_wait_time_unit", json={"value": 192350001}, headers=as_user("admin"))
    assert put.status_code == 204
    assert emulator.client.get(f"{url}/msdyn_wait_time_unit", headers=as_user()).json()["value"] == 192350001

    assert emulator.client.delete(url, headers=as_user("admin")).status_code == 204
    assert emulator.client.get(url, headers=as_user()).status_code == 404


@pytest.mark.parametrize(
    ("payload", "status", "code", "fragment"),
    [
        (
            {"msdyn_reattempt_rules": "192360000,5"},
            400,
            "0x8004431a",
            "The value 5 of 'msdyn_reattempt_rules' on record of type 'msdyn_proactive_engagement_planner_config' "
            "is outside the valid range. Accepted Values: 192360000,192360001,192360002,192360003",
        ),
        ({"msdyn_reattempt_rules": "No Answer"}, 400, "0x8004431a", "The value No Answer of 'msdyn_reattempt_rules'"),
        ({"msdyn_reattempt_rules": "192360000,"}, 400, "0x8004431a", "outside the valid range"),
        ({"msdyn_reattempt_rules": "+192360000"}, 400, "0x8004431a", "outside the valid range"),
        ({"msdyn_reattempt_rules": 192360000}, 400, "0x80048d19", "to the expected type 'Edm.String'"),
        (
            {"msdyn_comm_phone_type_priority": "MobilePhoneNumber,Fax"},
            400,
            "0x80040203",
            "The value of 'msdyn_comm_phone_type_priority' is not valid: 'Fax' is not a phone type; use "
            "MobilePhoneNumber, BusinessPhoneNumber, HomePhoneNumber.",
        ),
        ({"msdyn_comm_phone_type_priority": ["HomePhoneNumber"]}, 400, "0x80048d19", "'Edm.String'"),
        ({"msdyn_number_of_retries": -1}, 400, "0x80044330", "Minimum: 0, Maximum: 2147483647."),
        ({"msdyn_delay_between_retries": 2**31}, 400, "0x80044330", "outside the valid range"),
        ({"msdyn_wait_time_unit": 192350002}, 400, "0x8004431a", "Accepted Values: 192350000,192350001"),
        ({"msdyn_delay_between_contacts_unit": 192350002}, 400, "0x8004431a", "Accepted Values: 192350004,192350005"),
        ({"emulator_retry_priority": 7}, 400, "0x8004431a", "The value 7 of 'emulator_retry_priority'"),
        ({"msdyn_comm_frequency_limit_enabled": None}, 400, "0x80040200", "cannot be set to NULL"),
        ({"msdyn_retry_on_disposition_codes": "x" * 501}, 400, "0x80044331", "maximum allowed length of '500'"),
        ({"emulator_task_id": str(uuid.uuid4())}, 400, "0x80048d19", "Invalid property 'emulator_task_id'"),
        (
            {"msdyn_proactive_engagement_config_id@odata.bind": f"/queues({DEMO_VOICE_CONFIG})"},
            400,
            "0x80048d19",
            "/msdyn_proactive_engagement_configs(",
        ),
        (
            {
                "msdyn_proactive_engagement_config_id@odata.bind": "/msdyn_proactive_engagement_configs(%s)"
                % ("0" * 8 + "-0000-4000-8000-" + "0" * 12)
            },
            404,
            "0x80040217",
            "Entity 'msdyn_proactive_engagement_config' With Id = 00000000-0000-4000-8000-000000000000 Does Not Exist",
        ),
    ],
)
def test_a_planner_payload_dataverse_refuses_is_refused_in_its_words(
    emulator, as_user, payload, status, code, fragment
):
    response = create(emulator, as_user, {**NEW_PLANNER, **payload})

    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert fragment in response.json()["error"]["message"]
    assert rows(emulator, as_user) == []  # nothing written


def test_a_change_to_a_refused_value_leaves_the_row_as_it_was(emulator, as_user):
    planner_id = created_id(create(emulator, as_user))
    url = f"{PLANNERS}({planner_id})"

    for change in (
        {"msdyn_comm_phone_type_priority": "HomePhoneNumber,PagerNumber"},
        {"msdyn_reattempt_rules": "192360004"},
        {"msdyn_fallback_engagement_config_id@odata.bind": f"/msdyn_proactive_engagement_configs({uuid.uuid4()})"},
    ):
        refused = emulator.client.patch(url, json=change, headers=as_user("admin"))
        assert refused.status_code in (400, 404), change
    row = emulator.client.get(url, headers=as_user()).json()
    assert row["@odata.etag"] == 'W/"1"'
    assert row["msdyn_comm_phone_type_priority"] == "HomePhoneNumber,MobilePhoneNumber"


def test_the_omnichannel_roles_read_planner_settings_and_only_configuring_roles_write_them(emulator, as_user):
    planner_id = created_id(create(emulator, as_user))
    url = f"{PLANNERS}({planner_id})"

    for user in ("agent", "supervisor"):
        assert emulator.client.get(url, headers=as_user(user)).status_code == 200, user
        refused = create(emulator, as_user, user=user)
        assert refused.status_code == 403, user
        assert refused.json()["error"]["code"] == "0x80040220"
        message = refused.json()["error"]["message"]
        assert "is missing prvCreatemsdyn_proactive_engagement_planner_config privilege" in message
        assert "(LocalizedName='Proactive Engagement Planner Configuration')" in message
        changed = emulator.client.patch(url, json={"msdyn_number_of_retries": 9}, headers=as_user(user))
        assert "prvWritemsdyn_proactive_engagement_planner_config" in changed.json()["error"]["message"]
        deleted = emulator.client.delete(url, headers=as_user(user))
        assert "prvDeletemsdyn_proactive_engagement_planner_config" in deleted.json()["error"]["message"]
    no_role = emulator.client.get(PLANNERS, headers=as_user("norole"))
    assert no_role.status_code == 403
    assert "prvReadmsdyn_proactive_engagement_planner_config" in no_role.json()["error"]["message"]
    assert emulator.client.get(url, headers=as_user()).json()["msdyn_number_of_retries"] == 2


def test_an_omnichannel_administrator_configures_planner_settings(emulator):
    object_id = uuid.uuid4()
    emulator.seed(users=[{"userName": "omniadmin", "objectId": str(object_id), "roles": ["Omnichannel administrator"]}])
    runtime = emulator.client.app.state.runtime
    headers = bearer(Tokens(runtime.keys, runtime.settings, real_now()).for_user("omniadmin", object_id=object_id))

    created = emulator.client.post(PLANNERS, json=NEW_PLANNER, headers=headers)
    planner_id = created_id(created)
    changed = emulator.client.patch(
        f"{PLANNERS}({planner_id})",
        json={"msdyn_number_of_retries": 1},
        headers={**headers, "Prefer": "return=representation"},
    )
    assert (changed.status_code, changed.json()["msdyn_number_of_retries"]) == (200, 1)
    assert emulator.client.delete(f"{PLANNERS}({planner_id})", headers=headers).status_code == 204


def test_the_planner_table_is_in_the_metadata(emulator, as_user):
    response = emulator.client.get(f"{API}/$metadata", headers=as_user())
    [found] = ElementTree.fromstring(response.content).iter(f"{EDM}Schema")
    types = {item.get("Name"): item for item in found.findall(f"{EDM}EntityType")}

    planner = types["msdyn_proactive_engagement_planner_config"]
    assert [ref.get("Name") for ref in planner.iter(f"{EDM}PropertyRef")] == [
        "msdyn_proactive_engagement_planner_configid"
    ]
    properties = {item.get("Name"): item.get("Type") for item in planner.findall(f"{EDM}Property")}
    assert properties["msdyn_reattempt_rules"] == "Edm.String"  # a multi-select choice, as Dataverse types it
    assert properties["msdyn_wait_time_unit"] == properties["emulator_retry_priority"] == "Edm.Int32"
    assert properties["_msdyn_proactive_engagement_config_id_value"] == "Edm.Guid"
    assert [name for name in properties if name.startswith("emulator_")] == ["emulator_retry_priority"]
    navigations = {item.get("Name"): item for item in planner.findall(f"{EDM}NavigationProperty")}
    lookup = navigations["msdyn_proactive_engagement_config_id"]
    assert (lookup.get("Type"), lookup.get("Partner")) == ("mscrm.msdyn_proactive_engagement_config", ENGAGEMENT)
    [constraint] = lookup.findall(f"{EDM}ReferentialConstraint")
    assert constraint.get("Property") == "_msdyn_proactive_engagement_config_id_value"
    assert navigations["msdyn_fallback_engagement_config_id"].get("Partner") == FALLBACK

    config_navigations = {
        item.get("Name"): item.get("Type")
        for item in types["msdyn_proactive_engagement_config"].findall(f"{EDM}NavigationProperty")
    }
    collection = "Collection(mscrm.msdyn_proactive_engagement_planner_config)"
    assert config_navigations == {ENGAGEMENT: collection, FALLBACK: collection}
    [container] = found.findall(f"{EDM}EntityContainer")
    assert "msdyn_proactive_engagement_planner_configs" in {item.get("Name") for item in container}


def test_a_multi_select_choice_is_filtered_and_ordered_as_its_text(emulator, as_user):
    for rules in ("192360000,192360001", "192360003", None):
        created_id(create(emulator, as_user, {**NEW_PLANNER, "msdyn_reattempt_rules": rules}))

    def names(query: str) -> list[str | None]:
        response = emulator.client.get(f"{PLANNERS}?$select=msdyn_reattempt_rules&{query}", headers=as_user())
        assert response.status_code == 200, response.text
        return [row["msdyn_reattempt_rules"] for row in response.json()["value"]]

    assert names("$filter=msdyn_reattempt_rules eq '192360003'") == ["192360003"]
    assert names("$filter=contains(msdyn_reattempt_rules,'192360001')") == ["192360000,192360001"]
    assert names("$filter=msdyn_reattempt_rules eq null") == [None]
    assert names("$filter=msdyn_reattempt_rules ne null&$orderby=msdyn_reattempt_rules desc") == [
        "192360003",
        "192360000,192360001",
    ]
    paged = emulator.client.get(
        f"{PLANNERS}?$select=msdyn_reattempt_rules&$orderby=msdyn_reattempt_rules",
        headers=as_user(Prefer="odata.maxpagesize=1"),
    ).json()
    following = emulator.client.get(paged["@odata.nextLink"].removeprefix(ORG_URL), headers=as_user()).json()
    assert [row["msdyn_reattempt_rules"] for row in paged["value"]] == [None]  # nulls first, as Dataverse
    assert [row["msdyn_reattempt_rules"] for row in following["value"]] == ["192360000,192360001", "192360003"]


SEEDED_PLANNER = {
    "reattemptRules": ["Failed", "No Answer"],
    "numberOfRetries": 2,
    "delayBetweenRetries": 1,
    "waitTimeUnit": "Hours",
    "retryOnDispositionCodes": ["CALLBACK", "VOICEMAIL"],
    "retryPriority": "Lower than new deliveries",
    "delayBetweenContacts": 10,
    "phoneTypePriority": ["HomePhoneNumber", "MobilePhoneNumber"],
    "fallbackConfigurationId": SMS_CONFIG,
}


def seeded_planners(emulator, as_user, config_id: str) -> list[dict]:
    response = emulator.client.get(
        f"{PLANNERS}?$filter=_msdyn_proactive_engagement_config_id_value eq {config_id}", headers=as_user()
    )
    assert response.status_code == 200, response.text
    return response.json()["value"]


def test_a_seed_file_sets_an_engagements_planner_settings(emulator, as_user):
    config_id = str(uuid.uuid4())
    emulator.seed(configurations=[{"id": config_id, "name": "Seeded", "planner": SEEDED_PLANNER}])

    [row] = seeded_planners(emulator, as_user, config_id)

    assert row["msdyn_name"] == "Seeded"
    assert row["msdyn_reattempt_rules"] == "192360000,192360002"
    assert (row["msdyn_number_of_retries"], row["msdyn_delay_between_retries"]) == (2, 1)
    assert row["msdyn_wait_time_unit"] == 192350001  # Hours
    assert row["msdyn_retry_on_disposition_codes"] == "CALLBACK,VOICEMAIL"
    assert row["emulator_retry_priority"] == 2  # Lower than new deliveries
    assert (row["msdyn_delay_between_contacts"], row["msdyn_delay_between_contacts_unit"]) == (10, 192350004)
    assert (row["msdyn_delay_between_phone_numbers"], row["msdyn_delay_between_phone_numbers_unit"]) == (0, 192350002)
    assert row["msdyn_comm_phone_type_priority"] == "HomePhoneNumber,MobilePhoneNumber"
    assert row["_msdyn_fallback_engagement_config_id_value"] == SMS_CONFIG
    assert (row["statecode"], row["@odata.etag"]) == (0, 'W/"1"')


def test_seeding_again_changes_the_engagements_own_planner_row(emulator, as_user):
    config_id = str(uuid.uuid4())
    emulator.seed(configurations=[{"id": config_id, "name": "Seeded"}])
    bound = {"msdyn_proactive_engagement_config_id@odata.bind": f"/msdyn_proactive_engagement_configs({config_id})"}
    planner_id = created_id(create(emulator, as_user, {"msdyn_name": "By hand", **bound}))

    emulator.seed(configurations=[{"id": config_id, "name": "Seeded", "planner": {**SEEDED_PLANNER, "active": False}}])

    [row] = seeded_planners(emulator, as_user, config_id)
    assert row["msdyn_proactive_engagement_planner_configid"] == planner_id
    assert (row["msdyn_name"], row["msdyn_number_of_retries"], row["statecode"]) == ("Seeded", 2, 1)
    assert row["@odata.etag"] == 'W/"2"'


def test_the_demo_seed_adds_planner_settings_only_where_missing(emulator, as_user):
    config_id = str(uuid.uuid4())
    entry = {"id": config_id, "name": "Seeded", "planner": {**SEEDED_PLANNER, "name": "Kept"}}
    emulator.seed(configurations=[entry])
    changed = {**entry, "planner": {**SEEDED_PLANNER, "numberOfRetries": 5}}

    with emulator.database.transaction() as session:
        counts = apply_seed(
            session, SeedFile.model_validate({"configurations": [changed]}), clock=FixedClock(NOW), overwrite=False
        )

    assert counts["planners"] == 0
    [row] = seeded_planners(emulator, as_user, config_id)
    assert (row["msdyn_name"], row["msdyn_number_of_retries"]) == ("Kept", 2)


def test_deleting_an_engagement_removes_the_link_and_keeps_its_planner_settings(emulator, as_user):
    config = emulator.engagement()
    bind = f"/msdyn_proactive_engagement_configs({config})"
    planner_id = created_id(create(emulator, as_user, NEW_PLANNER | {
        "msdyn_proactive_engagement_config_id@odata.bind": bind, "msdyn_fallback_engagement_config_id@odata.bind": bind,
    }))  # fmt: skip

    deleted = emulator.client.delete(f"{CONFIGS}({config})", headers=as_user("admin"))

    assert deleted.status_code == 204, deleted.text
    row = emulator.client.get(f"{PLANNERS}({planner_id})", headers=as_user()).json()
    # The relationships' cascade on delete is RemoveLink (the planner table's entity reference).
    assert row["_msdyn_proactive_engagement_config_id_value"] is None
    assert row["_msdyn_fallback_engagement_config_id_value"] is None
    assert row["@odata.etag"] == 'W/"3"'  # one change per relationship, as each cascade is its own update
