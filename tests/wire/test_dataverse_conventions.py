"""Dataverse wire conventions on every answer: headers, the error envelope, 404/405/413/415 (wire-facts E)."""

from __future__ import annotations

import pytest

from tests.support.samples import fixture_bytes

URL = "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery"


def envelope(response):
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert response.headers["content-type"] == "application/json; odata.metadata=minimal"
    assert response.headers["odata-version"] == "4.0"
    assert "req_id" in response.headers
    return response.status_code, body["error"]["code"], body["error"]["message"]


def test_an_unknown_action_is_404_resource_not_found_for_the_segment(client, agent_headers):
    response = client.post("/api/data/v9.2/CCaaS_CreateProactiveVoiceDeliveries", json={}, headers=agent_headers)

    assert envelope(response) == (
        404,
        "0x8006088a",
        "Resource not found for the segment 'CCaaS_CreateProactiveVoiceDeliveries'.",
    )


def test_action_names_are_case_sensitive_like_odata_segments(client, agent_headers):
    response = client.post("/api/data/v9.2/ccaas_createproactivevoicedelivery", json={}, headers=agent_headers)

    assert envelope(response)[:2] == (404, "0x8006088a")


def test_an_unknown_api_version_is_404(client, agent_headers):
    response = client.post("/api/data/v8.2/CCaaS_CreateProactiveVoiceDelivery", json={}, headers=agent_headers)

    assert envelope(response) == (404, "0x8006088a", "Resource not found for the segment 'v8.2'.")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_other_methods_on_an_action_are_405(client, agent_headers, method):
    response = client.request(method, URL, headers=agent_headers)

    assert envelope(response) == (
        405,
        "0x80060888",
        f"The requested resource does not support http method '{method}'.",
    )
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
def test_a_body_that_is_not_json_is_415(client, agent_headers, content_type):
    headers = {"Authorization": agent_headers["Authorization"]}
    if content_type:
        headers["Content-Type"] = content_type

    response = client.post(URL, content=fixture_bytes("000_voice_sample.json"), headers=headers)

    assert envelope(response)[:2] == (415, "0x80060888")


def test_json_with_charset_and_odata_parameters_is_accepted(client, agent_headers):
    headers = agent_headers | {"Content-Type": "application/json; charset=utf-8; odata.metadata=minimal"}

    assert client.post(URL, content=fixture_bytes("000_voice_sample.json"), headers=headers).status_code == 200


def test_a_body_over_one_mebibyte_is_413(client, agent_headers):
    big = b'{"ApiVersion": "1.0", "Padding": "' + b"x" * (1024 * 1024) + b'"}'

    assert envelope(client.post(URL, content=big, headers=agent_headers))[:2] == (413, "0x80060888")


def test_a_chunked_body_over_the_limit_is_413_too(client, agent_headers):
    def chunks():
        for _ in range(40):
            yield b"x" * 32768

    response = client.post(URL, content=chunks(), headers=agent_headers)

    assert envelope(response)[:2] == (413, "0x80060888")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "empty"),
        (b"[1, 2]", "JSON object"),
        (b'"a string"', "JSON object"),
        (b'{"ApiVersion": NaN}', "Invalid JSON"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"[" * 5000 + b"]" * 5000, "Invalid JSON"),
        (b'{"ApiVersion": "1.0",}', "property name enclosed in double quotes"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_400_in_the_envelope(client, agent_headers, raw, fragment):
    status, _code, message = envelope(client.post(URL, content=raw, headers=agent_headers))

    assert status == 400
    assert fragment in message


def test_every_response_carries_the_dataverse_headers(client, agent_headers):
    response = client.post(URL, content=fixture_bytes("000_voice_sample.json"), headers=agent_headers)

    assert response.headers["odata-version"] == "4.0"
    assert response.headers["req_id"] == response.headers["x-ms-service-request-id"]
    assert response.headers["cache-control"] == "no-cache"


def test_each_response_has_its_own_request_id(client, agent_headers):
    ids = {client.post(URL, json={}, headers=agent_headers).headers["req_id"] for _ in range(3)}

    assert len(ids) == 3


def test_unknown_paths_outside_the_api_still_answer_in_the_envelope(client):
    assert envelope(client.get("/no/such/thing"))[:2] == (404, "0x8006088a")
