"""Fault injection for resilience tests: POST /emulator/v1/faults (issue 15 item 8).

Before, a client's handling of 429, 500 and 503 could not be tested against the emulator at all.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.apps import create_test_app
from tests.support.demo import ORG_URL
from tests.support.urls import API, DELIVERIES, VOICE_URL

FAULTS = "/emulator/v1/faults"


def arm(client, **body) -> dict:
    response = client.post(FAULTS, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_fault_fails_exactly_the_next_n_requests_then_they_pass(client, agent_headers):
    fault = arm(client, status=503, count=2)

    answers = [client.get(f"{API}/", headers=agent_headers) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [503, 503, 200]
    assert answers[0].json()["error"] == {
        "code": "0x80040216",
        "message": "The service is temporarily unavailable. Try again after a short wait.",
    }
    assert answers[0].headers["x-ccaas-fault"] == fault["id"]
    assert answers[0].headers["REQ_ID"]
    assert client.get(FAULTS).json() == {"value": []}


def test_a_429_fault_carries_retry_after_and_the_request_limits_code(client, agent_headers):
    arm(client, status=429, count=1, retryAfter=7)

    answer = client.get(f"{API}/", headers=agent_headers)

    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.json()["error"] == {
        "code": "0x80072322",
        "message": "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
    }


def test_a_429_fault_without_retry_after_says_one_second_and_a_500_is_the_generic_error(client, agent_headers):
    arm(client, status=429)
    arm(client, status=500)

    throttled = client.get(f"{API}/", headers=agent_headers)
    failed = client.get(f"{API}/", headers=agent_headers)

    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "1")
    assert failed.status_code == 500
    assert failed.json()["error"] == {"code": "0x80040216", "message": "An unexpected error occurred."}
    assert "Retry-After" not in failed.headers


def test_a_fault_with_a_path_catches_only_requests_under_it(client, agent_headers):
    arm(client, status=500, count=1, path=VOICE_URL)

    other = client.get(f"{DELIVERIES}?$top=1", headers=agent_headers)
    caught = client.post(VOICE_URL, json={}, headers=agent_headers)
    after = client.post(VOICE_URL, json={}, headers=agent_headers)

    assert other.status_code == 200
    assert caught.status_code == 500
    assert after.status_code == 400  # the fault is spent: the action validates the empty body again


def test_a_delay_only_fault_lets_the_request_proceed(client, agent_headers):
    arm(client, delayMs=1, count=1)

    answer = client.get(f"{API}/", headers=agent_headers)

    assert answer.status_code == 200
    assert client.get(FAULTS).json() == {"value": []}


def test_faults_apply_before_authentication_and_count_against_the_limits(client, agent_headers):
    arm(client, status=503, count=2)

    anonymous = client.get(f"{API}/")
    counted = client.get(f"{API}/", headers=agent_headers)

    assert anonymous.status_code == 503
    assert counted.status_code == 503
    assert counted.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "5999"


def test_get_lists_the_armed_faults_with_their_remaining_counts_and_delete_clears_them(client, agent_headers):
    first = arm(client, status=429, count=3, path=DELIVERIES)
    second = arm(client, status=500, delayMs=5, count=1)
    client.get(DELIVERIES, headers=agent_headers)

    listed = client.get(FAULTS).json()["value"]

    assert listed == [
        {"id": first["id"], "status": 429, "count": 3, "remaining": 2, "path": DELIVERIES, "delayMs": None,
         "retryAfter": None},
        {"id": second["id"], "status": 500, "count": 1, "remaining": 1, "path": "/api/data/", "delayMs": 5,
         "retryAfter": None},
    ]  # fmt: skip
    assert client.delete(FAULTS).status_code == 204
    assert client.get(FAULTS).json() == {"value": []}
    assert client.get(f"{API}/", headers=agent_headers).status_code == 200


def test_faults_never_touch_the_control_api_or_health(client):
    arm(client, status=500, count=5)

    assert client.get("/health").status_code == 200
    assert client.get("/emulator/v1/clock").status_code == 200
    assert client.get(FAULTS).json()["value"][0]["remaining"] == 5


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"status": 404}, "status"),
        ({"status": "429"}, "status"),
        ({"status": 429, "count": 0}, "count"),
        ({"status": 429, "count": 10_001}, "count"),
        ({"status": 429, "count": 1.5}, "count"),
        ({"status": 429, "count": True}, "count"),
        ({"status": 429, "delayMs": 60_001}, "delayMs"),
        ({"status": 429, "delayMs": 0}, "delayMs"),
        ({"status": 429, "color": "red"}, "color"),
        ({"count": 2}, "give 'status'"),
        ({"status": 500, "retryAfter": 5}, "retryAfter"),
        ({"status": 429, "retryAfter": 3601}, "retryAfter"),
        ({"status": 429, "path": "/emulator/v1/clock"}, "path"),
        ({"status": 429, "path": "/api/data/" + "x" * 2100}, "path"),
        ({"status": 429, "path": "/api/data/\u0000"}, "U+0000"),
        ([{"status": 429}], "body"),
    ],
)
def test_a_bad_fault_is_a_400_in_the_envelope_and_arms_nothing(client, body, complaint):
    response = client.post(FAULTS, json=body)

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "0x80040203"
    assert complaint in error["message"] or complaint.lower() in error["message"].lower()
    assert client.get(FAULTS).json() == {"value": []}


def test_at_most_100_faults_are_armed_at_once(client):
    for _ in range(100):
        arm(client, status=500)

    refused = client.post(FAULTS, json={"status": 500})

    assert refused.status_code == 400
    assert "100 faults are armed already" in refused.json()["error"]["message"]


def test_the_control_guard_applies_to_faults(client):
    cross_site = client.post(FAULTS, json={"status": 500}, headers={"Origin": "https://attacker.example"})
    form = client.post(FAULTS, content=b"status=500", headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert cross_site.status_code == 403
    assert form.status_code == 415
    assert client.get(FAULTS).json() == {"value": []}


def test_with_several_worker_processes_arming_a_fault_is_refused(settings, clock, database):
    app = create_test_app(settings.model_copy(update={"workers": 2}), clock=clock, database=database)
    with TestClient(app, base_url=ORG_URL) as client:
        response = client.post(FAULTS, json={"status": 500})

    assert response.status_code == 400
    assert "one worker" in response.json()["error"]["message"]


def test_without_the_control_api_there_are_no_fault_routes(settings, clock, database):
    app = create_test_app(settings.model_copy(update={"control_api": False}), clock=clock, database=database)
    with TestClient(app, base_url=ORG_URL) as client:
        assert client.post(FAULTS, json={"status": 500}).status_code == 404
