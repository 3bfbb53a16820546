"""/emulator/v1: the clock, reset, the control token, and switching the API off."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ccaas_emulator.db.models import DeliveryEvent, EngagementConfig, ProactiveDelivery, ScriptedOutcome
from ccaas_emulator.settings import Settings
from tests.support.apps import create_test_app
from tests.support.demo import NOW, ORG_URL
from tests.support.in_process import window


def test_the_clock_reads_back_the_simulated_time(emulator):
    body = emulator.client.get("/emulator/v1/clock").json()

    assert body == {"now": "2026-11-24T12:00:00.000Z", "speed": 0.0}


def test_the_clock_can_be_set_and_advanced_with_iso_durations(emulator):
    assert emulator.client.post("/emulator/v1/clock", json={"now": "2027-01-01T08:00:00Z"}).json()["now"] == (
        "2027-01-01T08:00:00.000Z"
    )
    advanced = emulator.client.post("/emulator/v1/clock", json={"advance": "P1DT2H30M"}).json()

    assert advanced["now"] == "2027-01-02T10:30:00.000Z"
    assert emulator.client.get("/emulator/v1/clock").json()["now"] == "2027-01-02T10:30:00.000Z"


def test_the_api_stamps_rows_with_the_simulated_time(emulator):
    emulator.client.post("/emulator/v1/clock", json={"now": "2030-05-05T05:05:05Z"})

    delivery_id = emulator.post()

    assert emulator.delivery(delivery_id).created_on.isoformat() == "2030-05-05T05:05:05+00:00"


@pytest.mark.parametrize(
    "body",
    [{}, {"now": "2027-01-01T00:00:00Z", "advance": "PT1H"}, {"advance": "two hours"}, {"advance": "-PT1H"},
     {"now": "yesterday"}, {"speed": -1}, {"speed": "fast"}, {"pace": 3}],
)  # fmt: skip
def test_a_bad_clock_change_is_400_in_the_envelope(emulator, body):
    response = emulator.client.post("/emulator/v1/clock", json=body)

    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message"}


def test_advancing_reports_what_it_processed(emulator):
    emulator.post("+15005550001", windows=[window()])
    emulator.post(windows=[(NOW.replace(year=2020), NOW.replace(year=2021))])

    processed = emulator.advance("PT1H")["processed"]

    assert processed["dialled"] == 1 and processed["completed"] == 1 and processed["expired"] == 1
    assert processed["results"] == {"LiveAnswer": 1, "Expired": 1}


def test_unscriptable_results_are_refused(emulator):
    response = emulator.client.post("/emulator/v1/outcomes", json={"phoneNumber": "+1", "outcomes": ["Expired"]})

    assert response.status_code == 400
    assert "not an outcome a call or an SMS can have" in response.json()["error"]["message"]


def test_reset_empties_deliveries_and_scripts_but_keeps_configurations(emulator):
    emulator.post("+15005550001", windows=[window()])
    emulator.client.post("/emulator/v1/outcomes", json={"phoneNumber": "+1", "outcomes": ["NoAnswer"]})
    emulator.advance("PT1H")

    # No body, but the JSON content type: a body-less POST is what a cross-site form or fetch sends (tests/control/).
    assert emulator.client.post("/emulator/v1/reset", headers={"Content-Type": "application/json"}).status_code == 204

    with emulator.database.read() as session:
        for model in (ProactiveDelivery, DeliveryEvent, ScriptedOutcome):
            assert session.scalar(select(func.count()).select_from(model)) == 0
        assert session.scalar(select(func.count()).select_from(EngagementConfig)) == 4  # the demo configurations


def test_reset_with_reseed_restores_the_demo_configurations(emulator):
    emulator.seed(configurations=[{"id": "cbbac510-3e66-ef11-a671-6045bd03d9d8", "name": "changed",
                                   "active": False}])  # fmt: skip

    emulator.client.post("/emulator/v1/reset", json={"reseed": True})

    assert emulator.post() is not None  # the demo voice configuration is active again


def test_events_of_an_unknown_delivery_are_404(emulator):
    response = emulator.client.get(f"/emulator/v1/deliveries/{uuid.uuid4()}/events")

    assert response.status_code == 404 and response.json()["error"]["code"] == "0x80040217"


def test_the_magic_numbers_are_listed(emulator):
    numbers = emulator.client.get("/emulator/v1/magic-numbers").json()["value"]

    assert {"phoneNumber": "+15005550002", "result": "NoAnswer", "sipCode": 486} in numbers


def _client(database_url, database, **settings):
    app = create_test_app(
        Settings(database_url=database_url, org_url=ORG_URL, dialer="off", **settings), database=database
    )
    return TestClient(app, base_url=ORG_URL, raise_server_exceptions=False)


def test_with_a_control_token_the_control_api_needs_it(database_url, database):
    with _client(database_url, database, control_token="s3cret") as client:
        assert client.get("/emulator/v1/clock").status_code == 401
        assert client.get("/emulator/v1/clock", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/emulator/v1/clock", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_the_control_api_can_be_switched_off(database_url, database):
    with _client(database_url, database, control_api=False) as client:
        response = client.get("/emulator/v1/clock")

    assert response.status_code == 404 and response.json()["error"]["code"] == "0x8006088a"


def test_the_control_api_is_described_in_the_openapi_document(emulator):
    paths = emulator.client.get("/openapi.json").json()["paths"]

    assert {"/emulator/v1/clock", "/emulator/v1/outcomes", "/emulator/v1/reset",
            "/emulator/v1/deliveries/{delivery_id}/events"} <= set(paths)  # fmt: skip


def test_advancing_the_clock_does_not_expire_tokens(emulator):
    emulator.advance("P30D")

    assert emulator.post() is not None


def test_a_nul_character_in_a_control_body_is_a_400_on_both_back_ends(emulator):
    # Found by `make fuzz` (schemathesis): PostgreSQL answered 500, SQLite 201.
    response = emulator.client.post(
        "/emulator/v1/outcomes", json={"phoneNumber": "+1555\u0000", "outcomes": ["NoAnswer"]}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80040203"
    assert emulator.client.get("/emulator/v1/outcomes").json()["value"] == []
