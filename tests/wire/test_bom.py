"""A JSON body that starts with a UTF-8 byte order mark is read as the JSON after it (issue 15, item 6).

.NET's `Encoding.UTF8` and PowerShell 5's `Out-File -Encoding utf8` write a BOM; RFC 8259 section 8.1 lets a
parser ignore it, and Dataverse's reader does. It used to be a 400 quoting Python's "decode using utf-8-sig".
"""

from __future__ import annotations

import orjson

from tests.support.samples import fixture_bytes
from tests.support.tokens import bearer
from tests.support.urls import API, CONFIGS, DELIVERIES, VOICE_URL

BOM = b"\xef\xbb\xbf"
JSON = {"Content-Type": "application/json"}


def test_an_action_body_with_a_bom_is_accepted(client, tokens):
    response = client.post(
        VOICE_URL, content=BOM + fixture_bytes("000_voice_sample.json"), headers=bearer(tokens.for_user()) | JSON
    )

    assert response.status_code == 200, response.text
    assert "DeliveryId" in response.json()


def test_an_entity_body_with_a_bom_is_accepted(client, tokens):
    body = BOM + orjson.dumps(
        {
            "msdyn_name": "With a BOM",
            "msdyn_description": "Written by PowerShell",
            "msdyn_type": 100000000,
            "msdyn_dialmode_type": 100000001,
            "msdyn_priority": 1,
            "msdyn_processing_order": 700610001,
            "msdyn_max_concurrent_calls": 5,
            "msdyn_max_calls_per_agent": 1,
            "msdyn_ignore_queue_hours": True,
            "msdyn_queue@odata.bind": "/queues(5f2b0c5e-0000-4000-8000-00000000c0e9)",
        }
    )

    response = client.post(CONFIGS, content=body, headers=bearer(tokens.for_user("admin")) | JSON)

    assert response.status_code == 204, response.text


def test_a_batch_part_body_with_a_bom_is_accepted(client, tokens):
    boundary, changes = "batch_bom", "changeset_bom"
    part = BOM + fixture_bytes("000_voice_sample.json")
    body = (
        (
            f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={changes}\r\n\r\n"
            f"--{changes}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
            "Content-ID: 1\r\n\r\n"
            f"POST {VOICE_URL} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
        ).encode()
        + part
        + f"\r\n--{changes}--\r\n--{boundary}--\r\n".encode()
    )
    headers = bearer(tokens.for_user()) | {"Content-Type": f"multipart/mixed; boundary={boundary}"}

    response = client.post(f"{API}/$batch", content=body, headers=headers)

    assert response.status_code == 200, response.text
    assert "HTTP/1.1 200 OK" in response.text and "DeliveryId" in response.text


def test_a_control_api_body_with_a_bom_is_accepted(client):
    body = BOM + b'{"phoneNumber": "+15550123", "outcomes": ["AnsweringMachine"]}'

    response = client.post("/emulator/v1/outcomes", content=body, headers=JSON)

    assert response.status_code == 201, response.text
    assert response.json() == {"phoneNumber": "+15550123", "queued": 1}


def test_malformed_json_after_a_bom_is_explained_without_python_wording(client, tokens):
    response = client.post(VOICE_URL, content=BOM + b'{"ApiVersion": }', headers=bearer(tokens.for_user()) | JSON)

    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "A value was expected at line 1, column 16" in message, message
    assert "utf-8-sig" not in message and "BOM" not in message


def test_a_bom_alone_is_an_empty_body(client, tokens):
    response = client.post(VOICE_URL, content=BOM, headers=bearer(tokens.for_user()) | JSON)

    assert response.status_code == 400
    assert "request body is empty" in response.json()["error"]["message"]


def test_reading_the_rows_back_is_unaffected(client, tokens):
    assert client.get(DELIVERIES, headers=bearer(tokens.for_user())).status_code == 200
