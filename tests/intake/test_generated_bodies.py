"""Generated, valid-shaped action bodies: each is persisted exactly as sent, or refused in the envelope.

test_hostile_bodies.py mutates the reference samples with arbitrary JSON; this module builds bodies the
documents allow from scratch: 0 to 3 windows (JSON or JSON-encoded strings, Z or offsets, with and without
milliseconds, keys in either case), 1 to 5 contacts with random phones, time zones and attributes, unicode
everywhere, and lengths at their column limits. Each answer is either 200 with a DeliveryId whose row holds
exactly the number, windows and attributes sent, or a 4xx in the Dataverse envelope; never a 5xx.

Short and derandomized in `make test`; `make fuzz` (CCAAS_FUZZ=long) runs many more examples, randomized.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ccaas_emulator import timezones
from ccaas_emulator.db.models import DeliveryAttribute, ProactiveDelivery
from ccaas_emulator.intake import rules
from tests.support.demo import NOW

pytestmark = pytest.mark.slow  # hundreds of generated bodies: make test runs it, make test-fast does not

LONG = os.environ.get("CCAAS_FUZZ") == "long"
EXAMPLES = int(os.environ.get("CCAAS_FUZZ_BODY_EXAMPLES", 1000 if LONG else 50))
COMMON = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not LONG,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

VOICE_CONFIGS = ["cbbac510-3e66-ef11-a671-6045bd03d9d8", "a1b2c3d4-e5f6-7890-abcd-ef1234567890"]
SMS_CONFIG = "b2c3d4e5-f6a7-8901-bcde-f12345678901"
CONTACT = "761e062f-c734-ef11-8e4f-00224808a166"

# --- strategies -------------------------------------------------------------------------------------------

# Any Unicode scalar but NUL (refused by design) and the surrogates JSON cannot carry.
characters = st.characters(codec="utf-8", exclude_characters="\x00")


def text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """Unicode text, often at its limits; never blank (the service trims and refuses blank names)."""
    return st.one_of(
        st.text(characters, min_size=min_size, max_size=min(max_size, 30)),
        st.integers(min_size, max_size).map(lambda size: "é" * size),
        st.just("😀" * max_size),  # outside the BMP: one character here (two UTF-16 units in .NET)
    ).filter(lambda value: value.strip() and len(value) <= max_size)


def bounded(max_size: int) -> st.SearchStrategy[str]:
    """Text kept as sent (attribute names and values are not trimmed), at most max_size characters."""
    return st.one_of(
        st.text(characters, max_size=min(max_size, 30)),
        st.sampled_from([max_size, max_size - 1]).map(lambda size: "ü" * size),
    )


@st.composite
def timestamps(draw: Any, moment: datetime) -> str:
    """One moment in the forms the documents and their clients send."""
    forms = ["ms", "offset", "7digits", "lower", *(["seconds"] if moment.microsecond == 0 else [])]
    form = draw(st.sampled_from(forms))
    if form == "ms":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if form == "seconds":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == "7digits":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    if form == "lower":
        return moment.strftime("%Y-%m-%dt%H:%M:%S.%fz")
    hours = draw(st.integers(-12, 14))
    local = moment + timedelta(hours=hours)
    sign = "+" if hours >= 0 else "-"
    return local.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + f"{sign}{abs(hours):02d}:00"


@st.composite
def windows(draw: Any, *, start_key: str, end_key: str) -> tuple[Any, list[tuple[datetime, datetime]]]:
    """(wire value, the windows it means): 0 to 3 windows, sometimes as a JSON-encoded string."""
    spans = []
    for _ in range(draw(st.integers(0, 3))):
        start = NOW + timedelta(minutes=draw(st.integers(-60 * 24, 60 * 24 * 60)))
        start = start.replace(microsecond=draw(st.sampled_from([0, 999000])))
        spans.append((start, start + timedelta(minutes=draw(st.integers(1, 60 * 24 * 3)))))
    case = draw(st.sampled_from([(start_key, end_key), (start_key.lower(), end_key.lower())]))
    value: Any = [{case[0]: draw(timestamps(start)), case[1]: draw(timestamps(end))} for start, end in spans]
    if draw(st.booleans()):
        value = json.dumps(value, ensure_ascii=draw(st.booleans()))
    elif not value:
        value = draw(st.sampled_from([[], None, "", " "]))
    return value, sorted(spans)


@st.composite
def attributes(draw: Any) -> tuple[Any, dict[str, str]]:
    """(wire value, the attributes it means): names of 1 to 850 characters, values of up to 4000."""
    names = st.one_of(text(1, rules.KEYWORD_LIMIT), st.sampled_from(["orderNumber", "type", "isFinalAttempt"]))
    value = draw(st.dictionaries(names, bounded(rules.ATTRIBUTE_VALUE_LIMIT), max_size=5))
    wire: Any = value
    if draw(st.booleans()):
        wire = json.dumps(value, ensure_ascii=draw(st.booleans()))
    elif not value:
        wire = draw(st.sampled_from([{}, None, "", None]))
    return wire, value


def _without_latin_letters(value: str) -> str:
    return "".join(character for character in value if not ("a" <= character.lower() <= "z"))


phone_numbers = st.one_of(
    st.from_regex(r"\A\+[1-9][0-9]{3,14}\Z"),
    st.just("+15005550001"),
    # Whatever else a person types into a phone field, within the phone rule (a digit, no Latin letters:
    # docs/choices.md): unicode, separators and emoji around a digit, up to the column's 50 characters.
    st.builds(
        lambda head, digit, tail: _without_latin_letters(head) + digit + _without_latin_letters(tail),
        text(1, 24),
        st.sampled_from("0123456789"),
        text(1, 25),
    ),
)
time_zones = st.one_of(
    st.sampled_from(["(GMT-03:00) Brasilia", "(GMT+01:00) Amsterdam, Berlin", "Pacific Standard Time", "UTC"]),
    # Any name of the Dynamics list (issue #14: other text is refused, tests/intake/test_contact_timezones.py).
    st.sampled_from([name for zone in timezones.definitions() for name in (zone.display_name, zone.standard_name)]),
)


@st.composite
def voice_bodies(draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(body, what must be persisted) for CCaaS_CreateProactiveVoiceDelivery."""
    number = draw(phone_numbers)
    window_value, spans = draw(windows(start_key="Start", end_key="End"))
    attribute_value, expected_attributes = draw(attributes())
    body: dict[str, Any] = {
        "ApiVersion": "1.0",
        "ProactiveEngagementConfigId": draw(st.sampled_from(VOICE_CONFIGS)),
        "DestinationPhoneNumber": number,
        "ContactId": CONTACT,
    }
    if draw(st.booleans()) or window_value not in (None, [], "", " "):
        body["Windows"] = window_value
    if draw(st.booleans()) or expected_attributes:
        body["InputAttributes"] = attribute_value
    return body, {"to": number.strip(), "windows": spans, "attributes": expected_attributes}


