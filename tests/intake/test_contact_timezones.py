"""A contact's time zone at the wire (issue #14 item 1): each documented form is accepted, kept as sent and
resolved for the chain; anything else is a 400 naming the contact, the value and close matches. SQLite and
PostgreSQL."""

from __future__ import annotations

import uuid

import orjson
import pytest
from sqlalchemy import func, select

from ccaas_emulator.db.models import DeliveryTask
from tests.support.samples import fixture_bytes
from tests.support.urls import PROACTIVE_URL

VOICE_CONFIG = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


def body(*zones: str | None) -> dict:
    contacts = []
    for index, zone in enumerate(zones):
        contact = {"uniqueIdentifier": f"tz-{index}", "firstName": "Ana", "lastName": "Lima"}
        contact["mobilePhoneNumber"] = f"+1555030{index}"
        if zone is not None:
            contact["timezone"] = zone
        contacts.append(contact)
    return {"ApiVersion": "1.0", "ProactiveEngagementConfigId": VOICE_CONFIG, "Contacts": contacts}


def stored_chain(database, task_id: str) -> list[tuple[str | None, str | None]]:
    with database.read() as session:
        task = session.get(DeliveryTask, uuid.UUID(task_id))
    return [(contact.timezone, contact.iana) for contact in task.contacts.contacts]


@pytest.mark.parametrize(
    ("sample", "timezone", "iana"),
    [
        ("001_voice_sample.json", "(GMT-03:00) Brasilia", "America/Sao_Paulo"),
        ("001_sms_sample.json", "(GMT-08:00) Pacific Time", "America/Los_Angeles"),
    ],
)
def test_the_samples_time_zones_are_kept_as_sent_and_resolved(client, agent_headers, database, sample, timezone, iana):
    response = client.post(PROACTIVE_URL, content=fixture_bytes(sample), headers=agent_headers)

    assert response.status_code == 200, response.text
    assert stored_chain(database, response.json()["DeliveryTaskId"]) == [(timezone, iana)]


def test_every_form_of_time_zone_is_accepted_in_one_chain(client, agent_headers, database):
    zones = [
        "(GMT-08:00) Pacific Time (US & Canada)",
        "Central European Standard Time",  # the CreateSimple sample's value (wire-facts A4)
        "Pacific Standard Time",  # the bulk sample's value (wire-facts A5)
        "america/sao_paulo",
        "  utc ",
    ]

    response = client.post(PROACTIVE_URL, json=body(*zones), headers=agent_headers)

    assert response.status_code == 200, response.text
    assert stored_chain(database, response.json()["DeliveryTaskId"]) == [
        ("(GMT-08:00) Pacific Time (US & Canada)", "America/Los_Angeles"),
        ("Central European Standard Time", "Europe/Warsaw"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("america/sao_paulo", "America/Sao_Paulo"),
        ("utc", "Etc/UTC"),  # trimmed, as every contact text is
    ]


def test_a_contact_without_a_time_zone_has_none(client, agent_headers, database):
    response = client.post(PROACTIVE_URL, json=body(None), headers=agent_headers)

    assert response.status_code == 200, response.text
    assert stored_chain(database, response.json()["DeliveryTaskId"]) == [(None, None)]


def _refusal(client, agent_headers, database, payload) -> dict:
    response = client.post(PROACTIVE_URL, content=orjson.dumps(payload), headers=agent_headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(DeliveryTask)) == 0  # nothing written
    return response.json()


def test_an_unknown_time_zone_is_a_400_with_close_matches(client, agent_headers, database):
    answer = _refusal(client, agent_headers, database, body("Pacific Standard Time", "Pacific Standart Time"))

    assert answer == {
        "error": {
            "code": "0x80040203",
            "message": "Contacts[1].timezone 'Pacific Standart Time' is not a time zone of the Dynamics 365 list "
            "(a display name such as '(GMT-08:00) Pacific Time (US & Canada)', a Windows id such as 'Pacific "
            "Standard Time', or an IANA name). Close matches: 'Pacific Standard Time', 'SA Pacific Standard Time', "
            "'Pacific SA Standard Time', 'West Pacific Standard Time', 'Haiti Standard Time'.",
        }
    }


def test_a_time_zone_nothing_is_close_to_is_a_400(client, agent_headers, database):
    answer = _refusal(client, agent_headers, database, body("Mars/Olympus_Mons"))

    assert answer == {
        "error": {
            "code": "0x80040203",
            "message": "Contacts[0].timezone 'Mars/Olympus_Mons' is not a time zone of the Dynamics 365 list "
            "(a display name such as '(GMT-08:00) Pacific Time (US & Canada)', a Windows id such as 'Pacific "
            "Standard Time', or an IANA name). No time zone name is close to it.",
        }
    }


def test_an_ambiguous_beginning_of_a_display_name_is_a_400(client, agent_headers, database):
    answer = _refusal(client, agent_headers, database, body("(GMT-05:00)"))

    assert answer == {
        "error": {
            "code": "0x80040203",
            "message": "Contacts[0].timezone '(GMT-05:00)' is ambiguous: it begins more than one Dynamics 365 time "
            "zone, such as '(GMT-05:00) Eastern Time (US & Canada)', '(GMT-05:00) Indiana (East)', '(GMT-05:00) "
            "Haiti', '(GMT-05:00) Havana', '(GMT-05:00) Bogota, Lima, Quito, Rio Branco'. Give the whole display "
            "name.",
        }
    }
