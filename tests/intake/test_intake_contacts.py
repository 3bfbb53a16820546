"""Every intake path shares one contact: the same rules refuse the same bad contact with the same error, and the
contact is upserted by the engagement's unique identifier (issue #16 item 5, write side), on both back ends.

PATHS is a table: each intake path (every action, and the CSV upload) is one entry saying how it sends a contact,
which of the contact's keys it can carry, how it names a key in its errors, and how its refusal reads: an action
refuses the request in the Dataverse envelope, the upload rejects the row (`rejected[].reason`).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ccaas_emulator.db.models import Contact, DeliveryAttribute, DeliveryTask, ProactiveDelivery
from tests.support.demo import DEMO_CONTACT
from tests.support.samples import fixture_json

API = "/api/data/v9.2"
VOICE_CONFIG = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
SAMPLE_CONFIG = "36ebcd69-574d-f111-bec5-70a8a5b0f6fd"
SMS_CONFIG = "b2c3d4e5-f6a7-8901-bcde-f12345678901"
PHONES = ("mobilePhoneNumber", "businessPhoneNumber", "homePhoneNumber")
Post = Callable[[TestClient, dict[str, str], dict[str, Any]], Any]


def _action(url: str, body: Callable[[dict[str, Any]], dict[str, Any]]) -> Post:
    return lambda client, headers, contact: client.post(url, json=body(contact), headers=headers)


def _envelope(response: Any) -> tuple[int | None, str | None, str]:
    """(status, code, message) of a refusal in the Dataverse envelope."""
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def _rejected_row(response: Any) -> tuple[int | None, str | None, str]:
    """(None, None, reason) of the upload's one row, rejected while the file itself was read (200)."""
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["accepted"], answer["rejectedCount"], len(answer["rejected"])) == (0, 1, 1), answer
    assert answer["rejected"][0]["line"] == 2, answer  # the header is line 1
    return None, None, answer["rejected"][0]["reason"]


# The upload's columns: the documented names of the CCaaS_CreateSimpleProactiveDelivery parameters (002_...).
_COLUMNS = {"uniqueIdentifier": "UniqueIdentifier", "firstName": "FirstName", "lastName": "LastName",
            "mobilePhoneNumber": "MobilePhoneNumber", "businessPhoneNumber": "BusinessPhoneNumber",
            "homePhoneNumber": "HomePhoneNumber", "email": "Email", "postalcode": "PostalCode", "state": "State",
            "country": "Country", "addressline": "AddressLine", "city": "City", "timezone": "TimeZone"}  # fmt: skip


def _upload(client: TestClient, headers: dict[str, str], contact: dict[str, Any]) -> Any:
    """The contact as the one row of a CSV file (every phone column present, so a missing phone is the row's
    problem, not the header's), uploaded to the Voice engagement."""
    keys = [key for key in _COLUMNS if key in contact or key in PHONES]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([_COLUMNS[key] for key in keys])
    writer.writerow([contact.get(key) or "" for key in keys])
    return client.post(f"/emulator/v1/engagements/{VOICE_CONFIG}/files", content=out.getvalue().encode(),
                       headers={"Content-Type": "text/csv"})  # fmt: skip


def _flat(contact: dict[str, Any]) -> dict[str, Any]:
    """A contact object as CCaaS_CreateSimpleProactiveDelivery's flat parameters."""
    names = {"timezone": "TimeZone", "postalcode": "PostalCode", "addressline": "AddressLine"}
    return {names.get(key, key[:1].upper() + key[1:]): value for key, value in contact.items()}


def _bulk(contact: dict[str, Any]) -> dict[str, Any]:
    item = {("timeZone" if key == "timezone" else "zipCode" if key == "postalcode" else key): value
            for key, value in contact.items()}  # fmt: skip
    return {"ApiVersion": "1.0", "ProactiveEngagementConfigId": SAMPLE_CONFIG,
            "ProactiveDeliveries": orjson.dumps([item]).decode()}  # fmt: skip


@dataclass(frozen=True)
class IntakePath:
    """One way a contact comes in."""

    post: Post
    carries: frozenset[str]
    """The contact keys this path can carry."""
    at: Callable[[str], str]
    """How its errors name a contact key ("" for the contact itself)."""
    refusal: Callable[[Any], tuple[int | None, str | None, str]] = _envelope
    field: Callable[[str], str] = lambda key: key
    """How its errors name a contact key in a list of keys (the upload: by the file's column)."""
    identifier: Callable[[dict[str, Any]], str] = lambda contact: str(contact["uniqueIdentifier"])
    """The unique identifier the path upserts the contact by."""


