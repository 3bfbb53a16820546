"""The OpenAPI document's action bodies admit every reference sample and say what the service refuses.

The document is what Prism mocks (bench/actions.py), client generators read and tests/test_fuzz.py fuzzes;
a schema that refused a documented sample would make all three wrong. The string-encoded forms are checked
through their contentSchema, which JSON Schema validators leave to the application.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import orjson
import pytest

from ccaas_emulator.app import create_app
from ccaas_emulator.intake import rules
from ccaas_emulator.settings import Settings
from tests.support.demo import ORG_URL
from tests.support.samples import fixture_json

DOCUMENT = create_app(Settings(database_url="sqlite:///:memory:", org_url=ORG_URL)).openapi()


def body_schema(action: str) -> dict[str, Any]:
    operation = DOCUMENT["paths"][f"/api/data/v9.2/{action}"]["post"]
    return operation["requestBody"]["content"]["application/json"]["schema"]


def errors(action: str, body: Any) -> list[str]:
    """Every violation, the JSON-encoded parameters decoded and checked against their contentSchema."""
    schema = body_schema(action)
    found = [error.message for error in jsonschema_rs.validator_for(schema).iter_errors(body)]
    for name, value in body.items() if isinstance(body, dict) else []:
        if isinstance(value, str) and value.strip() and name in schema["properties"]:
            encoded = next(
                (form for form in schema["properties"][name].get("anyOf", []) if "contentSchema" in form), None
            )
            if encoded is not None:
                found += [e.message for e in jsonschema_rs.validator_for(encoded["contentSchema"]).iter_errors(
                    orjson.loads(value))]  # fmt: skip
    return found


@pytest.mark.parametrize(
    ("action", "sample"),
    [
        ("CCaaS_CreateProactiveVoiceDelivery", "000_voice_sample.json"),
        ("CCaaS_CreateProactiveDelivery", "001_voice_sample.json"),
        ("CCaaS_CreateProactiveDelivery", "001_sms_sample.json"),
    ],
)
def test_every_reference_sample_is_a_valid_body(action, sample):
    assert errors(action, fixture_json(sample)) == []


def test_the_contacts_sample_is_valid_as_a_json_array_too():
    body = fixture_json("001_voice_sample.json")
    body["Contacts"] = orjson.loads(body["Contacts"])

    assert errors("CCaaS_CreateProactiveDelivery", body) == []


VOICE = fixture_json("000_voice_sample.json")


@pytest.mark.parametrize(
    "change",
    [
        {"ApiVersion": "2.0"},
        {"ApiVersion": 1.0},
        {"DestinationPhoneNumber": ""},
        {"DestinationPhoneNumber": "+1" * 151},
        {"Windows": [{"Start": "2024-09-10T13:00:00Z"}]},
        {"Windows": [{"Start": "10 Sep 2024", "End": "2024-09-10T15:59:59.999Z"}]},
        {"Windows": [{"Start": "2024-09-10T13:00:00Z", "End": "2024-09-10T15:00:00Z"}] * (rules.MAX_WINDOWS + 1)},
        {"InputAttributes": {"n": 1}},
        {"InputAttributes": {"": "x"}},
        {"InputAttributes": {"n": "x" * (rules.ATTRIBUTE_VALUE_LIMIT + 1)}},
        {"Unknown": "x"},
    ],
    ids=repr,
)
def test_the_schema_refuses_what_the_service_refuses(client, agent_headers, change):
    body = VOICE | change

    assert errors("CCaaS_CreateProactiveVoiceDelivery", body) != []
    response = client.post("/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery", json=body, headers=agent_headers)
    assert response.status_code == 400, response.text


def test_instance_annotations_are_allowed_by_the_schema_and_the_service(client, agent_headers):
    body = VOICE | {"Windows@odata.type": "#Collection(Microsoft.Dynamics.CRM.expando)"}

    assert errors("CCaaS_CreateProactiveVoiceDelivery", body) == []
    response = client.post("/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery", json=body, headers=agent_headers)
    assert response.status_code == 200, response.text
