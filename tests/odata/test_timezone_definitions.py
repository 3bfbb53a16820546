"""timezonedefinitions (wire-facts D): Dynamics' time zone list, read as any other entity set, by any user of
the org, written by nobody. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from ccaas_emulator import timezones
from tests.support.urls import API, ROOT

ZONES = f"{API}/timezonedefinitions"


def test_clients_look_a_time_zone_up_by_its_windows_id(emulator, as_user):
    response = emulator.client.get(
        f"{ZONES}?$filter=standardname eq 'Pacific Standard Time'&$select=timezonecode,userinterfacename",
        headers=as_user(),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"] == f"{ROOT}$metadata#timezonedefinitions(timezonecode,userinterfacename)"
    [row] = body["value"]
    assert row == {
        "@odata.etag": 'W/"1"',
        "timezonedefinitionid": str(uuid.uuid5(timezones.DEFINITION_NAMESPACE, "4")),
        "timezonecode": 4,
        "userinterfacename": "(GMT-08:00) Pacific Time (US & Canada)",
    }


def test_the_whole_list_is_served_and_orders_and_pages(emulator, as_user):
    everything = emulator.client.get(f"{ZONES}?$count=true&$select=timezonecode", headers=as_user()).json()
    first = emulator.client.get(
        f"{ZONES}?$select=timezonecode,standardname,bias&$orderby=bias desc,timezonecode&$top=3", headers=as_user()
    ).json()

    assert everything["@odata.count"] == len(timezones.definitions()) == 133
    assert [(row["timezonecode"], row["standardname"], row["bias"]) for row in first["value"]] == [
        (0, "Dateline Standard Time", 720),
        (6, "UTC-11", 660),
        (2, "Hawaiian Standard Time", 600),
    ]


def test_one_row_by_key_and_filters_on_text_and_numbers(emulator, as_user):
    brasilia = uuid.uuid5(timezones.DEFINITION_NAMESPACE, "65")
    row = emulator.client.get(f"{ZONES}({brasilia})", headers=as_user()).json()
    found = emulator.client.get(
        f"{ZONES}?$select=timezonecode&$filter=contains(userinterfacename,'Brasilia') or timezonecode eq 92",
        headers=as_user(),
    ).json()

    assert (row["timezonecode"], row["standardname"], row["userinterfacename"], row["bias"], row["retiredorder"]) == (
        65,
        "E. South America Standard Time",
        "(GMT-03:00) Brasilia",
        180,
        0,
    )
    assert sorted(item["timezonecode"] for item in found["value"]) == [65, 92]


def test_any_user_of_the_org_reads_them_even_without_a_role(emulator, as_user):
    response = emulator.client.get(f"{ZONES}?$top=1&$select=standardname", headers=as_user("norole"))

    assert response.status_code == 200, response.text
    assert len(response.json()["value"]) == 1


def test_nobody_writes_them(emulator, as_user):
    pacific = uuid.uuid5(timezones.DEFINITION_NAMESPACE, "4")
    attempts = [
        ("post", ZONES, "prvCreatetimezonedefinition"),
        ("patch", f"{ZONES}({pacific})", "prvWritetimezonedefinition"),
        ("delete", f"{ZONES}({pacific})", "prvDeletetimezonedefinition"),
    ]
    for method, url, privilege in attempts:
        payload = {} if method == "delete" else {"json": {"standardname": "Mars Standard Time"}}
        response = getattr(emulator.client, method)(url, headers=as_user("admin"), **payload)
        assert response.status_code == 403, (method, response.text)
        error = response.json()["error"]
        assert error["code"] == "0x80040220"
        assert f"is missing {privilege} privilege" in error["message"]
        assert "(LocalizedName='Time Zone Definition')" in error["message"]

    unchanged = emulator.client.get(f"{ZONES}({pacific})?$select=standardname", headers=as_user()).json()
    assert unchanged["standardname"] == "Pacific Standard Time"


def test_the_entity_type_is_in_metadata(emulator, as_user):
    document = emulator.client.get(f"{API}/$metadata", headers=as_user()).text

    assert '<EntityType Name="timezonedefinition" BaseType="mscrm.crmbaseentity"><Key><PropertyRef ' in document
    assert '<EntitySet Name="timezonedefinitions" EntityType="Microsoft.Dynamics.CRM.timezonedefinition" />' in document
    for name, edm in (("timezonecode", "Int32"), ("standardname", "String"), ("userinterfacename", "String")):
        assert f'<Property Name="{name}" Type="Edm.{edm}"' in document