CONTACT_KEYS = frozenset({"uniqueIdentifier", "firstName", "lastName", *PHONES, "email", "postalcode", "state",
                          "country", "addressline", "city", "timezone"})  # fmt: skip
PATHS = {
    "CCaaS_CreateProactiveVoiceDelivery": IntakePath(
        post=_action(f"{API}/CCaaS_CreateProactiveVoiceDelivery", lambda contact: fixture_json("000_voice_sample.json")
                     | {"DestinationPhoneNumber": contact.get("mobilePhoneNumber"), "ContactId": DEMO_CONTACT}),
        carries=frozenset({"mobilePhoneNumber"}),
        at=lambda key: "DestinationPhoneNumber",
        identifier=lambda contact: DEMO_CONTACT,
    ),
    "CCaaS_CreateProactiveDelivery": IntakePath(
        post=_action(f"{API}/CCaaS_CreateProactiveDelivery", lambda contact: {
            "ApiVersion": "1.0", "ProactiveEngagementConfigId": VOICE_CONFIG, "Contacts": [contact]}),
        carries=CONTACT_KEYS,
        at=lambda key: f"Contacts[0].{key}" if key else "Contacts[0]",
    ),
    "CCaaS_CreateSimpleProactiveDelivery": IntakePath(
        post=_action(f"{API}/CCaaS_CreateSimpleProactiveDelivery", lambda contact: {
            "ApiVersion": "1.0", "ProactiveEngagementConfigId": SAMPLE_CONFIG, **_flat(contact)}),
        carries=CONTACT_KEYS,
        at=lambda key: next(iter(_flat({key: None}))) if key else "The contact",
    ),
    "CCaaS_CreateProactiveSMSDelivery": IntakePath(
        post=_action(f"{API}/CCaaS_CreateProactiveSMSDelivery", lambda contact: {
            "ApiVersion": "1.0", "ProactiveEngagementConfigId": SMS_CONFIG, "Message": "Hello",
            "DestinationPhoneNumber": contact.get("mobilePhoneNumber")}),
        carries=frozenset({"mobilePhoneNumber"}),
        at=lambda key: "DestinationPhoneNumber",
        identifier=lambda contact: str(contact["mobilePhoneNumber"]),
    ),
    "CCaaS_CreateProactiveBulkDelivery": IntakePath(
        post=_action(f"{API}/CCaaS_CreateProactiveBulkDelivery", lambda contact: _bulk(contact)
                     | {"ProactiveEngagements": ""}),
        carries=CONTACT_KEYS,
        at=lambda key: f"ProactiveDeliveries[0].{key}" if key else "ProactiveDeliveries[0]",
    ),
    "CCaaS_CreateProactiveDeliveryBulkV2": IntakePath(
        post=_action(f"{API}/CCaaS_CreateProactiveDeliveryBulkV2", _bulk),
        carries=CONTACT_KEYS,
        at=lambda key: f"ProactiveDeliveries[0].{key}" if key else "ProactiveDeliveries[0]",
    ),
    "Run from file (CSV upload)": IntakePath(
        post=_upload,
        carries=CONTACT_KEYS,
        at=lambda key: _COLUMNS[key] if key else "The row",
        refusal=_rejected_row,
        field=_COLUMNS.__getitem__,
    ),
}  # fmt: skip

GOOD = {"uniqueIdentifier": "person-1", "firstName": "Ana", "lastName": "Lima", "mobilePhoneNumber": "+15550301"}
BAD_CONTACTS: dict[str, tuple[dict[str, Any], str]] = {
    # name: (the changes to GOOD, the key the error is about: "" for the contact as a whole)
    "no phone at all": ({"mobilePhoneNumber": None}, ""),
    "no phone, only blanks": ({phone: "  " for phone in PHONES}, ""),
    "a malformed phone": ({"mobilePhoneNumber": "555-CALL-NOW"}, "mobilePhoneNumber"),
    "a bad time zone": ({"timezone": "Pacific Standart Time"}, "timezone"),
    "an ambiguous time zone": ({"timezone": "(GMT-05:00)"}, "timezone"),
}


