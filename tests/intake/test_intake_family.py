"""The rest of the intake family at the wire (issue #16 items 1-3): CCaaS_CreateSimpleProactiveDelivery,
CCaaS_CreateProactiveSMSDelivery, CCaaS_CreateProactiveBulkDelivery and CCaaS_CreateProactiveDeliveryBulkV2,
each posting its documented sample verbatim, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from ccaas_emulator.db.models import Contact, DeliveryAttribute, DeliveryTask, EngagementConfig, ProactiveDelivery
from ccaas_emulator.domain import OutreachType
from ccaas_emulator.intake import rules
from ccaas_emulator.settings import Settings
from tests.support.apps import create_test_app
from tests.support.demo import ORG_URL
from tests.support.samples import fixture_bytes, fixture_json

API = "/api/data/v9.2"
SIMPLE_URL = f"{API}/CCaaS_CreateSimpleProactiveDelivery"
SMS_URL = f"{API}/CCaaS_CreateProactiveSMSDelivery"
BULK_URL = f"{API}/CCaaS_CreateProactiveBulkDelivery"
BULK_V2_URL = f"{API}/CCaaS_CreateProactiveDeliveryBulkV2"
SAMPLE_CONFIG = "36ebcd69-574d-f111-bec5-70a8a5b0f6fd"  # the Simple and Bulk samples' (seeded, Voice)
SMS_SAMPLE_CONFIG = (
    "a1b2c3d4-e5f6-7890-abcd-ef1234567890"  # the SMS sample's: the demo's CreateProactiveDelivery voice one
)
SMS_CONFIG = "b2c3d4e5-f6a7-8901-bcde-f12345678901"
SAMPLES = {
    SIMPLE_URL: ("004_simple_sample.json", ["@odata.context", "DeliveryId", "DeliveryTaskId"]),
    BULK_URL: ("006_bulk_sample.json", ["@odata.context", "RequestId"]),
    BULK_V2_URL: ("006_bulk_v2_sample.json", ["@odata.context", "RequestId"]),
}


def rows(database) -> tuple[int, ...]:
    with database.read() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (ProactiveDelivery, DeliveryTask, DeliveryAttribute, Contact)
        )


def make_sms_config(database, config_id: str) -> None:
    with database.transaction() as session:
        session.execute(
            update(EngagementConfig)
            .where(EngagementConfig.id == uuid.UUID(config_id))
            .values(outreach_type=OutreachType.SMS)
        )


def item(index: int, **changes) -> dict[str, str]:
    base = {
        "uniqueIdentifier": f"bulk-{index}",
        "firstName": "Ana",
        "lastName": f"Lima {index}",
        "mobilePhoneNumber": f"+1555{index:07d}",
        "zipCode": "94105",
        "timeZone": "Pacific Standard Time",
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not ...}


def bulk_body(items, **extra) -> dict[str, object]:
    return {"ApiVersion": "1.0", "ProactiveEngagementConfigId": SAMPLE_CONFIG,
            "ProactiveDeliveries": orjson.dumps(items).decode(), **extra}  # fmt: skip


# --- the documented samples, verbatim ---------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v9.0", "v9.1", "v9.2"])
@pytest.mark.parametrize("url", list(SAMPLES))
def test_each_documented_sample_is_accepted_verbatim_on_every_version(client, agent_headers, url, version):
    fixture, fields = SAMPLES[url]
    action = url.rsplit("/", 1)[1]

    response = client.post(url.replace("v9.2", version), content=fixture_bytes(fixture), headers=agent_headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; odata.metadata=minimal"
    assert response.headers["odata-version"] == "4.0"
    payload = response.json()
    assert list(payload) == fields
    assert payload["@odata.context"] == (
        f"{ORG_URL}/api/data/{version}/$metadata#Microsoft.Dynamics.CRM.{action}Response"
    )


def test_the_sms_sample_is_refused_on_the_demo_voice_configuration_it_names_and_stores_nothing(
    client, agent_headers, database
):
    before = rows(database)

    response = client.post(SMS_URL, content=fixture_bytes("005_sms_sample.json"), headers=agent_headers)

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "0x80040203",
            "message": f"The proactive engagement configuration {SMS_SAMPLE_CONFIG} is for Voice; "
            "CCaaS_CreateProactiveSMSDelivery needs a SMS configuration.",
        }
    }
    assert rows(database) == before


@pytest.mark.parametrize("version", ["v9.0", "v9.1", "v9.2"])
def test_the_sms_sample_is_accepted_verbatim_on_an_sms_configuration(client, agent_headers, database, version):
    make_sms_config(database, SMS_SAMPLE_CONFIG)

    response = client.post(
        SMS_URL.replace("v9.2", version), content=fixture_bytes("005_sms_sample.json"), headers=agent_headers
    )

    assert response.status_code == 200, response.text
    payload = response.json()
    assert list(payload) == ["@odata.context", "DeliveryId"]
    assert payload["@odata.context"].endswith(
        f"/api/data/{version}/$metadata#Microsoft.Dynamics.CRM.CCaaS_CreateProactiveSMSDeliveryResponse"
    )
    with database.read() as session:
        delivery = session.get(ProactiveDelivery, uuid.UUID(payload["DeliveryId"]))
        attributes = dict(
            session.execute(
                select(DeliveryAttribute.keyword, DeliveryAttribute.value).where(
                    DeliveryAttribute.delivery_id == delivery.id
                )
            ).all()
        )
    # First generation (wire-facts A1): no task, so no reattempts, chain or frequency capping.
    assert delivery.task_id is None and delivery.channel == "SMS" and delivery.to_address == "+15550200"
    assert delivery.message == "Your appointment is confirmed for tomorrow at 10:00 AM. Reply STOP to opt out."
    assert attributes == {"AppointmentTime": "10:00 AM", "CustomerNumber": "1234567"}


# --- Simple --------------------------------------------------------------------------------------------------


def test_the_simple_sample_makes_a_task_for_its_contact_with_windows_read_as_utc(client, agent_headers, database):
    payload = client.post(SIMPLE_URL, content=fixture_bytes("004_simple_sample.json"), headers=agent_headers).json()

    with database.read() as session:
        task = session.get(DeliveryTask, uuid.UUID(payload["DeliveryTaskId"]))
        delivery = session.get(ProactiveDelivery, uuid.UUID(payload["DeliveryId"]))
        person = session.get(Contact, uuid.UUID("36ebcd69-574d-f111-bec5-10a8a5b0f6fb"))
    assert task.request_priority == "1" and task.channel == "Voice"
    chained = task.contacts.to_json()[0]
    assert chained["timezone"] == "Central European Standard Time"
    assert [phone["type"] for phone in chained["phones"]] == [
        "MobilePhoneNumber",
        "BusinessPhoneNumber",
        "HomePhoneNumber",
    ]
    assert chained["attributes"] == {"CustomerTier": "Gold", "AccountNumber": "ACC-12345", "PreferredLanguage": "en-US"}
    # A window time without an offset is UTC (docs/wire.md), not the contact's time zone.
    assert delivery.window_start_date == datetime(2026, 6, 6, 9, tzinfo=UTC)
    assert delivery.window_end_date == datetime(2026, 6, 6, 12, tzinfo=UTC)
    assert (person.first_name, person.last_name, person.full_name) == ("John", "Doe", "John Doe")
    assert (person.email, person.mobile_phone, person.business_phone, person.home_phone) == (
        "john.doe@contoso.com",
        "+18666316096",
        "+18666316096",
        "+18666316096",
    )
    assert (person.country, person.city, person.address_line, person.postal_code, person.state) == (
        "United States",
        "Seattle",
        "123 Main Street",
        "98101",
        "WA",
    )


def test_simple_takes_input_attributes_and_windows_as_json_too(client, agent_headers, database):
    body = fixture_json("004_simple_sample.json") | {
        "InputAttributes": {"Tier": "Gold"},
        "Windows": [{"start": "2026-06-06T09:00:00+02:00", "end": "2026-06-06T12:00:00Z"}],
    }

    response = client.post(SIMPLE_URL, json=body, headers=agent_headers)

    assert response.status_code == 200, response.text
    with database.read() as session:
        delivery = session.get(ProactiveDelivery, uuid.UUID(response.json()["DeliveryId"]))
    assert delivery.window_start_date == datetime(2026, 6, 6, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "status", "code", "message"),
    [
        ({"MobilePhoneNumber": ...}, 400, "0x80040203", "MobilePhoneNumber is required."),
        ({"FirstName": ...}, 400, "0x80040200", "Required parameter 'FirstName' is missing."),
        ({"TimeZone": "Mars"}, 400, "0x80040203", "TimeZone 'Mars' is not a time zone of the Dynamics 365 list"),
        ({"HomePhoneNumber": "call me"}, 400, "0x80040203", "HomePhoneNumber 'call me' is not a phone number"),
        ({"Windows": "[{"}, 400, "0x80040203", "The Windows parameter is a string but not valid JSON"),
        ({"Priority": "p" * 101}, 400, "0x80044331", "'priority' attribute"),
        ({"ContactId": "x"}, 400, "0x80040203", ""),
    ],
)
def test_simple_refuses_a_bad_parameter_and_stores_nothing(client, agent_headers, database, changes, status, code,
                                                            message):  # fmt: skip
    body = fixture_json("004_simple_sample.json")
    for key, value in changes.items():
        if value is ...:
            body.pop(key)
        else:
            body[key] = value
    before = rows(database)

    response = client.post(SIMPLE_URL, json=body, headers=agent_headers)

    assert response.status_code == status
    error = response.json()["error"]
    if "ContactId" in changes:  # an undeclared parameter: OData's own refusal
        assert error["code"] == "0x80048d19" or "ContactId" in error["message"], error
    else:
        assert error["code"] == code and message in error["message"], error
    assert rows(database) == before


def test_simple_on_an_sms_configuration_needs_the_mobile_number_only(client, agent_headers, database):
    body = fixture_json("004_simple_sample.json") | {"ProactiveEngagementConfigId": SMS_CONFIG}
    for phone in ("BusinessPhoneNumber", "HomePhoneNumber"):
        body.pop(phone)
    body_with_more = body | {"HomePhoneNumber": "+15550001"}

    accepted = client.post(SIMPLE_URL, json=body, headers=agent_headers)
    refused = client.post(SIMPLE_URL, json=body_with_more, headers=agent_headers)

    assert accepted.status_code == 200, accepted.text
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "The contact: only mobilePhoneNumber is allowed for SMS; remove businessPhoneNumber and homePhoneNumber."
    )


# --- SMS -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        ({"Message": ...}, "0x80040200", "Required parameter 'Message' is missing."),
        ({"Message": "  "}, "0x80040203", "Message must not be empty."),
        ({"DestinationPhoneNumber": "not a number"}, "0x80040203", "DestinationPhoneNumber 'not a number' is not"),
        ({"DestinationPhoneNumber": "+1" + "5" * 60}, "0x80044331", "'mobilephone' attribute of the 'contact'"),
        ({"InputAttributes": '{"n": 1}'}, "0x80040203", "InputAttributes: the value of 'n' must be a string"),
        ({"Windows": []}, "0x80048d19", "Windows"),
    ],
)
def test_sms_refuses_a_bad_parameter_and_stores_nothing(client, agent_headers, database, changes, code, message):
    body = fixture_json("005_sms_sample.json") | {"ProactiveEngagementConfigId": SMS_CONFIG}
    for key, value in changes.items():
        if value is ...:
            body.pop(key)
        else:
            body[key] = value
    before = rows(database)

    response = client.post(SMS_URL, json=body, headers=agent_headers)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and message in error["message"], error
    assert rows(database) == before


def test_a_first_generation_sms_sends_its_own_message_and_is_not_reattempted(emulator):
    emulator.client.post(SMS_URL, json=fixture_json("005_sms_sample.json") | {"ProactiveEngagementConfigId": SMS_CONFIG,
                         "DestinationPhoneNumber": "+15550299"}, headers=emulator.headers)  # fmt: skip
    emulator.script("+15550299", "MessageFailed")
    with emulator.database.read() as session:
        delivery_id = session.scalar(select(ProactiveDelivery.id).where(ProactiveDelivery.to_address == "+15550299"))

    emulator.advance("PT1H")

    delivery = emulator.delivery(delivery_id)
    assert (delivery.status, delivery.result) == ("Error", "MessageFailed")
    assert emulator.result_attributes(delivery_id)["MessageText"].startswith("Your appointment is confirmed")
    with emulator.database.read() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(ProactiveDelivery).where(ProactiveDelivery.to_address == "+15550299")
            )
            == 1
        )  # no reattempt


# --- Bulk ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [BULK_URL, BULK_V2_URL])
def test_bulk_makes_one_task_per_item_with_the_request_id(client, agent_headers, database, url):
    items = [item(index) for index in range(25)]

    response = client.post(url, json=bulk_body(items, RequestId="campaign-7"), headers=agent_headers)

    assert response.status_code == 200, response.text
    assert response.json()["RequestId"] == "campaign-7"
    with database.read() as session:
        deliveries = session.scalars(
            select(ProactiveDelivery).where(ProactiveDelivery.tracking_id == "campaign-7")
        ).all()
        tasks = session.scalars(select(DeliveryTask).where(DeliveryTask.request_id == "campaign-7")).all()
        people = session.scalars(select(Contact).where(Contact.external_id.like("bulk-%"))).all()
    assert len(deliveries) == len(tasks) == len(people) == 25
    assert sorted(delivery.to_address for delivery in deliveries) == sorted(i["mobilePhoneNumber"] for i in items)
    assert {person.postal_code for person in people} == {"94105"}
    assert {task.contacts.to_json()[0]["timezone"] for task in tasks} == {"Pacific Standard Time"}


def test_bulk_without_a_request_id_answers_the_one_it_gave_every_delivery(client, agent_headers, database):
    response = client.post(BULK_V2_URL, json=bulk_body([item(1), item(2)]), headers=agent_headers)

    request_id = response.json()["RequestId"]
    assert str(uuid.UUID(request_id)) == request_id
    with database.read() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(ProactiveDelivery).where(ProactiveDelivery.tracking_id == request_id)
            )
            == 2
        )


@pytest.mark.parametrize("url", [BULK_URL, BULK_V2_URL])
@pytest.mark.parametrize(
    ("bad", "code", "message"),
    [
        (item(2, mobilePhoneNumber=..., businessPhoneNumber="+15550002"), "0x80040203",
         "ProactiveDeliveries[2].mobilePhoneNumber is required."),
        (item(2, mobilePhoneNumber=...), "0x80040203",
         "ProactiveDeliveries[2] needs at least one of mobilePhoneNumber"),
        (item(2, timeZone="Pacific Standart Time"), "0x80040203",
         "ProactiveDeliveries[2].timezone 'Pacific Standart Time' is not a time zone"),
        (item(2, firstName=" "), "0x80040203", "ProactiveDeliveries[2].firstName is required."),
        (item(2, zipCode="9" * 21), "0x80044331", "'address1_postalcode' attribute"),
        ("not an object", "0x80040203", "ProactiveDeliveries[2] must be a contact object."),
    ],
)  # fmt: skip
def test_one_bad_bulk_item_refuses_the_whole_call_and_stores_nothing(client, agent_headers, database, url, bad, code,
                                                                     message):  # fmt: skip
    before = rows(database)
    items = [item(0), item(1), bad, item(3)]

    response = client.post(url, json=bulk_body(items), headers=agent_headers)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and message in error["message"], error
    assert rows(database) == before


def test_a_bulk_item_refused_by_the_configuration_refuses_the_whole_call(client, agent_headers, database):
    before = rows(database)
    items = [item(0), item(1, businessPhoneNumber="+15550009")]

    response = client.post(
        BULK_URL, json=bulk_body(items, ProactiveEngagementConfigId=SMS_CONFIG), headers=agent_headers
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "ProactiveDeliveries[1]: only mobilePhoneNumber is allowed for SMS; remove businessPhoneNumber and "
        "homePhoneNumber."
    )
    assert rows(database) == before


@pytest.mark.parametrize(
    ("url", "extra", "code", "message"),
    [
        (BULK_URL, {"ProactiveEngagements": "[{}]"}, "0x80040203", "ProactiveEngagements is not supported"),
        (BULK_V2_URL, {"ProactiveEngagements": ""}, "0x80048d19", "ProactiveEngagements"),
        (BULK_URL, {"ProactiveDeliveries": "[]"}, "0x80040203", "must contain at least one delivery"),
        (BULK_URL, {"ProactiveDeliveries": "{}"}, "0x80040203", "must be a JSON array of delivery objects"),
        (BULK_URL, {"ProactiveDeliveries": ""}, "0x80040200", "Required parameter 'ProactiveDeliveries'"),
        (BULK_URL, {"RequestId": "r" * 401}, "0x80044331", "'msdyn_tracking_id' attribute"),
    ],
)
def test_bulk_refuses_bad_parameters(client, agent_headers, database, url, extra, code, message):
    before = rows(database)

    response = client.post(url, json=bulk_body([item(0)]) | extra, headers=agent_headers)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and message in error["message"], error
    assert rows(database) == before


def test_bulk_takes_at_most_15000_items(client, agent_headers, database):
    items = [{"uniqueIdentifier": "x"}] * (rules.MAX_BULK_DELIVERIES + 1)

    response = client.post(BULK_URL, json=bulk_body(items), headers=agent_headers)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "ProactiveDeliveries has 15001 deliveries; at most 15000 are allowed on one request."
    )


def test_bulk_bodies_have_their_own_limit_well_past_the_others(client, agent_headers, database, settings):
    items = [item(index, city="S" * 80) for index in range(5000)]
    raw = orjson.dumps(bulk_body(items))
    assert len(raw) > settings.max_body_bytes

    bulk = client.post(BULK_URL, content=raw, headers=agent_headers | {"content-type": "application/json"})
    simple = client.post(
        SIMPLE_URL,
        content=raw[: settings.max_body_bytes + 1],
        headers=agent_headers | {"content-type": "application/json"},
    )

    assert bulk.status_code == 200, bulk.text
    assert simple.status_code == 413


def test_a_bulk_body_past_its_own_limit_is_413(database_url, database, clock, agent_headers):
    settings = Settings(database_url=database_url, org_url=ORG_URL, bulk_max_body_bytes=4096)
    with TestClient(create_test_app(settings, clock=clock, database=database), base_url=ORG_URL) as client:
        raw = orjson.dumps(bulk_body([item(index) for index in range(40)]))

        response = client.post(BULK_URL, content=raw, headers=agent_headers | {"content-type": "application/json"})

    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "0x80060888", "message": "The request body is larger than the limit of 4096 bytes."}
    }
