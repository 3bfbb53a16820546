"""CCaaS_CreateProactiveDelivery at the wire (reference 001_...), voice and SMS, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import func, select

from ccaas_emulator.db.models import Contact, DeliveryAttribute, DeliveryTask, ProactiveDelivery
from ccaas_emulator.domain import DialMode
from tests.support.demo import NOW, ORG_URL
from tests.support.samples import fixture_bytes

URL = "/api/data/v9.2/CCaaS_CreateProactiveDelivery"
CONTEXT = f"{ORG_URL}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.CCaaS_CreateProactiveDeliveryResponse"
VOICE_CONFIG = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
SMS_CONFIG = "b2c3d4e5-f6a7-8901-bcde-f12345678901"


def contact(**changes):
    base = {
        "uniqueIdentifier": "ext-1",
        "firstName": "Ana",
        "lastName": "Lima",
        "mobilePhoneNumber": "+15550300",
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not ...}


def body(contacts, config=VOICE_CONFIG, **extra):
    return {"ApiVersion": "1.0", "ProactiveEngagementConfigId": config, "Contacts": contacts, **extra}


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("sample", ["001_voice_sample.json", "001_sms_sample.json"])
def test_each_documented_sample_is_accepted_with_delivery_and_task_ids(client, agent_headers, sample):
    response = client.post(URL, content=fixture_bytes(sample), headers=agent_headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; odata.metadata=minimal"
    assert response.headers["odata-version"] == "4.0"
    payload = response.json()
    assert list(payload) == ["@odata.context", "DeliveryId", "DeliveryTaskId"]
    assert payload["@odata.context"] == CONTEXT
    assert payload["DeliveryId"] != payload["DeliveryTaskId"]
    for key in ("DeliveryId", "DeliveryTaskId"):
        assert str(uuid.UUID(payload[key])) == payload[key]


def test_the_voice_sample_persists_task_first_delivery_contact_and_attributes(client, agent_headers, database):
    payload = client.post(URL, content=fixture_bytes("001_voice_sample.json"), headers=agent_headers).json()

    with database.read() as session:
        task = session.get(DeliveryTask, uuid.UUID(payload["DeliveryTaskId"]))
        delivery = session.get(ProactiveDelivery, uuid.UUID(payload["DeliveryId"]))
        person = session.get(Contact, uuid.UUID("f47ac10b-58cc-4372-a567-0e02b2c3d479"))
        attributes = session.scalars(
            select(DeliveryAttribute).where(DeliveryAttribute.delivery_id == delivery.id)
        ).all()
    assert task.status == "Pending" and task.channel == "Voice"
    assert task.request_id == "e1f2a3b4-c5d6-7890-abcd-ef1234567890" and task.request_priority == "1"
    assert task.contacts.to_json() == [
        {
            "contactId": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
            "uniqueIdentifier": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
            "timezone": "(GMT-03:00) Brasilia",
            "phones": [
                {"type": "MobilePhoneNumber", "number": "+15550100", "eligible": True},
                {"type": "BusinessPhoneNumber", "number": "+15550101", "eligible": True},
                {"type": "HomePhoneNumber", "number": "+15550102", "eligible": True},
            ],
            "windows": [{"start": "2025-12-10T09:00:00.000Z", "end": "2025-12-10T17:00:00.000Z"}],
            "attributes": {"AppointmentTime": "10:00 AM", "CustomerNumber": "1234567"},
        }
    ]
    assert delivery.task_id == task.id
    assert delivery.status == "Pending"
    assert delivery.to_address == "+15550100"  # the first contact's first phone
    assert delivery.tracking_id == "e1f2a3b4-c5d6-7890-abcd-ef1234567890"
    assert delivery.request_priority == "1"
    assert delivery.contact_id == "f47ac10b-58cc-4372-a567-0e02b2c3d479"
    assert delivery.dial_mode is DialMode.PROGRESSIVE and delivery.channel == "Voice"
    assert delivery.window_start_date.isoformat() == "2025-12-10T09:00:00+00:00"  # the contact's own window
    assert {(a.keyword, a.value) for a in attributes} == {
        ("AppointmentTime", "10:00 AM"),
        ("CustomerNumber", "1234567"),
    }
    assert (person.first_name, person.last_name, person.email) == ("John", "Doe", "text@a.com")
    assert (person.mobile_phone, person.business_phone, person.home_phone) == (
        "+15550100",
        "+15550101",
        "+15550102",
    )
    assert (person.city, person.state, person.postal_code, person.country) == (
        "Seattle",
        "WA",
        "25642",
        "USA",
    )


def test_the_sms_sample_creates_an_sms_delivery_and_keeps_the_message(client, agent_headers, database):
    payload = client.post(URL, content=fixture_bytes("001_sms_sample.json"), headers=agent_headers).json()

    with database.read() as session:
        task = session.get(DeliveryTask, uuid.UUID(payload["DeliveryTaskId"]))
        delivery = session.get(ProactiveDelivery, uuid.UUID(payload["DeliveryId"]))
    assert task.channel == "SMS"
    assert task.message.startswith("Your appointment is confirmed")
    assert delivery.channel == "SMS" and delivery.to_address == "+15550200"


def test_contacts_may_be_a_real_json_array(client, agent_headers):
    response = client.post(URL, json=body([contact()]), headers=agent_headers)

    assert response.status_code == 200, response.text


def test_five_contacts_are_chained_in_order_and_only_the_first_is_dialled_first(client, agent_headers, database):
    chain = [contact(uniqueIdentifier=f"ext-{n}", mobilePhoneNumber=f"+1555000{n}") for n in range(5)]

    payload = client.post(URL, json=body(chain), headers=agent_headers).json()

    with database.read() as session:
        task = session.get(DeliveryTask, uuid.UUID(payload["DeliveryTaskId"]))
        assert count(session, ProactiveDelivery) == 1
        assert count(session, Contact) == 1 + 5  # the demo contact and the five upserted ones
        delivery = session.get(ProactiveDelivery, uuid.UUID(payload["DeliveryId"]))
    assert [item.unique_identifier for item in task.contacts.contacts] == [f"ext-{n}" for n in range(5)]
    assert delivery.to_address == "+15550000"


def test_a_sixth_contact_is_rejected(client, agent_headers, database):
    chain = [contact(uniqueIdentifier=f"ext-{n}") for n in range(6)]

    response = client.post(URL, json=body(chain), headers=agent_headers)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80040203"
    assert "at most 5" in response.json()["error"]["message"]


def test_contact_windows_override_the_top_level_windows(client, agent_headers, database):
    top = [{"Start": "2026-12-01T08:00:00Z", "End": "2026-12-01T10:00:00Z"}]
    own = [{"start": "2026-12-02T08:00:00Z", "end": "2026-12-02T10:00:00Z"}]

    with_own = client.post(URL, json=body([contact(windows=own)], Windows=top), headers=agent_headers).json()
    without = client.post(
        URL, json=body([contact(uniqueIdentifier="ext-2")], Windows=top), headers=agent_headers
    ).json()

    with database.read() as session:
        first = session.get(ProactiveDelivery, uuid.UUID(with_own["DeliveryId"]))
        second = session.get(ProactiveDelivery, uuid.UUID(without["DeliveryId"]))
    assert first.window_start_date.isoformat() == "2026-12-02T08:00:00+00:00"
    assert second.window_start_date.isoformat() == "2026-12-01T08:00:00+00:00"


def test_without_any_windows_the_first_delivery_gets_the_next_24_hours(client, agent_headers, database):
    payload = client.post(URL, json=body([contact()]), headers=agent_headers).json()

    with database.read() as session:
        delivery = session.get(ProactiveDelivery, uuid.UUID(payload["DeliveryId"]))
    assert (delivery.window_start_date, delivery.window_end_date) == (NOW, NOW + timedelta(hours=24))


def test_a_contact_is_upserted_by_its_unique_identifier(client, agent_headers, database):
    client.post(URL, json=body([contact(firstName="Ana")]), headers=agent_headers)
    client.post(URL, json=body([contact(firstName="Anna", email="anna@example.com")]), headers=agent_headers)

    with database.read() as session:
        people = session.scalars(select(Contact).where(Contact.external_id == "ext-1")).all()
    assert [(p.first_name, p.email, p.version) for p in people] == [("Anna", "anna@example.com", 2)]


def test_a_value_left_out_of_a_later_request_keeps_the_stored_one(client, agent_headers, database):
    client.post(URL, json=body([contact(firstName="Ana", email="ana@example.com")]), headers=agent_headers)
    with database.read() as session:
        created = session.scalars(select(Contact).where(Contact.external_id == "ext-1")).one().created_on
    client.post(URL, json=body([contact(firstName="Anna")]), headers=agent_headers)

    with database.read() as session:
        person = session.scalars(select(Contact).where(Contact.external_id == "ext-1")).one()
    assert (person.first_name, person.email, person.version) == ("Anna", "ana@example.com", 2)
    assert person.created_on == created


def test_contact_keys_are_read_case_insensitively(client, agent_headers):
    odd = {"UniqueIdentifier": "ext-9", "FIRSTNAME": "Bo", "lastname": "Ek", "MobilePhoneNumber": "+1555"}

    assert client.post(URL, json=body([odd]), headers=agent_headers).status_code == 200


def _error(response):
    return response.status_code, response.json()["error"]["code"], response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "status", "code", "fragment"),
    [
        (body(...), 400, "0x80040200", "Required parameter 'Contacts' is missing."),
        (body([]), 400, "0x80040203", "at least one contact"),
        (body("[]"), 400, "0x80040203", "at least one contact"),
        (body("not json"), 400, "0x80040203", "Contacts parameter is a string but not valid JSON"),
        (body({"uniqueIdentifier": "x"}), 400, "0x80048d19", "'Contacts'"),
        (body(["x"]), 400, "0x80040203", "Contacts[0] must be a contact object"),
        (
            body([contact(uniqueIdentifier=...)]),
            400,
            "0x80040203",
            "Contacts[0].uniqueIdentifier is required",
        ),
        (body([contact(firstName=...)]), 400, "0x80040203", "Contacts[0].firstName is required"),
        (body([contact(lastName="")]), 400, "0x80040203", "Contacts[0].lastName is required"),
        (body([contact(mobilePhoneNumber=...)]), 400, "0x80040203", "at least one of mobilePhoneNumber"),
        (body([contact(firstName="x" * 51)]), 400, "0x80044331", "'firstname' attribute of the 'contact'"),
        (body([contact(inputAttributes={"n": 1})]), 400, "0x80040203", "Contacts[0].inputAttributes"),
        (
            body(
                [contact(windows=[{"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}])],
            ),
            400,
            "0x80040203",
            "Contacts[0].windows[0]",
        ),
        (
            body([contact(), contact(uniqueIdentifier="ext-2", mobilePhoneNumber=...)]),
            400,
            "0x80040203",
            "Contacts[1] needs at least one",
        ),
        (
            body([contact()], config=SMS_CONFIG, Message=None) | {"Contacts": [contact(businessPhoneNumber="+1")]},
            400,
            "0x80040203",
            "only mobilePhoneNumber is allowed for SMS",
        ),
        (
            body([contact(mobilePhoneNumber=..., homePhoneNumber="+1")], config=SMS_CONFIG),
            400,
            "0x80040203",
            "an SMS contact needs a mobilePhoneNumber",
        ),
        (body([contact()], Message="Hi"), 400, "0x80040203", "Message can be used only with an SMS"),
        (body([contact()], RequestId=7), 400, "0x80048d19", "'RequestId'"),
        (body([contact()], RequestId="r" * 401), 400, "0x80044331", "'msdyn_tracking_id'"),
        (body([contact()], Windows='[{"Start":"2026-01-01T00:00:00Z"}]'), 400, "0x80040203", "has no End"),
        (
            body([contact()], ContactId="761e062f-c734-ef11-8e4f-00224808a166"),
            400,
            "0x80048d19",
            "The parameter 'ContactId' in the request payload is not a valid parameter for the operation "
            "'CCaaS_CreateProactiveDelivery'.",
        ),
        (
            body([contact()], config="11111111-2222-3333-4444-555555555555"),
            404,
            "0x80040217",
            "Entity 'msdyn_proactive_engagement_config' With Id = 11111111-2222-3333-4444-555555555555",
        ),
    ],
)
def test_each_documented_rule_rejects_what_breaks_it_and_writes_nothing(
    client, agent_headers, database, payload, status, code, fragment
):
    if payload.get("Contacts") is ...:
        payload = {key: value for key, value in payload.items() if key != "Contacts"}

    response = client.post(URL, content=orjson.dumps(payload), headers=agent_headers)

    assert _error(response)[:2] == (status, code), response.text
    assert fragment in _error(response)[2]
    with database.read() as session:
        assert count(session, ProactiveDelivery) == 0
        assert count(session, DeliveryTask) == 0
        assert count(session, Contact) == 1  # only the demo contact


def test_sms_with_an_sms_configuration_and_no_message_uses_the_template(client, agent_headers):
    response = client.post(URL, json=body([contact()], config=SMS_CONFIG), headers=agent_headers)

    assert response.status_code == 200


def test_the_same_contact_twice_in_one_chain_is_one_contact_row(client, agent_headers, database):
    response = client.post(URL, json=body([contact(), contact(firstName="Again")]), headers=agent_headers)

    assert response.status_code == 200
    with database.read() as session:
        assert session.scalars(select(Contact.first_name).where(Contact.external_id == "ext-1")).all() == ["Again"]
