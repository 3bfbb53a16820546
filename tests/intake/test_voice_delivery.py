"""CCaaS_CreateProactiveVoiceDelivery at the wire (reference 000_...), on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import select

from ccaas_emulator.db.models import DeliveryAttribute, ProactiveDelivery
from ccaas_emulator.domain import AttributeType, DialMode
from tests.support.demo import NOW, ORG_URL
from tests.support.samples import fixture_bytes, voice_body
from tests.support.urls import VOICE_URL as URL

CONTEXT = f"{ORG_URL}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.CCaaS_CreateProactiveVoiceDeliveryResponse"


def test_the_documented_sample_is_accepted_with_the_documented_response(client, agent_headers):
    response = client.post(URL, content=fixture_bytes("000_voice_sample.json"), headers=agent_headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; odata.metadata=minimal"
    assert response.headers["odata-version"] == "4.0"
    uuid.UUID(response.headers["req_id"])
    assert response.headers["x-ms-service-request-id"] == response.headers["req_id"]
    body = response.json()
    assert list(body) == ["@odata.context", "DeliveryId"]
    assert body["@odata.context"] == CONTEXT
    assert str(uuid.UUID(body["DeliveryId"])) == body["DeliveryId"]


def test_the_accepted_sample_is_persisted_as_a_pending_delivery_with_its_input_attributes(
    client, agent_headers, database
):
    delivery_id = uuid.UUID(
        client.post(URL, content=fixture_bytes("000_voice_sample.json"), headers=agent_headers).json()["DeliveryId"]
    )

    with database.read() as session:
        delivery = session.get(ProactiveDelivery, delivery_id)
        attributes = session.scalars(
            select(DeliveryAttribute).where(DeliveryAttribute.delivery_id == delivery_id)
        ).all()
    assert delivery is not None
    assert delivery.delivery_id == str(delivery_id)
    assert delivery.status == "Pending"
    assert delivery.to_address == "+123456798"
    assert delivery.from_address == "+14255550100"
    assert delivery.contact_id == "761e062f-c734-ef11-8e4f-00224808a166"
    assert delivery.engagement_config_id == "cbbac510-3e66-ef11-a671-6045bd03d9d8"
    assert delivery.dial_mode is DialMode.COPILOT
    assert delivery.channel == "Voice"
    assert delivery.window_start_date.isoformat() == "2024-09-10T13:00:00+00:00"
    assert delivery.window_end_date.isoformat() == "2024-09-10T15:59:59.999000+00:00"
    assert delivery.expiration_date.isoformat() == "2024-09-11T15:59:59.999000+00:00"
    assert [window.to_json() for window in delivery.windows] == [
        {"start": "2024-09-10T13:00:00.000Z", "end": "2024-09-10T15:59:59.999Z"},
        {"start": "2024-09-11T13:00:00.000Z", "end": "2024-09-11T15:59:59.999Z"},
    ]
    assert delivery.created_on == NOW and delivery.version == 1
    assert delivery.partition_id == str(delivery_id)
    assert {(a.keyword, a.value, a.type) for a in attributes} == {
        ("orderNumber", "ORD123456789", AttributeType.INPUT),
        ("type", "callback", AttributeType.INPUT),
        ("isFinalAttempt", "false", AttributeType.INPUT),
    }


def test_the_malformed_sample_is_rejected_with_a_400_that_names_the_missing_comma(client, agent_headers, database):
    response = client.post(URL, content=fixture_bytes("000_voice_sample_malformed.json"), headers=agent_headers)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json; odata.metadata=minimal"
    error = response.json()["error"]
    assert set(response.json()) == {"error"} and set(error) == {"code", "message"}
    assert error["code"] == "0x80048d19"
    assert "comma character ','" in error["message"] and "line 18, column 5" in error["message"]
    with database.read() as session:
        assert session.scalars(select(ProactiveDelivery)).all() == []


def test_windows_default_to_the_next_24_hours(client, agent_headers, database):
    delivery_id = client.post(URL, json=voice_body(Windows=...), headers=agent_headers).json()["DeliveryId"]

    with database.read() as session:
        delivery = session.get(ProactiveDelivery, uuid.UUID(delivery_id))
    assert delivery.window_start_date == NOW
    assert delivery.window_end_date == NOW + timedelta(hours=24)


@pytest.mark.parametrize(
    "windows",
    [
        '[{"Start":"2025-01-30T16:32:45.930Z","End":"2025-01-30T18:32:45.930Z"}]',  # 000_: JSON-encoded string
        [{"start": "2025-01-30T16:32:45.930Z", "end": "2025-01-30T18:32:45.930Z"}],  # lowercase keys
        [{"START": "2025-01-30T16:32:45.93", "END": "2025-01-30T18:32:45.930"}],  # no Z: UTC
        [{"Start": "2025-01-30T17:32:45.930+01:00", "End": "2025-01-30T18:32:45.9300000Z"}],  # offset, 7 digits
    ],
)
def test_windows_are_accepted_as_json_or_json_string_in_either_case_with_or_without_z(
    client, agent_headers, database, windows
):
    response = client.post(URL, json=voice_body(Windows=windows), headers=agent_headers)

    assert response.status_code == 200, response.text
    with database.read() as session:
        delivery = session.get(ProactiveDelivery, uuid.UUID(response.json()["DeliveryId"]))
    assert delivery.window_start_date.isoformat() == "2025-01-30T16:32:45.930000+00:00"
    assert delivery.window_end_date.isoformat() == "2025-01-30T18:32:45.930000+00:00"


def test_input_attributes_may_be_a_json_encoded_string(client, agent_headers, database):
    response = client.post(URL, json=voice_body(InputAttributes='{"a":"1","b":"2"}'), headers=agent_headers)

    assert response.status_code == 200
    with database.read() as session:
        rows = session.scalars(select(DeliveryAttribute.keyword).order_by(DeliveryAttribute.keyword)).all()
    assert rows == ["a", "b"]


@pytest.mark.parametrize("version", ["v9.0", "v9.1"])
def test_the_action_answers_under_older_api_versions_with_their_context(client, agent_headers, version):
    response = client.post(
        f"/api/data/{version}/CCaaS_CreateProactiveVoiceDelivery", json=voice_body(), headers=agent_headers
    )

    assert response.status_code == 200
    assert response.json()["@odata.context"] == CONTEXT.replace("v9.2", version)


def _error(response):
    return response.status_code, response.json()["error"]["code"], response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("changes", "status", "code", "fragment"),
    [
        ({"ApiVersion": ...}, 400, "0x80040200", "Required parameter 'ApiVersion' is missing."),
        ({"ApiVersion": "2.0"}, 400, "0x80040203", "Unsupported ApiVersion '2.0'"),
        ({"ApiVersion": 1.0}, 400, "0x80048d19", "'ApiVersion'"),
        ({"ProactiveEngagementConfigId": "not-a-guid"}, 400, "0x80040203", "Guid should contain 32 digits"),
        ({"ContactId": "12345"}, 400, "0x80040203", "Invalid ContactId '12345'"),
        ({"ContactId": None}, 400, "0x80040200", "Required parameter 'ContactId' is missing."),
        ({"DestinationPhoneNumber": ...}, 400, "0x80040200", "'DestinationPhoneNumber'"),
        ({"DestinationPhoneNumber": "  "}, 400, "0x80040203", "DestinationPhoneNumber must not be empty"),
        ({"DestinationPhoneNumber": 15550100}, 400, "0x80048d19", "got a number"),
        ({"DestinationPhoneNumber": "+1" + "5" * 300}, 400, "0x80044331", "'msdyn_to_address'"),
        ({"DestinationPhoneNumber": "+1 call me"}, 400, "0x80040203", "'+1 call me' is not a phone number"),
        ({"Windows": {"Start": "x"}}, 400, "0x80048d19", "'Windows'"),
        ({"Windows": "[{"}, 400, "0x80040203", "not valid JSON"),
        ({"Windows": [{"Start": "2024-09-10T13:00:00Z"}]}, 400, "0x80040203", "Windows[0] has no End"),
        (
            {"Windows": [{"Start": "10/09/2024", "End": "2024-09-10T15:00:00Z"}]},
            400,
            "0x80040203",
            "Windows[0].Start",
        ),
        (
            {"Windows": [{"Start": "2024-09-10T15:00:00Z", "End": "2024-09-10T13:00:00Z"}]},
            400,
            "0x80040203",
            "must be before End",
        ),
        ({"InputAttributes": {"orderNumber": 42}}, 400, "0x80040203", "'orderNumber' must be a string"),
        # PostgreSQL cannot store U+0000: refused on both back ends rather than a 500 on one.
        ({"DestinationPhoneNumber": "+1\u0000"}, 400, "0x80040203", "NUL character"),
        ({"InputAttributes": '{"a":"b\\u0000"}'}, 400, "0x80040203", "NUL character"),
        # Dataverse date-times run from 1753 to 9999; the far ends also overflow when converted to UTC.
        (
            {"Windows": [{"Start": "1700-01-01T00:00:00Z", "End": "1700-01-02T00:00:00Z"}]},
            400,
            "0x80040203",
            "outside the range",
        ),
        (
            {"Windows": [{"Start": "9999-12-31T20:00:00-14:00", "End": "9999-12-31T21:00:00-14:00"}]},
            400,
            "0x80040203",
            "not a valid date and time",
        ),
        ({"InputAttributes": ["a"]}, 400, "0x80048d19", "'InputAttributes'"),
        ({"InputAttributes": {"k": "v" * 4001}}, 400, "0x80044331", "'4000'"),
        (
            {"Message": "hello"},
            400,
            "0x80048d19",
            "The parameter 'Message' in the request payload is not a valid parameter for the operation "
            "'CCaaS_CreateProactiveVoiceDelivery'.",
        ),
        (
            {"ProactiveEngagementConfigId": "00000000-0000-0000-0000-000000000001"},
            404,
            "0x80040217",
            "Entity 'msdyn_proactive_engagement_config' With Id = 00000000-0000-0000-0000-000000000001 Does Not Exist",
        ),
        (
            {"ProactiveEngagementConfigId": "b2c3d4e5-f6a7-8901-bcde-f12345678901"},
            400,
            "0x80040203",
            "needs a Voice configuration",
        ),
        (
            {"ContactId": "00000000-0000-0000-0000-0000000000c1"},
            404,
            "0x80040217",
            "Entity 'contact' With Id",
        ),
    ],
)
def test_each_documented_rule_rejects_what_breaks_it_and_writes_nothing(
    client, agent_headers, database, changes, status, code, fragment
):
    response = client.post(URL, json=voice_body(**changes), headers=agent_headers)

    assert _error(response)[:2] == (status, code), response.text
    assert fragment in _error(response)[2]
    with database.read() as session:
        assert session.scalars(select(ProactiveDelivery)).all() == []
        assert session.scalars(select(DeliveryAttribute)).all() == []


def test_odata_annotations_in_the_body_are_not_parameters(client, agent_headers):
    body = voice_body()
    body["Windows@odata.type"] = "#Collection(Microsoft.Dynamics.CRM.expando)"

    assert client.post(URL, content=orjson.dumps(body), headers=agent_headers).status_code == 200


def test_an_inactive_configuration_is_not_found(client, agent_headers, database):
    from ccaas_emulator.db.models import EngagementConfig
    from ccaas_emulator.domain import StateCode

    with database.transaction() as session:
        session.get(EngagementConfig, uuid.UUID("cbbac510-3e66-ef11-a671-6045bd03d9d8")).state = StateCode.INACTIVE

    response = client.post(URL, json=voice_body(), headers=agent_headers)

    assert _error(response)[:2] == (404, "0x80040217")