def _applies(path: IntakePath, changes: dict[str, Any]) -> bool:
    """A path takes a bad contact if it can carry every key the contact changes; a path whose one phone is a
    required parameter (voice, SMS) cannot send a contact without one."""
    return set(changes) <= path.carries and (all(value for value in changes.values()) or path.carries == CONTACT_KEYS)


def _rows(database) -> tuple[int, ...]:
    with database.read() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (ProactiveDelivery, DeliveryTask, DeliveryAttribute, Contact)
        )


@pytest.mark.parametrize("case", BAD_CONTACTS)
def test_the_same_bad_contact_gets_the_same_error_body_from_every_path(client, agent_headers, database, case):
    changes, key = BAD_CONTACTS[case]
    contact = {name: value for name, value in (GOOD | changes).items() if value is not None}
    before = _rows(database)

    answers, statuses = {}, set()
    for name, path in PATHS.items():
        if _applies(path, changes):
            status, code, message = path.refusal(path.post(client, agent_headers, contact))
            message = message.replace(path.at(key), "<where>")
            for phone in PHONES:  # "needs at least one of ...": the path's names of the phone keys
                message = message.replace(path.field(phone), f"<{phone}>")
            answers[name] = message
            if status is not None:  # an action's refusal; the upload's is its row's reason, in a 200
                statuses.add((status, code))

    assert len(answers) >= 5, answers  # the four contact-carrying actions and the upload, at least
    assert "Run from file (CSV upload)" in answers, answers
    assert len(set(answers.values())) == 1, answers
    message = next(iter(answers.values()))
    assert statuses == {(400, "0x80040203")} and message.startswith("<where>"), (statuses, message)
    assert _rows(database) == before  # a refusal writes nothing, on any path


@pytest.mark.parametrize("name", PATHS)
def test_each_path_upserts_its_contact_by_the_unique_identifier(client, agent_headers, database, name):
    path = PATHS[name]
    first = {**GOOD, "uniqueIdentifier": f"upsert-{name}", "city": "Lisbon", "email": "ana@example.com"}
    later = {**first, "city": "Porto"}
    sent = [{key: value for key, value in contact.items() if key in path.carries} for contact in (first, later)]
    with database.read() as session:
        contacts_before = session.scalar(select(func.count()).select_from(Contact))

    for contact in sent:
        response = path.post(client, agent_headers, contact)
        assert response.status_code == 200, response.text

    identifier = path.identifier(sent[0])
    with database.read() as session:
        people = session.scalars(
            select(Contact).where((Contact.external_id == identifier) | (Contact.id == _guid_or_none(identifier)))
        ).all()
        contacts_after = session.scalar(select(func.count()).select_from(Contact))
        linked = set(
            session.scalars(select(ProactiveDelivery.contact_id).where(ProactiveDelivery.contact_id.is_not(None)))
        )
    assert len(people) == 1, people  # the same person sent twice is one contact ...
    person = people[0]
    assert str(person.id) in linked  # ... which the deliveries name
    if "city" in path.carries:  # ... updated by the later request, keeping what it left out
        assert (person.city, person.email, person.first_name) == ("Porto", "ana@example.com", "Ana")
        assert person.version == 2 and contacts_after == contacts_before + 1
    elif name == "CCaaS_CreateProactiveSMSDelivery":
        assert person.mobile_phone == identifier and person.version == 2 and contacts_after == contacts_before + 1
    else:  # the voice action names an existing contact by its contactid: it never creates one
        assert contacts_after == contacts_before


def test_one_person_through_every_contact_carrying_path_is_one_contact(client, agent_headers, database):
    cities = iter(["Lisbon", "Porto", "Braga", "Faro", "Coimbra"])
    for name, path in PATHS.items():
        if path.carries == CONTACT_KEYS:
            response = path.post(client, agent_headers, {**GOOD, "uniqueIdentifier": "the-same-person",
                                                         "city": next(cities)})  # fmt: skip
            assert response.status_code == 200, (name, response.text)

    with database.read() as session:
        people = session.scalars(select(Contact).where(Contact.external_id == "the-same-person")).all()
    assert [(person.city, person.version) for person in people] == [("Coimbra", 5)]


def _guid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
