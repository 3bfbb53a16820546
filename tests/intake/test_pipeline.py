"""One intake pipeline: every path that accepts a contact refuses the same bad contact with the same error.

CCaaS_CreateProactiveVoiceDelivery names its one contact with top-level parameters (Windows, InputAttributes);
CCaaS_CreateProactiveDelivery carries each contact as an object (Contacts[i].windows, .inputAttributes). The
same rule applies to both, so the answers differ only in where they point.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from ccaas_emulator.db.models import Contact, DeliveryTask, ProactiveDelivery
from tests.support.samples import fixture_json

VOICE_URL = "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery"
PROACTIVE_URL = "/api/data/v9.2/CCaaS_CreateProactiveDelivery"
PROACTIVE_VOICE_CONFIG = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"

BACKWARDS = [{"Start": "2024-09-10T15:00:00.000Z", "End": "2024-09-10T13:00:00.000Z"}]
BAD_CONTACTS = {
    "a window that ends before it starts": ("Windows", "windows", BACKWARDS),
    "a window with no end": ("Windows", "windows", [{"Start": "2024-09-10T15:00:00.000Z"}]),
    "a window that is not a timestamp": ("Windows", "windows", [{"Start": "tomorrow", "End": "later"}]),
    "windows that are not JSON": ("Windows", "windows", "[{"),
    "an attribute that is not a string": ("InputAttributes", "inputAttributes", {"orderNumber": 42}),
    "an attribute with an empty name": ("InputAttributes", "inputAttributes", {" ": "x"}),
    "an attribute name longer than its column": ("InputAttributes", "inputAttributes", {"k" * 851: "x"}),
    "too many attributes": ("InputAttributes", "inputAttributes", {f"k{i}": "v" for i in range(101)}),
}


def _voice(parameter: str, value: object) -> dict[str, object]:
    body = fixture_json("000_voice_sample.json")
    return {**body, parameter: value}


def _proactive(key: str, value: object) -> dict[str, object]:
    contact = {
        "uniqueIdentifier": "ext-pipeline-1",
        "firstName": "Ana",
        "lastName": "Lima",
        "mobilePhoneNumber": "+15550300",
        key: value,
    }
    return {"ApiVersion": "1.0", "ProactiveEngagementConfigId": PROACTIVE_VOICE_CONFIG, "Contacts": [contact]}


def _rows(database):
    with database.read() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (ProactiveDelivery, DeliveryTask, Contact)
        )


@pytest.mark.parametrize("case", BAD_CONTACTS)
def test_the_same_bad_contact_gets_the_same_error_from_each_action(client, agent_headers, database, case):
    voice_parameter, contact_key, value = BAD_CONTACTS[case]
    before = _rows(database)

    voice = client.post(VOICE_URL, json=_voice(voice_parameter, value), headers=agent_headers)
    proactive = client.post(PROACTIVE_URL, json=_proactive(contact_key, value), headers=agent_headers)

    assert voice.status_code == proactive.status_code == 400
    assert voice.headers["content-type"] == proactive.headers["content-type"]
    voice_error, proactive_error = voice.json()["error"], proactive.json()["error"]
    assert voice_error["code"] == proactive_error["code"]
    # The one difference: where the value was. The voice action's contact is the request itself.
    assert voice_error["message"].replace(voice_parameter, "<contact>.x") == proactive_error["message"].replace(
        f"Contacts[0].{contact_key}", "<contact>.x"
    ), (voice_error, proactive_error)
    assert _rows(database) == before  # a refusal writes nothing, on either path


def test_each_action_answers_its_own_response_fields_and_keeps_phone_order(client, agent_headers, database):
    voice = client.post(VOICE_URL, json=fixture_json("000_voice_sample.json"), headers=agent_headers)
    proactive = client.post(PROACTIVE_URL, json=_proactive("homePhoneNumber", "+15550399"), headers=agent_headers)

    assert voice.status_code == proactive.status_code == 200
    assert set(voice.json()) == {"@odata.context", "DeliveryId"}
    assert set(proactive.json()) == {"@odata.context", "DeliveryId", "DeliveryTaskId"}
    with database.read() as session:
        task = session.get(DeliveryTask, uuid.UUID(proactive.json()["DeliveryTaskId"]))
        assert task is not None
        assert [phone.type for phone in task.contacts.contacts[0].phones] == ["MobilePhoneNumber", "HomePhoneNumber"]
