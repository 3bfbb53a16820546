"""Quiet-time settings over the Web API: msdynmkt_quiettimesettings (issue #14 item 2; the table's documented shape in
docs/history/2026-11-30-quiet-time-research.md), the planner's three lookups to them, and seed files. The JSON in the
Memo columns is the emulator's (quiet_hours.py); a value it cannot read is refused. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest

from ccaas_emulator.auth.privileges import PRIVILEGE_NAMESPACE, object_type_code
from ccaas_emulator.clock import FixedClock, real_now
from ccaas_emulator.seed import SeedError, SeedFile, apply_seed, read_seed_file
from tests.support.demo import DEMO_USERS, NOW
from tests.support.tokens import Tokens, bearer
from tests.support.urls import API, ROOT

SETTINGS = f"{API}/msdynmkt_quiettimesettings"
PLANNERS = f"{API}/msdyn_proactive_engagement_planner_configs"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
TABLE = "msdynmkt_quiettimesetting"
ADMIN_USER_ID = str(uuid.uuid5(DEMO_USERS["admin"], "systemuser"))
# The planner's relationships to the table, as its generated entity reference names them.
MOBILE = "msdyn_proactive_engagement_planner_config_comm_quiet_time_setting_mobile_phone_msdynmkt_quiettimeset"
BUSINESS = "msdyn_proactive_engagement_planner_config_comm_quiet_time_setting_business_phone_msdynmkt_quiettimes"
HOME = "msdyn_proactive_engagement_planner_config_comm_quiet_time_setting_home_phone_msdynmkt_quiettimesetti"
EVERY_DAY = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NIGHTS = [{"day": day, "start": "21:00", "end": "24:00"} for day in EVERY_DAY] + [
    {"day": day, "start": "00:00", "end": "08:00"} for day in EVERY_DAY
]
WEEKENDS = [{"day": "Saturday", "start": "00:00", "end": "24:00"}, {"day": "Sunday", "start": "00:00", "end": "24:00"}]
HOLIDAYS = [{"start": "2026-12-24", "end": "2026-12-26"}]
NEW_SETTING = {
    "msdynmkt_name": "Nights and holidays",
    "msdynmkt_timezonesource": 2,
    "msdynmkt_transactionalweeklyhours": json.dumps(NIGHTS),
    "msdynmkt_commercialweeklyhours": json.dumps(WEEKENDS),
    "msdynmkt_transactionaldates": json.dumps(HOLIDAYS),
    "msdynmkt_commercialdates": "[]",
    "msdynmkt_advancedquiettimes": "not read by the emulator",
}


def create(emulator, as_user, payload=None, user: str = "admin", url: str = SETTINGS):
    return emulator.client.post(url, json=NEW_SETTING if payload is None else payload, headers=as_user(user))


def created_id(response, entity_set: str = "msdynmkt_quiettimesettings") -> str:
    assert response.status_code == 204, response.text
    prefix = f"{ROOT}{entity_set}("
    assert response.headers["odata-entityid"].startswith(prefix)
    return response.headers["odata-entityid"].removeprefix(prefix).removesuffix(")")


def envelope(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def invalid(column: str, reason: str) -> dict:
    """The 400 a Memo value quiet_hours.py cannot read gets."""
    return envelope("0x80040203", f"The value of '{column}' is not valid: {reason}")


def rows(emulator, as_user) -> list[dict]:
    response = emulator.client.get(SETTINGS, headers=as_user())
    assert response.status_code == 200, response.text
    return response.json()["value"]


# --- create, read, change, delete -------------------------------------------------------------------------------


def test_a_quiet_time_setting_reads_back_exactly_as_written(emulator, as_user):
    setting_id = created_id(create(emulator, as_user))

    response = emulator.client.get(f"{SETTINGS}({setting_id})", headers=as_user())

    assert response.status_code == 200, response.text
    assert response.headers["etag"] == 'W/"1"'
    assert response.json() == {
        "@odata.context": f"{ROOT}$metadata#msdynmkt_quiettimesettings/$entity",
        "@odata.etag": 'W/"1"',
        "msdynmkt_quiettimesettingid": setting_id,
        **NEW_SETTING,
        "statecode": 0,
        "statuscode": 1,
        "createdon": "2026-11-24T12:00:00Z",
        "modifiedon": "2026-11-24T12:00:00Z",
        "_ownerid_value": ADMIN_USER_ID,
        "versionnumber": 1,
        "importsequencenumber": None,
    }


def test_settings_are_listed_filtered_and_selected_like_any_rows(emulator, as_user):
    nights = created_id(create(emulator, as_user))
    created_id(create(emulator, as_user, {"msdynmkt_name": "Never quiet", "msdynmkt_timezonesource": 1}))
    annotated = as_user(Prefer='odata.include-annotations="OData.Community.Display.V1.FormattedValue"')

    response = emulator.client.get(
        f"{SETTINGS}?$select=msdynmkt_name,msdynmkt_timezonesource&$filter=msdynmkt_timezonesource eq 2"
        " and contains(msdynmkt_transactionalweeklyhours,'Sunday')",
        headers=annotated,
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "@odata.context": f"{ROOT}$metadata#msdynmkt_quiettimesettings(msdynmkt_name,msdynmkt_timezonesource)",
        "value": [
            {
                "@odata.etag": 'W/"1"',
                "msdynmkt_quiettimesettingid": nights,
                "msdynmkt_name": "Nights and holidays",
                "msdynmkt_timezonesource": 2,
                "msdynmkt_timezonesource@OData.Community.Display.V1.FormattedValue": "Use audience timezone",
            }
        ],
    }
    assert sorted(row["msdynmkt_name"] for row in rows(emulator, as_user)) == ["Never quiet", "Nights and holidays"]


def test_a_setting_changes_and_goes_like_any_row(emulator, as_user):
    setting_id = created_id(create(emulator, as_user))
    url = f"{SETTINGS}({setting_id})"
    mornings = json.dumps([{"day": "Monday", "start": "00:00", "end": "09:30"}])

    changed = emulator.client.patch(
        url,
        json={"msdynmkt_transactionalweeklyhours": mornings, "msdynmkt_transactionaldates": None},
        headers=as_user("admin", **{"If-Match": 'W/"1"', "Prefer": "return=representation"}),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["msdynmkt_transactionalweeklyhours"] == mornings
    assert (changed.json()["msdynmkt_transactionaldates"], changed.json()["@odata.etag"]) == (None, 'W/"2"')

    christmas = json.dumps([{"start": "2026-12-25", "end": "2026-12-25"}])
    put = emulator.client.put(f"{url}/msdynmkt_commercialdates", json={"value": christmas}, headers=as_user("admin"))
    assert put.status_code == 204, put.text
    alone = emulator.client.get(f"{url}/msdynmkt_commercialdates", headers=as_user()).json()
    context = f"{ROOT}$metadata#msdynmkt_quiettimesettings({setting_id})/msdynmkt_commercialdates"
    assert alone == {"@odata.context": context, "value": christmas}

    stale = emulator.client.patch(
        url, json={"msdynmkt_name": "late"}, headers=as_user("admin", **{"If-Match": 'W/"1"'})
    )
    assert stale.status_code == 412
    assert emulator.client.delete(url, headers=as_user("admin")).status_code == 204
    gone = emulator.client.get(url, headers=as_user())
    assert (gone.status_code, gone.json()) == (
        404,
        envelope("0x80040217", f"Entity 'msdynmkt_quiettimesetting' With Id = {setting_id} Does Not Exist"),
    )


# --- what a write may carry ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "status", "expected"),
    [
        (
            {"msdynmkt_transactionalweeklyhours": "Mon-Fri 21:00-08:00"},
            400,
            invalid("msdynmkt_transactionalweeklyhours", "msdynmkt_transactionalweeklyhours must be a JSON array."),
        ),
        (
            {"msdynmkt_commercialweeklyhours": '{"day": "Monday", "start": "21:00", "end": "24:00"}'},
            400,
            invalid("msdynmkt_commercialweeklyhours", "msdynmkt_commercialweeklyhours must be a JSON array."),
        ),
        (
            {"msdynmkt_transactionalweeklyhours": '[{"day": "Mon", "start": "21:00", "end": "24:00"}]'},
            400,
            invalid(
                "msdynmkt_transactionalweeklyhours",
                "msdynmkt_transactionalweeklyhours[0].day must be one of Monday, Tuesday, Wednesday, Thursday, "
                "Friday, Saturday, Sunday.",
            ),
        ),
        (
            {"msdynmkt_commercialweeklyhours": '[{"day": "Friday", "start": "21:00", "end": "08:00"}]'},
            400,
            invalid(
                "msdynmkt_commercialweeklyhours",
                "msdynmkt_commercialweeklyhours[0]: end must be after start (a night is two entries, split at "
                "midnight).",
            ),
        ),
        (
            {"msdynmkt_transactionalweeklyhours": '[{"day": "Friday", "start": "9pm", "end": "24:00"}]'},
            400,
            invalid(
                "msdynmkt_transactionalweeklyhours",
                "msdynmkt_transactionalweeklyhours[0].start '9pm' is not a time such as \"21:00\".",
            ),
        ),
        (
            {"msdynmkt_transactionaldates": '[{"start": "2026-12-24"}]'},
            400,
            invalid(
                "msdynmkt_transactionaldates",
                'msdynmkt_transactionaldates[0] must be {"start": "2026-12-24", "end": "2026-12-26"}.',
            ),
        ),
        (
            {"msdynmkt_commercialdates": '[{"start": "2026-12-26", "end": "2026-12-24"}]'},
            400,
            invalid("msdynmkt_commercialdates", "msdynmkt_commercialdates[0]: end must not be before start."),
        ),
        (
            {
                "msdynmkt_commercialdates": '[{"start": "2026-12-01", "end": "2026-12-21"}, {"start": "2026-12-01", '
                '"end": "2026-12-22"}]'
            },
            400,
            invalid("msdynmkt_commercialdates", "msdynmkt_commercialdates[1]: a quiet period lasts at most 21 days."),
        ),
        (
            {"msdynmkt_transactionaldates": '[{"start": "24/12/2026", "end": "26/12/2026"}]'},
            400,
            invalid(
                "msdynmkt_transactionaldates",
                'msdynmkt_transactionaldates[0]: start and end must be dates such as "2026-12-24".',
            ),
        ),
        (
            {"msdynmkt_transactionalweeklyhours": NIGHTS},  # the array itself, not its text
            400,
            envelope(
                "0x80048d19",
                "Error identified in Payload provided by the user for Entity :'msdynmkt_quiettimesettings', For more "
                "information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid="
                "2195293  ----> InnerException : Microsoft.OData.ODataException: Cannot convert the literal "
                f"'{str(NIGHTS)[:100]}…' to the expected type 'Edm.String'.",
            ),
        ),
        (
            {"msdynmkt_timezonesource": 3},
            400,
            envelope(
                "0x8004431a",
                "A validation error occurred. The value 3 of 'msdynmkt_timezonesource' on record of type "
                "'msdynmkt_quiettimesetting' is outside the valid range. Accepted Values: 1,2",
            ),
        ),
        (
            {"msdynmkt_advancedquiettimes": "x" * 1_000_001},
            400,
            envelope(
                "0x80044331",
                "A validation error occurred.  The length of the 'msdynmkt_advancedquiettimes' attribute of the "
                "'msdynmkt_quiettimesetting' entity exceeded the maximum allowed length of '1000000'.",
            ),
        ),
        (
            {"msdynmkt_name": "n" * 101},
            400,
            envelope(
                "0x80044331",
                "A validation error occurred.  The length of the 'msdynmkt_name' attribute of the "
                "'msdynmkt_quiettimesetting' entity exceeded the maximum allowed length of '100'.",
            ),
        ),
    ],
)
def test_a_setting_the_emulator_cannot_read_is_refused_in_the_envelope(emulator, as_user, payload, status, expected):
    response = create(emulator, as_user, {**NEW_SETTING, **payload})

    assert (response.status_code, response.json()) == (status, expected)
    assert rows(emulator, as_user) == []  # nothing written


def test_a_refused_change_leaves_the_setting_as_it_was(emulator, as_user):
    setting_id = created_id(create(emulator, as_user))
    url = f"{SETTINGS}({setting_id})"
    bad_day = '[{"day": "Someday", "start": "21:00", "end": "24:00"}]'
    refusal = invalid(
        "msdynmkt_commercialweeklyhours",
        "msdynmkt_commercialweeklyhours[0].day must be one of Monday, Tuesday, Wednesday, Thursday, Friday, "
        "Saturday, Sunday.",
    )

    patched = emulator.client.patch(url, json={"msdynmkt_commercialweeklyhours": bad_day}, headers=as_user("admin"))
    put = emulator.client.put(
        f"{url}/msdynmkt_commercialweeklyhours", json={"value": bad_day}, headers=as_user("admin")
    )
    upserted = emulator.client.patch(
        f"{SETTINGS}({uuid.uuid4()})", json={"msdynmkt_commercialweeklyhours": bad_day}, headers=as_user("admin")
    )

    assert (patched.status_code, patched.json()) == (400, refusal)
    assert (put.status_code, put.json()) == (400, refusal)
    assert (upserted.status_code, upserted.json()) == (400, refusal)
    row = emulator.client.get(url, headers=as_user()).json()
    assert (row["@odata.etag"], row["msdynmkt_commercialweeklyhours"]) == ('W/"1"', json.dumps(WEEKENDS))
    assert len(rows(emulator, as_user)) == 1


def test_empty_memo_values_mean_no_quiet_times_and_advanced_rules_are_stored_as_given(emulator, as_user):
    advanced = "x" * 1_000_000  # the column's documented maximum
    payload = {"msdynmkt_name": "Empty", "msdynmkt_transactionalweeklyhours": "", "msdynmkt_commercialdates": " ",
               "msdynmkt_advancedquiettimes": advanced}  # fmt: skip
    setting_id = created_id(create(emulator, as_user, payload))

    row = emulator.client.get(f"{SETTINGS}({setting_id})", headers=as_user()).json()

    assert row["msdynmkt_transactionalweeklyhours"] == ""
    assert row["msdynmkt_commercialdates"] == " "
    assert row["msdynmkt_advancedquiettimes"] == advanced


# --- the planner's lookups ----------------------------------------------------------------------------------------


def test_a_planner_binds_a_setting_per_phone_type_and_both_expand(emulator, as_user):
    nights = created_id(create(emulator, as_user))
    weekends = created_id(create(emulator, as_user, {"msdynmkt_name": "Weekends", "msdynmkt_commercialweeklyhours":
                                                     json.dumps(WEEKENDS)}))  # fmt: skip
    planner = {
        "msdyn_name": "Quiet planner",
        "msdyn_comm_quiet_time_setting_mobile_phone@odata.bind": f"/msdynmkt_quiettimesettings({nights})",
        "msdyn_comm_quiet_time_setting_business_phone@odata.bind": f"/msdynmkt_quiettimesettings({weekends})",
        "msdyn_comm_quiet_time_setting_home_phone@odata.bind": f"/msdynmkt_quiettimesettings({nights})",
    }
    planner_id = created_id(
        create(emulator, as_user, planner, url=PLANNERS), "msdyn_proactive_engagement_planner_configs"
    )

    expanded = emulator.client.get(
        f"{PLANNERS}({planner_id})?$select=msdyn_name,_msdyn_comm_quiet_time_setting_mobile_phone_value,"
        "_msdyn_comm_quiet_time_setting_business_phone_value,_msdyn_comm_quiet_time_setting_home_phone_value"
        "&$expand=msdyn_comm_quiet_time_setting_mobile_phone($select=msdynmkt_name),"
        "msdyn_comm_quiet_time_setting_business_phone($select=msdynmkt_commercialweeklyhours)",
        headers=as_user(),
    )
    assert expanded.status_code == 200, expanded.text
    row = expanded.json()
    assert row["_msdyn_comm_quiet_time_setting_mobile_phone_value"] == nights
    assert row["_msdyn_comm_quiet_time_setting_business_phone_value"] == weekends
    assert row["_msdyn_comm_quiet_time_setting_home_phone_value"] == nights
    # An expanded single-valued navigation carries no @odata.etag (as for the planner's other lookups).
    assert row["msdyn_comm_quiet_time_setting_mobile_phone"] == {
        "msdynmkt_quiettimesettingid": nights,
        "msdynmkt_name": "Nights and holidays",
    }
    assert row["msdyn_comm_quiet_time_setting_business_phone"] == {
        "msdynmkt_quiettimesettingid": weekends,
        "msdynmkt_commercialweeklyhours": json.dumps(WEEKENDS),
    }

    setting = emulator.client.get(
        f"{SETTINGS}({nights})?$select=msdynmkt_name&$expand={MOBILE}($select=msdyn_name),{BUSINESS}($select=msdyn_name)"
        f",{HOME}($select=msdyn_name)",
        headers=as_user(),
    ).json()
    assert [item["msdyn_proactive_engagement_planner_configid"] for item in setting[MOBILE]] == [planner_id]
    assert [item["msdyn_name"] for item in setting[HOME]] == ["Quiet planner"]
    assert setting[BUSINESS] == []
    related = emulator.client.get(f"{SETTINGS}({weekends})/{BUSINESS}?$select=msdyn_name", headers=as_user()).json()
    assert [item["msdyn_name"] for item in related["value"]] == ["Quiet planner"]
    found = emulator.client.get(
        f"{PLANNERS}?$select=msdyn_name&$filter=_msdyn_comm_quiet_time_setting_business_phone_value eq {weekends}",
        headers=as_user(),
    ).json()
    assert [item["msdyn_name"] for item in found["value"]] == ["Quiet planner"]


def test_a_planner_binds_only_to_a_setting_that_exists(emulator, as_user):
    missing = "00000000-0000-4000-8000-000000000000"
    planner_id = created_id(create(emulator, as_user, {"msdyn_name": "P"}, url=PLANNERS),
                            "msdyn_proactive_engagement_planner_configs")  # fmt: skip
    url = f"{PLANNERS}({planner_id})"

    to_none = emulator.client.patch(
        url,
        json={"msdyn_comm_quiet_time_setting_home_phone@odata.bind": f"/msdynmkt_quiettimesettings({missing})"},
        headers=as_user("admin"),
    )
    by_ref = emulator.client.put(
        f"{url}/msdyn_comm_quiet_time_setting_mobile_phone/$ref",
        json={"@odata.id": f"{ROOT}msdynmkt_quiettimesettings({missing})"},
        headers=as_user("admin"),
    )
    wrong_set = emulator.client.patch(
        url,
        json={
            "msdyn_comm_quiet_time_setting_mobile_phone@odata.bind": f"/msdyn_proactive_engagement_configs({missing})"
        },
        headers=as_user("admin"),
    )

    does_not_exist = envelope("0x80040217", f"Entity 'msdynmkt_quiettimesetting' With Id = {missing} Does Not Exist")
    assert (to_none.status_code, to_none.json()) == (404, does_not_exist)
    assert (by_ref.status_code, by_ref.json()) == (404, does_not_exist)
    assert (wrong_set.status_code, wrong_set.json()) == (
        400,
        envelope(
            "0x80048d19",
            "Error identified in Payload provided by the user for Entity :'msdyn_proactive_engagement_planner_configs'"
            ", For more information on this error please follow this help link https://go.microsoft.com/fwlink/?"
            "linkid=2195293  ----> InnerException : Microsoft.OData.ODataException: The value of "
            "'msdyn_comm_quiet_time_setting_mobile_phone@odata.bind' must be an entity reference such as "
            "'/msdynmkt_quiettimesettings(00000000-0000-0000-0000-000000000000)'.",
        ),
    )
    assert emulator.client.get(url, headers=as_user()).json()["@odata.etag"] == 'W/"1"'


def test_deleting_a_setting_removes_the_planners_links_and_keeps_the_planner(emulator, as_user):
    setting_id = created_id(create(emulator, as_user))
    bind = f"/msdynmkt_quiettimesettings({setting_id})"
    planner = {"msdyn_name": "P", "msdyn_comm_quiet_time_setting_mobile_phone@odata.bind": bind,
               "msdyn_comm_quiet_time_setting_home_phone@odata.bind": bind}  # fmt: skip
    planner_id = created_id(
        create(emulator, as_user, planner, url=PLANNERS), "msdyn_proactive_engagement_planner_configs"
    )

    deleted = emulator.client.delete(f"{SETTINGS}({setting_id})", headers=as_user("admin"))

    assert deleted.status_code == 204, deleted.text
    row = emulator.client.get(f"{PLANNERS}({planner_id})", headers=as_user()).json()
    # Cascade on delete is RemoveLink (the planner table's entity reference).
    assert row["_msdyn_comm_quiet_time_setting_mobile_phone_value"] is None
    assert row["_msdyn_comm_quiet_time_setting_home_phone_value"] is None
    assert row["@odata.etag"] == 'W/"3"'  # one change per relationship


# --- who may do what ----------------------------------------------------------------------------------------------


def denied(user: str, access: str) -> dict:
    """The 403 a demo user with one role gets for prv<access>msdynmkt_quiettimesetting."""
    user_id = uuid.uuid5(DEMO_USERS[user], "systemuser")
    privilege = f"prv{access}{TABLE}"
    privilege_id = uuid.uuid5(PRIVILEGE_NAMESPACE, privilege)
    return envelope(
        "0x80040220",
        f"Principal user (Id={user_id}, type=8, roleCount=1, accessMode='0 Read-Write', "
        f"AADObjectId='{DEMO_USERS[user]}'), is missing {privilege} privilege (Id={privilege_id}) on "
        f"OTC={object_type_code(TABLE)} for entity '{TABLE}' (LocalizedName='Quiet Time Setting'). "
        f"context.Caller={user_id}. Consider adding missed privilege to one of the principal (user/team) roles.",
    )


def test_the_omnichannel_roles_read_settings_and_only_configuring_roles_write_them(emulator, as_user):
    setting_id = created_id(create(emulator, as_user))
    url = f"{SETTINGS}({setting_id})"

    for user in ("agent", "supervisor"):
        assert emulator.client.get(url, headers=as_user(user)).status_code == 200, user
        created = create(emulator, as_user, user=user)
        assert (created.status_code, created.json()) == (403, denied(user, "Create")), user
        changed = emulator.client.patch(url, json={"msdynmkt_name": "mine"}, headers=as_user(user))
        assert (changed.status_code, changed.json()) == (403, denied(user, "Write")), user
        deleted = emulator.client.delete(url, headers=as_user(user))
        assert (deleted.status_code, deleted.json()) == (403, denied(user, "Delete")), user
    no_role = emulator.client.get(SETTINGS, headers=as_user("norole"))
    assert no_role.status_code == 403
    assert "is missing prvReadmsdynmkt_quiettimesetting privilege" in no_role.json()["error"]["message"]
    assert emulator.client.get(url, headers=as_user()).json()["msdynmkt_name"] == "Nights and holidays"


def test_an_omnichannel_administrator_configures_settings(emulator):
    object_id = uuid.uuid4()
    emulator.seed(users=[{"userName": "omniadmin", "objectId": str(object_id), "roles": ["Omnichannel administrator"]}])
    runtime = emulator.client.app.state.runtime
    headers = bearer(Tokens(runtime.keys, runtime.settings, real_now()).for_user("omniadmin", object_id=object_id))

    setting_id = created_id(emulator.client.post(SETTINGS, json=NEW_SETTING, headers=headers))
    changed = emulator.client.patch(
        f"{SETTINGS}({setting_id})",
        json={"msdynmkt_name": "Renamed"},
        headers={**headers, "Prefer": "return=representation"},
    )
    assert (changed.status_code, changed.json()["msdynmkt_name"]) == (200, "Renamed")
    assert emulator.client.delete(f"{SETTINGS}({setting_id})", headers=headers).status_code == 204


# --- $metadata ----------------------------------------------------------------------------------------------------


def test_the_quiet_time_table_and_the_planners_lookups_are_in_the_metadata(emulator, as_user):
    response = emulator.client.get(f"{API}/$metadata", headers=as_user())
    [schema] = ElementTree.fromstring(response.content).iter(f"{EDM}Schema")
    types = {item.get("Name"): item for item in schema.findall(f"{EDM}EntityType")}

    setting = types[TABLE]
    assert [ref.get("Name") for ref in setting.iter(f"{EDM}PropertyRef")] == ["msdynmkt_quiettimesettingid"]
    properties = {item.get("Name"): item for item in setting.findall(f"{EDM}Property")}
    assert properties["msdynmkt_quiettimesettingid"].get("Type") == "Edm.Guid"
    # Memo and String columns alike are Edm.String, without MaxLength, as Dataverse's CSDL writes them.
    for text in ("msdynmkt_name", "msdynmkt_transactionalweeklyhours", "msdynmkt_commercialweeklyhours",
                 "msdynmkt_transactionaldates", "msdynmkt_commercialdates", "msdynmkt_advancedquiettimes"):  # fmt: skip
        assert properties[text].attrib == {"Name": text, "Type": "Edm.String", "Unicode": "false"}, text
    assert properties["msdynmkt_timezonesource"].get("Type") == "Edm.Int32"
    collection = "Collection(mscrm.msdyn_proactive_engagement_planner_config)"
    assert {item.get("Name"): item.get("Type") for item in setting.findall(f"{EDM}NavigationProperty")} == {
        MOBILE: collection,
        BUSINESS: collection,
        HOME: collection,
    }

    planner = {item.get("Name"): item for item in types["msdyn_proactive_engagement_planner_config"].findall(
        f"{EDM}NavigationProperty")}  # fmt: skip
    for lookup, relationship in (
        ("msdyn_comm_quiet_time_setting_mobile_phone", MOBILE),
        ("msdyn_comm_quiet_time_setting_business_phone", BUSINESS),
        ("msdyn_comm_quiet_time_setting_home_phone", HOME),
    ):
        navigation = planner[lookup]
        assert (navigation.get("Type"), navigation.get("Partner")) == (f"mscrm.{TABLE}", relationship)
        [constraint] = navigation.findall(f"{EDM}ReferentialConstraint")
        assert constraint.get("Property") == f"_{lookup}_value"
    [container] = schema.findall(f"{EDM}EntityContainer")
    [entity_set] = [item for item in container if item.get("Name") == "msdynmkt_quiettimesettings"]
    assert entity_set.get("EntityType") == f"Microsoft.Dynamics.CRM.{TABLE}"
    bindings = {item.get("Path"): item.get("Target") for item in entity_set}
    planners = "msdyn_proactive_engagement_planner_configs"
    assert bindings == {MOBILE: planners, BUSINESS: planners, HOME: planners}


# --- seed files ---------------------------------------------------------------------------------------------------

SEEDED = {
    "id": "5e1e7c7a-0000-4000-8000-00000000a001",
    "name": "Seeded nights",
    "transactionalWeeklyHours": NIGHTS,
    "commercialWeeklyHours": WEEKENDS,
    "transactionalDates": HOLIDAYS,
    "commercialDates": [],
}


def test_a_seed_file_adds_settings_and_a_planners_quiet_times(emulator, as_user):
    config_id = str(uuid.uuid4())
    other = {"id": str(uuid.uuid4()), "name": "Only dates", "commercialDates": HOLIDAYS}
    planner = {"quietTimeMobilePhone": SEEDED["id"], "quietTimeBusinessPhone": other["id"],
               "quietTimeHomePhone": SEEDED["id"]}  # fmt: skip

    emulator.seed(quietTimes=[SEEDED, other], configurations=[{"id": config_id, "name": "Q", "planner": planner}])

    row = emulator.client.get(f"{SETTINGS}({SEEDED['id']})", headers=as_user()).json()
    assert row == {
        "@odata.context": f"{ROOT}$metadata#msdynmkt_quiettimesettings/$entity",
        "@odata.etag": 'W/"1"',
        "msdynmkt_quiettimesettingid": SEEDED["id"],
        "msdynmkt_name": "Seeded nights",
        "msdynmkt_timezonesource": None,
        "msdynmkt_commercialweeklyhours": json.dumps(WEEKENDS),
        "msdynmkt_transactionalweeklyhours": json.dumps(NIGHTS),
        "msdynmkt_commercialdates": "[]",
        "msdynmkt_transactionaldates": json.dumps(HOLIDAYS),
        "msdynmkt_advancedquiettimes": None,
        "statecode": 0,
        "statuscode": 1,
        "createdon": "2026-11-24T12:00:00Z",
        "modifiedon": "2026-11-24T12:00:00Z",
        "_ownerid_value": None,
        "versionnumber": 1,
        "importsequencenumber": None,
    }
    only_dates = emulator.client.get(f"{SETTINGS}({other['id']})", headers=as_user()).json()
    assert (only_dates["msdynmkt_transactionalweeklyhours"], only_dates["msdynmkt_commercialdates"]) == (
        None,
        json.dumps(HOLIDAYS),
    )
    [seeded_planner] = emulator.client.get(
        f"{PLANNERS}?$filter=_msdyn_proactive_engagement_config_id_value eq {config_id}"
        "&$expand=msdyn_comm_quiet_time_setting_business_phone($select=msdynmkt_name)",
        headers=as_user(),
    ).json()["value"]
    assert seeded_planner["_msdyn_comm_quiet_time_setting_mobile_phone_value"] == SEEDED["id"]
    assert seeded_planner["_msdyn_comm_quiet_time_setting_home_phone_value"] == SEEDED["id"]
    assert seeded_planner["msdyn_comm_quiet_time_setting_business_phone"]["msdynmkt_name"] == "Only dates"


def test_seeding_again_replaces_a_setting_unless_told_to_keep_it(emulator, as_user):
    emulator.seed(quietTimes=[SEEDED])
    emulator.seed(quietTimes=[{**SEEDED, "name": "Renamed", "commercialWeeklyHours": None}])
    url = f"{SETTINGS}({SEEDED['id']})"
    row = emulator.client.get(url, headers=as_user()).json()
    assert (row["msdynmkt_name"], row["msdynmkt_commercialweeklyhours"], row["@odata.etag"]) == (
        "Renamed",
        None,
        'W/"2"',
    )

    with emulator.database.transaction() as session:
        counts = apply_seed(
            session, SeedFile.model_validate({"quietTimes": [SEEDED]}), clock=FixedClock(NOW), overwrite=False
        )

    assert counts["quietTimes"] == 0
    assert emulator.client.get(url, headers=as_user()).json()["msdynmkt_name"] == "Renamed"


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            {"transactionalWeeklyHours": [{"day": "Friday", "start": "21:00", "end": "08:00"}]},
            "quietTimes.0.transactionalWeeklyHours: Value error, transactionalWeeklyHours[0]: end must be after start "
            "(a night is two entries, split at midnight).",
        ),
        (
            {"commercialWeeklyHours": [{"day": "Fri", "start": "21:00", "end": "24:00"}]},
            "quietTimes.0.commercialWeeklyHours: Value error, commercialWeeklyHours[0].day must be one of Monday, "
            "Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday.",
        ),
        (
            {"transactionalDates": [{"start": "2026-12-01", "end": "2026-12-31"}]},
            "quietTimes.0.transactionalDates: Value error, transactionalDates[0]: a quiet period lasts at most 21 "
            "days.",
        ),
        (
            {"commercialDates": '[{"start": "2026-12-24", "end": "2026-12-26"}]'},  # text, not the array
            "quietTimes.0.commercialDates: Input should be a valid array",
        ),
        ({"name": ""}, "quietTimes.0.name: String should have at least 1 character"),
        ({"timezone": "UTC"}, "quietTimes.0.timezone: Extra inputs are not permitted"),
    ],
)
def test_a_seed_file_with_a_setting_the_emulator_cannot_read_is_refused(tmp_path: Path, entry, problem):
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"quietTimes": [{**SEEDED, **entry}]}), encoding="utf-8")

    with pytest.raises(SeedError) as raised:
        read_seed_file(path)

    assert str(raised.value) == f"{path} is not a valid seed file: {problem}"
