"""contacts (issue #16 item 5): the contacts the actions and file uploads create or update, read as any other
entity set by the Omnichannel roles, written by nobody over the Web API. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from ccaas_emulator.intake.rules import CONTACT_NAMESPACE
from tests.support.demo import DEMO_CONTACT, DEMO_VOICE_CONFIG
from tests.support.urls import API, ROOT

CONTACTS = f"{API}/contacts"
FILE = (
    "UniqueIdentifier,FirstName,LastName,MobilePhoneNumber,BusinessPhoneNumber,HomePhoneNumber,Email,AddressLine,"
    "City,State,PostalCode,Country\n"
    "EXT-1,Ada,Lovelace,+15550101,+15550102,+15550103,ada@example.com,12 St James's Sq,London,,SW1Y 4JH,UK\n"
    "EXT-2,Alan,Turing,+15550201,,,,,Wilmslow,Cheshire,,UK\n"
    "EXT-3,Grace,Hopper,+15550301,,,,,Arlington,VA,,US\n"
)


def _upload(emulator) -> None:
    response = emulator.client.post(
        f"/emulator/v1/engagements/{DEMO_VOICE_CONFIG}/files", content=FILE, headers={"Content-Type": "text/csv"}
    )
    assert response.json()["accepted"] == 3, response.text


def test_a_contact_uploaded_from_a_file_is_read_by_its_unique_identifier(emulator, as_user):
    _upload(emulator)
    response = emulator.client.get(
        f"{CONTACTS}?$filter=emulator_external_id eq 'EXT-1'"
        "&$select=fullname,mobilephone,telephone1,telephone2,emailaddress1,address1_city,address1_postalcode",
        headers=as_user(),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"] == (
        f"{ROOT}$metadata#contacts(fullname,mobilephone,telephone1,telephone2,emailaddress1,address1_city,"
        "address1_postalcode)"
    )
    [row] = body["value"]
    assert row == {
        "@odata.etag": 'W/"1"',
        "contactid": str(uuid.uuid5(CONTACT_NAMESPACE, "EXT-1")),
        "fullname": "Ada Lovelace",
        "mobilephone": "+15550101",
        "telephone1": "+15550102",
        "telephone2": "+15550103",
        "emailaddress1": "ada@example.com",
        "address1_city": "London",
        "address1_postalcode": "SW1Y 4JH",
    }


def test_contacts_filter_order_count_and_page(emulator, as_user):
    _upload(emulator)
    ordered = emulator.client.get(
        f"{CONTACTS}?$select=lastname,address1_country&$filter=address1_country eq 'UK' or address1_country eq 'US'"
        "&$orderby=lastname desc&$count=true",
        headers=as_user("supervisor"),
    ).json()
    first_page = emulator.client.get(
        f"{CONTACTS}?$select=lastname&$orderby=lastname", headers=as_user(**{"Prefer": "odata.maxpagesize=2"})
    ).json()
    second_page = emulator.client.get(first_page["@odata.nextLink"].removeprefix("https://contoso.crm.dynamics.com"),
                                      headers=as_user(**{"Prefer": "odata.maxpagesize=2"})).json()  # fmt: skip

    assert ordered["@odata.count"] == 3
    assert [row["lastname"] for row in ordered["value"]] == ["Turing", "Lovelace", "Hopper"]
    # The demo contact (Sample Customer) and the three uploaded ones, two a page.
    assert [row["lastname"] for row in first_page["value"]] == ["Customer", "Hopper"]
    assert [row["lastname"] for row in second_page["value"]] == ["Lovelace", "Turing"]
    assert "@odata.nextLink" not in second_page


def test_one_contact_by_key(emulator, as_user):
    response = emulator.client.get(f"{CONTACTS}({DEMO_CONTACT})?$select=firstname,lastname", headers=as_user())
    missing = emulator.client.get(f"{CONTACTS}({uuid.uuid4()})", headers=as_user())

    assert response.status_code == 200, response.text
    assert response.json()["@odata.context"] == f"{ROOT}$metadata#contacts(firstname,lastname)/$entity"
    assert (response.json()["firstname"], response.json()["lastname"]) == ("Sample", "Customer")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "0x80040217"


def test_a_user_without_an_omnichannel_role_may_not_read_them(emulator, as_user):
    response = emulator.client.get(f"{CONTACTS}?$top=1", headers=as_user("norole"))

    assert response.status_code == 403
    assert "is missing prvReadcontact privilege" in response.json()["error"]["message"]


def test_nobody_writes_them_over_the_web_api(emulator, as_user):
    attempts = [
        ("post", CONTACTS, "prvCreatecontact"),
        ("patch", f"{CONTACTS}({DEMO_CONTACT})", "prvWritecontact"),
        ("delete", f"{CONTACTS}({DEMO_CONTACT})", "prvDeletecontact"),
    ]
    for method, url, privilege in attempts:
        payload = {} if method == "delete" else {"json": {"firstname": "Changed"}}
        response = getattr(emulator.client, method)(url, headers=as_user("admin"), **payload)
        assert response.status_code == 403, (method, response.text)
        assert response.json()["error"]["code"] == "0x80040220"
        assert f"is missing {privilege} privilege" in response.json()["error"]["message"]
        assert "(LocalizedName='Contact')" in response.json()["error"]["message"]

    unchanged = emulator.client.get(f"{CONTACTS}({DEMO_CONTACT})?$select=firstname", headers=as_user()).json()
    assert unchanged["firstname"] == "Sample"


def test_the_entity_type_is_in_metadata(emulator, as_user):
    document = emulator.client.get(f"{API}/$metadata", headers=as_user()).text

    assert '<EntityType Name="contact" BaseType="mscrm.crmbaseentity"><Key><PropertyRef Name="contactid" />' in document
    assert '<EntitySet Name="contacts" EntityType="Microsoft.Dynamics.CRM.contact" />' in document
    for name in ("firstname", "lastname", "fullname", "mobilephone", "telephone1", "telephone2", "emailaddress1",
                 "address1_line1", "address1_city", "address1_stateorprovince", "address1_postalcode",
                 "address1_country", "emulator_external_id"):  # fmt: skip
        assert f'<Property Name="{name}" Type="Edm.String"' in document