@st.composite
def contacts(draw: Any, *, sms: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    phone_keys = ["mobilePhoneNumber"] if sms else ["mobilePhoneNumber", "businessPhoneNumber", "homePhoneNumber"]
    chosen = draw(st.lists(st.sampled_from(phone_keys), min_size=1, max_size=len(phone_keys), unique=True))
    identifier = draw(st.one_of(st.uuids().map(str), text(1, 100)))
    contact: dict[str, Any] = {
        "uniqueIdentifier": identifier,
        "firstName": draw(text(1, 50)),
        "lastName": draw(text(1, 50)),
        **{key: draw(phone_numbers) for key in chosen},
    }
    for key, (_, limit) in rules._CONTACT_TEXT.items():
        if draw(st.booleans()):
            contact[key] = draw(st.none() | text(1, limit))
    if draw(st.booleans()):
        contact["timezone"] = draw(time_zones)
    attribute_value, expected_attributes = draw(attributes())
    if draw(st.booleans()) or expected_attributes:
        contact["inputAttributes"] = attribute_value
    window_value, spans = draw(windows(start_key="start", end_key="end"))
    if draw(st.booleans()) or spans:
        contact["windows"] = window_value
    # The service dials the first phone in the order mobile, business, home.
    first_phone = next(contact[key] for key in ["mobilePhoneNumber", "businessPhoneNumber", "homePhoneNumber"]
                       if key in contact)  # fmt: skip
    return contact, {"to": first_phone.strip(), "windows": spans, "attributes": expected_attributes}


@st.composite
def chained_bodies(draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(body, what the first delivery must hold) for CCaaS_CreateProactiveDelivery, voice or SMS."""
    sms = draw(st.booleans())
    drawn = draw(st.lists(contacts(sms=sms), min_size=1, max_size=rules.MAX_CONTACTS))
    top_windows, top_spans = draw(windows(start_key="Start", end_key="End"))
    contact_list = [contact for contact, _ in drawn]
    body: dict[str, Any] = {
        "ApiVersion": "1.0",
        "ProactiveEngagementConfigId": SMS_CONFIG if sms else draw(st.sampled_from(VOICE_CONFIGS)),
        "Contacts": json.dumps(contact_list, ensure_ascii=draw(st.booleans())) if draw(st.booleans()) else contact_list,
    }
    if draw(st.booleans()):
        body["RequestId"] = draw(st.uuids().map(str) | text(1, rules.TRACKING_ID_LIMIT))
    if draw(st.booleans()):
        body["Priority"] = draw(st.sampled_from(["1", "2", "High"]) | text(1, rules.PRIORITY_LIMIT))
    if sms and draw(st.booleans()):
        body["Message"] = draw(bounded(rules.MESSAGE_LIMIT))
    if draw(st.booleans()) or top_spans:
        body["Windows"] = top_windows
    expected = dict(drawn[0][1])
    expected["windows"] = expected["windows"] or top_spans  # contact windows override the top-level ones
    return body, expected


# --- checks -----------------------------------------------------------------------------------------------


def assert_persisted_or_refused(response: Any, database: Any, expected: dict[str, Any]) -> None:
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert 400 <= response.status_code < 500, response.text
        assert set(response.json()) == {"error"}, response.text
        error = response.json()["error"]
        assert set(error) == {"code", "message"} and error["code"].startswith("0x"), response.text
        return
    delivery_id = uuid.UUID(response.json()["DeliveryId"])
    with database.transaction() as session:
        delivery = session.get(ProactiveDelivery, delivery_id)
        assert delivery is not None, f"200 for {delivery_id}, but no such row"
        stored = {
            row.keyword: row.value
            for row in session.scalars(select(DeliveryAttribute).where(DeliveryAttribute.delivery_id == delivery_id))
        }
        assert stored == expected["attributes"]
        assert delivery.to_address == expected["to"]
        if expected["windows"]:
            start, end = expected["windows"][0]
            assert (delivery.window_start_date, delivery.window_end_date) == (start, end)
        else:  # no windows: 24 hours from the emulator's now
            assert delivery.window_end_date - delivery.window_start_date == timedelta(hours=24)


# --- tests ------------------------------------------------------------------------------------------------


@COMMON
@given(drawn=voice_bodies())
def test_generated_voice_bodies_are_persisted_exactly_or_refused(client, agent_headers, database, fuzz_tally, drawn):
    body, expected = drawn
    response = client.post("/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery", json=body, headers=agent_headers)
    fuzz_tally.request("POST /api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery", response.status_code)

    assert_persisted_or_refused(response, database, expected)
    assert response.status_code == 200, response.text  # every generated body is one the documents allow


@COMMON
@given(drawn=chained_bodies())
def test_generated_chained_bodies_are_persisted_exactly_or_refused(client, agent_headers, database, fuzz_tally, drawn):
    body, expected = drawn
    response = client.post("/api/data/v9.2/CCaaS_CreateProactiveDelivery", json=body, headers=agent_headers)
    fuzz_tally.request("POST /api/data/v9.2/CCaaS_CreateProactiveDelivery", response.status_code)

    assert_persisted_or_refused(response, database, expected)
    assert response.status_code == 200, response.text


def test_the_timestamp_forms_the_generator_uses_mean_the_moment_it_records():
    """The generator's own promise, so that a failure above is the service's and not the generator's."""
    moment = datetime(2026, 1, 2, 3, 4, 5, 999000, tzinfo=UTC)
    for form in (
        "2026-01-02T03:04:05.999Z",
        "2026-01-02T03:04:05.9990000Z",
        "2026-01-02t03:04:05.999000z",
        "2026-01-02T05:04:05.999+02:00",
        "2026-01-01T15:04:05.999-12:00",
    ):
        assert rules.parse_timestamp(form, parameter="Start") == moment, form
