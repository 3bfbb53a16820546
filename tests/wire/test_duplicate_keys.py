"""A JSON body naming the same parameter or property twice is refused, as OData's reader refuses it.

Bodies used to be read last-one-wins (orjson keeps the last value), so a client that sent `ContactId`
twice got whichever came last. Microsoft.OData.Core refuses both shapes with an ODataException:
"Multiple parameters with the name '…' were found in the request payload." (action parameters) and
"Multiple properties with the name '…' were detected in an entry or a complex value. In OData, duplicate
property names are not allowed." (an entity or a complex value); Dataverse wraps it in 0x80048d19.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from tests.support.demo import DEMO_CONTACT
from tests.support.samples import fixture_bytes
from tests.support.tokens import bearer
from tests.support.urls import CONFIGS, VOICE_URL

OTHER_CONTACT = "00000000-0000-4000-8000-0000000000c1"


def assert_refused(response: Any, inner: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["odata-version"] == "4.0"
    body = response.json()
    assert body == {"error": {"code": "0x80048d19", "message": body["error"]["message"]}}
    assert body["error"]["message"].startswith("Error identified in Payload provided by the user for Entity :'")
    assert body["error"]["message"].endswith("InnerException : Microsoft.OData.ODataException: " + inner)


def with_duplicate(sample: bytes, name: str, value: str) -> bytes:
    """The sample with `name` written a second time, as its last member."""
    text = sample.decode().rstrip()
    assert text.endswith("}")
    return (text[:-1].rstrip() + f',\n  "{name}": {orjson.dumps(value).decode()}\n}}').encode()


def test_a_duplicate_parameter_of_an_action_is_refused_naming_it(client, tokens):
    body = with_duplicate(fixture_bytes("000_voice_sample.json"), "ContactId", OTHER_CONTACT)
    assert body.count(b'"ContactId"') == 2

    response = client.post(VOICE_URL, content=body, headers=bearer(tokens.for_user("agent")))

    assert_refused(response, "Multiple parameters with the name 'ContactId' were found in the request payload.")


def test_a_duplicate_property_inside_a_parameter_is_a_duplicate_property(client, tokens):
    body = orjson.loads(fixture_bytes("000_voice_sample.json"))
    body["Windows"] = [{"Start": "2026-11-24T12:00:00Z", "End": "2026-11-24T18:00:00Z"}]
    raw = orjson.dumps(body).replace(b'"End"', b'"Start":"2026-11-24T13:00:00Z","End"')

    response = client.post(VOICE_URL, content=raw, headers=bearer(tokens.for_user("agent")))

    assert_refused(
        response,
        "Multiple properties with the name 'Start' were detected in an entry or a complex value. In OData, "
        "duplicate property names are not allowed.",
    )


def test_names_that_differ_only_in_case_are_not_duplicates(client, tokens):
    """Parameters are case-sensitive: `contactid` is an unknown parameter, not a second ContactId."""
    body = with_duplicate(fixture_bytes("000_voice_sample.json"), "contactid", DEMO_CONTACT)

    response = client.post(VOICE_URL, content=body, headers=bearer(tokens.for_user("agent")))

    assert response.status_code == 400
    assert (
        "The parameter 'contactid' in the request payload is not a valid parameter"
        in response.json()["error"]["message"]
    )


def test_a_duplicate_property_in_a_configuration_patch_is_refused_and_changes_nothing(client, tokens):
    admin = bearer(tokens.for_user("admin"))
    created = client.post(CONFIGS, json={"msdyn_name": "before"}, headers=admin)
    assert created.status_code == 204, created.text
    row = created.headers["odata-entityid"]
    raw = b'{"msdyn_name": "first", "msdyn_description": "d", "msdyn_name": "second"}'

    response = client.patch(row, content=raw, headers=admin)

    assert_refused(
        response,
        "Multiple properties with the name 'msdyn_name' were detected in an entry or a complex value. In OData, "
        "duplicate property names are not allowed.",
    )
    assert client.get(row, headers=admin).json()["msdyn_name"] == "before"


def test_a_duplicate_property_in_a_configuration_create_is_refused(client, tokens):
    name = f"dup {uuid.uuid4()}"
    raw = orjson.dumps({"msdyn_name": name}).replace(b"}", b',"msdyn_priority":1,"msdyn_priority":2}')

    response = client.post(CONFIGS, content=raw, headers=bearer(tokens.for_user("admin")))

    assert_refused(
        response,
        "Multiple properties with the name 'msdyn_priority' were detected in an entry or a complex value. In "
        "OData, duplicate property names are not allowed.",
    )
    found = client.get(f"{CONFIGS}?$filter=msdyn_name eq '{name}'", headers=bearer(tokens.for_user("admin")))
    assert found.json()["value"] == []


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "\\"b\\": 1", "b": 2}',  # a key-like text inside a string value is not a key
        b'{"x": {"k": 1}, "y": {"k": 2}}',  # the same name in two objects
        b'{"ApiVersion" : "1.0"}',
    ],
)
def test_bodies_without_duplicates_parse_as_before(raw):
    from ccaas_emulator.wire.body import parse_json

    assert parse_json(raw) == orjson.loads(raw)


def test_a_body_nested_deeper_than_the_stdlib_reads_is_malformed_not_a_500(client, tokens):
    """orjson reads 1,000 levels, the stdlib's parser (which finds the duplicates) stops short of that."""
    raw = b'{"ApiVersion": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1000 + b"}"

    response = client.post(VOICE_URL, content=raw, headers=bearer(tokens.for_user("agent")))

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "0x80048d19"
    assert response.json()["error"]["message"].endswith("Invalid JSON. The JSON is nested too deeply.")
